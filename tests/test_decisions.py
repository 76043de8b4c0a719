"""People's decisions: must-links and must-not-links that batch runs, index adds, removals and
rebuilds obey; the review queue; labels as evidence. All on real DuckDB files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import identmatch
from identmatch._index.queue import _bridge
from identmatch._index.report import wilson
from identmatch.testing import generate_records

pytestmark = pytest.mark.slow

IDENTMATCH = str(Path(sys.executable).with_name("identmatch"))


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return generate_records(800, seed=11).drop(columns=["error_type", "hard_negative"])


@pytest.fixture(scope="module")
def batch(records: pd.DataFrame) -> identmatch.Result:
    return identmatch.dedupe(records.iloc[:700])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, records: pd.DataFrame, batch: Any) -> Path:
    path = tmp_path_factory.mktemp("decisions") / "k.duckdb"
    identmatch.Index.build(records.iloc[:700], path, model=batch.model).close()
    return path


@pytest.fixture
def index(tmp_path: Path, built: Path) -> Iterator[identmatch.Index]:
    """A fresh copy of the 700-record index for each test."""
    path = tmp_path / "k.duckdb"
    shutil.copyfile(built, path)
    opened = identmatch.Index.open(path)
    yield opened
    opened.close()


def entity_of(frame: pd.DataFrame) -> dict[str, str]:
    return dict(zip(frame["record_id"].astype(str), frame["entity_id"].astype(str), strict=True))


def big_entities(frame: pd.DataFrame, size: int = 3) -> list[list[str]]:
    sizes = frame.groupby("entity_id")["record_id"].transform("size")
    grouped = frame[sizes >= size].groupby("entity_id", sort=True)["record_id"]
    return [[str(r) for r in ids] for _, ids in grouped]


def decisions_frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["record_id_l", "record_id_r", "decision"])


# ---------------------------------------------------------------------------- batch
class TestBatch:
    def test_different_keeps_two_records_apart_even_through_a_chain(
        self, records: pd.DataFrame, batch: identmatch.Result
    ) -> None:
        """A must-not-link pair never shares an entity, however its records are chained;
        the rest of each entity stays together."""
        groups = big_entities(batch.entities)[:8]
        assert len(groups) >= 5
        # First and last record of each group: often linked only through the others.
        rows = [(g[0], g[-1], "different") for g in groups]
        again = identmatch.dedupe(
            records.iloc[:700], model=batch.model, decisions=decisions_frame(rows)
        )
        entity = entity_of(again.entities)
        for a, b, _ in rows:
            assert entity[a] != entity[b]
        before = entity_of(batch.entities)
        untouched = {r for g in groups for r in g}
        moved = [r for r in before if r not in untouched and before[r] != before.get(r)]
        assert not moved
        # Every other record pair of the run keeps its grouping.
        others = [r for r in before if r not in untouched]
        pairs_before = pd.Series([before[r] for r in others]).factorize()[0]
        pairs_after = pd.Series([entity[r] for r in others]).factorize()[0]
        assert (pairs_before == pairs_after).all()

    def test_same_joins_records_the_model_kept_apart(
        self, records: pd.DataFrame, batch: identmatch.Result
    ) -> None:
        """A must-link joins two records of different entities, and only those entities."""
        entity = entity_of(batch.entities)
        singles = batch.entities.groupby("entity_id").filter(lambda g: len(g) == 1)
        a, b = (str(r) for r in singles["record_id"].iloc[:2])
        assert entity[a] != entity[b]
        again = identmatch.dedupe(
            records.iloc[:700], model=batch.model, decisions=decisions_frame([(a, b, "same")])
        )
        after = entity_of(again.entities)
        assert after[a] == after[b]
        assert again.entities["entity_id"].nunique() == batch.entities["entity_id"].nunique() - 1

    def test_unsure_and_unknown_records_change_nothing(
        self, records: pd.DataFrame, batch: identmatch.Result
    ) -> None:
        group = big_entities(batch.entities)[0]
        rows = [(group[0], group[1], "unsure"), ("NOT-A-RECORD", group[0], "different")]
        again = identmatch.dedupe(
            records.iloc[:700], model=batch.model, decisions=decisions_frame(rows)
        )
        assert entity_of(again.entities) == entity_of(batch.entities)

    def test_the_latest_decision_about_a_pair_holds(
        self, records: pd.DataFrame, batch: identmatch.Result
    ) -> None:
        group = big_entities(batch.entities)[0]
        rows = [(group[0], group[-1], "different"), (group[-1], group[0], "unsure")]
        again = identmatch.dedupe(
            records.iloc[:700], model=batch.model, decisions=decisions_frame(rows)
        )
        assert entity_of(again.entities) == entity_of(batch.entities)

    def test_link_decisions_name_their_inputs(self) -> None:
        """In a link, ids in both inputs need input_l / input_r; with them the pair is kept
        apart, and without them the error names the row and the id, not a value."""
        people = generate_records(300, seed=4).drop(columns=["error_type", "hard_negative"])
        left = people.iloc[::2].reset_index(drop=True)
        right = people.iloc[1::2].reset_index(drop=True)
        right["record_id"] = left["record_id"].iloc[: len(right)].to_numpy()  # ids clash
        result = identmatch.link(left, right)
        joined = result.entities
        shared = joined.groupby("entity_id").filter(lambda g: set(g["input"]) == {"left", "right"})
        entity = str(shared["entity_id"].iloc[0])
        a = str(
            shared[(shared.entity_id == entity) & (shared.input == "left")]["record_id"].iloc[0]
        )
        b = str(
            shared[(shared.entity_id == entity) & (shared.input == "right")]["record_id"].iloc[0]
        )
        ambiguous = decisions_frame([(a, b, "different")])
        clash = r"record_id R\d+, which is in both inputs"
        with pytest.raises(identmatch.SchemaError, match=clash):
            identmatch.link(left, right, model=result.model, decisions=ambiguous)
        sided = ambiguous.assign(input_l="left", input_r="right")
        again = identmatch.link(left, right, model=result.model, decisions=sided).entities
        side = {
            (i, r): e
            for i, r, e in again[["input", "record_id", "entity_id"]].itertuples(index=False)
        }
        assert side[("left", a)] != side[("right", b)]


class TestDecisionsFile:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("record_id_l,record_id_r\nA,B\n", "missing column.*decision"),
            ("record_id_l,record_id_r,decision\nA,B,maybe\n", "line 2: decision must be one of"),
            ("record_id_l,record_id_r,decision\nA,,same\n", "line 2: record_id_r is empty"),
            ("record_id_l,record_id_r,decision\nA,A,same\n", "line 2: .*two different records"),
            ("record_id_l,record_id_r,decision,colour\nA,B,same,red\n", "unknown column.*colour"),
            ("record_id_l,record_id_r,decision,input_l\nA,B,same,up\n", "input_l must be left"),
            (
                "record_id_l,record_id_r,decision\nA,B,same\nC,D#2,same\n",
                "record_id_r at data row 3",
            ),
        ],
    )
    def test_bad_rows_are_refused_by_line_and_column(
        self, tmp_path: Path, text: str, message: str
    ) -> None:
        path = tmp_path / "decisions.csv"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(identmatch.SchemaError, match=message):
            identmatch.read_decisions(path)

    def test_a_bad_decision_value_is_not_echoed(self, tmp_path: Path) -> None:
        path = tmp_path / "d.csv"
        path.write_text("record_id_l,record_id_r,decision\nA,B,Wiliam Smyth\n", encoding="utf-8")
        with pytest.raises(identmatch.SchemaError) as caught:
            identmatch.read_decisions(path)
        assert "Smyth" not in str(caught.value)


# ---------------------------------------------------------------------------- index
def bridge_record(records: pd.DataFrame, record_id: str, new_id: str) -> pd.DataFrame:
    row = records[records["record_id"] == record_id].copy()
    row["record_id"] = new_id
    return row


class TestIndex:
    def test_different_splits_at_once_and_an_add_does_not_join_them_again(
        self, index: identmatch.Index, records: pd.DataFrame, tmp_path: Path
    ) -> None:
        """The entity splits when the decision is made; a new record matching both sides
        joins one of them, never both; without the stored decision the same add would merge
        them again (so the decision is what holds them apart)."""
        index.warm()
        group = big_entities(index.export())[0]
        a, b = group[0], group[1]
        outcome = index.decide((a, b), "different", reason="brothers", purpose="review 1")
        assert outcome.entity_ids[0] != outcome.entity_ids[1]
        entity = entity_of(index.export())
        assert entity[a] != entity[b]
        assert dict(outcome.moved) == {r: e for r, e in entity.items() if r in dict(outcome.moved)}
        # Search sees the split at once (the in-memory state was updated, not reloaded).
        hits = index.search({"forename": "x"}, top=1)  # any search works on the new state
        assert isinstance(hits, list)
        assert index._snapshot.record(index._snapshot.row_of(b) or 0)["entity_id"] == entity[b]
        # A copy of the file without the decision is the control.
        control_path = tmp_path / "control.duckdb"
        index.checkpoint()
        shutil.copyfile(index.path, control_path)
        with duckdb.connect(str(control_path)) as raw:
            raw.execute("DELETE FROM decisions")
        both = pd.concat([bridge_record(records, a, "NEW-A"), bridge_record(records, b, "NEW-B")])
        index.add(both)
        after = entity_of(index.export())
        assert after[a] != after[b]
        control = identmatch.Index.open(control_path)
        try:
            control.add(both)
            controlled = entity_of(control.export())
        finally:
            control.close()
        assert controlled[a] == controlled[b], "the add should join them without the decision"

    def test_same_merges_and_contradiction_is_refused(self, index: identmatch.Index) -> None:
        exported = index.export()
        singles = exported.groupby("entity_id").filter(lambda g: len(g) == 1)
        a, b, c = (str(r) for r in singles["record_id"].iloc[:3])
        merged = index.decide((a, b), "same", reason="same NHS number on paper", purpose="r 2")
        assert merged.entity_ids[0] == merged.entity_ids[1]
        assert entity_of(index.export())[a] == entity_of(index.export())[b]
        index.decide((b, c), "different", reason="different mothers", purpose="r 3")
        with pytest.raises(identmatch.DecisionError, match="different people"):
            index.decide((a, c), "same", reason="?", purpose="r 4")
        # The refused decision was not stored.
        assert len(index.decisions()) == 2

    def test_undo_rejoins_a_split_unless_another_decision_forbids_it(
        self, index: identmatch.Index
    ) -> None:
        """Undoing a "different" rejoins the parts under the old id, in memory too; when a
        later "different" stands between the parts, the undo is refused and nothing is
        written; a replaced decision cannot be undone; an unknown one is a SchemaError."""
        index.warm()
        group = big_entities(index.export())[0]
        a, b = group[0], group[-1]
        before = entity_of(index.export())
        first = index.decide((a, b), "different", reason="brothers", purpose="r 1")
        split = entity_of(index.export())
        beside, across = next(
            (x, y)
            for x in group
            for y in group
            if split[x] == split[a] and split[y] != split[a] and {x, y} != {a, b}
        )
        # A "different" across the parts forbids the rejoin.
        index.decide((beside, across), "different", reason="twins", purpose="r 2")
        with pytest.raises(identmatch.DecisionError, match="different people"):
            index.undo_decision(first.decision_id, reason="oops", purpose="r 3")
        assert len(index.decisions()) == 2  # the refused undo wrote nothing
        index.decide((beside, across), "unsure", reason="not sure now", purpose="r 4")
        undone = index.undo_decision(first.decision_id, reason="oops", purpose="r 5")
        assert undone.decision == "unsure"
        assert undone.entity_ids == (before[a], before[a])
        assert entity_of(index.export()) == before
        row = index._snapshot.row_of(b)
        assert index._snapshot.record(row or 0)["entity_id"] == before[a]  # in memory too
        frame = index.decisions().frame
        assert frame["reason"].iloc[-1] == f"undoes decision {first.decision_id}: oops"
        # Replaced by a later decision about the same pair: not undoable.
        second = index.decide((a, b), "different", reason="brothers after all", purpose="r 6")
        third = index.decide((a, b), "unsure", reason="asked the GP", purpose="r 7")
        with pytest.raises(identmatch.DecisionError, match=f"decision {third.decision_id}"):
            index.undo_decision(second.decision_id, reason="oops", purpose="r 8")
        with pytest.raises(identmatch.SchemaError, match="no decision 999"):
            index.undo_decision(999, reason="x", purpose="p")

    def test_decisions_contradicting_a_chain_are_refused_by_decision_id(
        self, index: identmatch.Index
    ) -> None:
        """A-B same, B-C same, then A-C different: refused, naming decisions 1 and 2; nothing
        is stored, and B and C stay together (and so after a rebuild from the decisions)."""
        exported = index.export()
        singles = exported.groupby("entity_id").filter(lambda g: len(g) == 1)
        a, b, c, d = (str(r) for r in singles["record_id"].iloc[:4])
        first = index.decide((a, b), "same", reason="r", purpose="review 1")
        second = index.decide((b, c), "same", reason="r", purpose="review 1")
        with pytest.raises(identmatch.DecisionError, match=r"decision\(s\) 1, 2") as refused:
            index.decide((a, c), "different", reason="r", purpose="review 1")
        assert refused.value.decision_ids == (first.decision_id, second.decision_id)
        assert len(index.decisions()) == 2
        entity = entity_of(index.export())
        assert entity[a] == entity[b] == entity[c]
        # The command says the same, in one line, and exits with code 2.
        index.close()
        command = [IDENTMATCH, "decisions", "add", a, c, "--index", str(index.path)]
        refused_cli = subprocess.run(
            [*command, "--decision", "different", "--reason", "r", "--purpose", "review 1"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert refused_cli.returncode == 2
        assert "contradicts decision(s) 1, 2" in refused_cli.stderr
        index = identmatch.Index.open(index.path)
        # A 'same' joining a chain to a record decided different from one end of it.
        index.decide((c, d), "different", reason="r", purpose="review 1")
        with pytest.raises(identmatch.DecisionError) as joined:
            index.decide((d, a), "same", reason="r", purpose="review 1")
        assert set(joined.value.decision_ids) == {1, 2, 3}
        # Deciding one of the named pairs again first is the way out.
        index.decide((b, c), "unsure", reason="not sure now", purpose="review 1")
        index.decide((a, c), "different", reason="r", purpose="review 1")
        labels = index.report()
        assert (labels.same, labels.different, labels.unsure) == (1, 2, 1)
        entity = entity_of(index.export())
        assert entity[a] == entity[b] != entity[c]
        index.close()

    def test_bad_decisions_are_refused_and_nothing_is_written(
        self, index: identmatch.Index
    ) -> None:
        rid = str(index.export()["record_id"].iloc[0])
        with pytest.raises(identmatch.SchemaError, match="not in the index: NOPE"):
            index.decide((rid, "NOPE"), "different", reason="x", purpose="p")
        with pytest.raises(identmatch.SchemaError, match="two different records"):
            index.decide((rid, rid), "different", reason="x", purpose="p")
        with pytest.raises(identmatch.SchemaError, match="exactly two"):
            index.decide((rid,), "different")
        assert len(index.decisions()) == 0

    def test_a_removal_re_resolves_under_the_decisions(self, index: identmatch.Index) -> None:
        """After a split, removing another record of the old entity does not rejoin them."""
        group = next(g for g in big_entities(index.export(), 4))
        a, b = group[0], group[-1]
        index.decide((a, b), "different", reason="father and son", purpose="r")
        rest = [r for r in group if r not in (a, b)]
        index.remove(rest[:1])
        entity = entity_of(index.export())
        assert entity[a] != entity[b]

    def test_rebuild_with_exported_decisions_keeps_them(
        self, index: identmatch.Index, records: pd.DataFrame, tmp_path: Path
    ) -> None:
        """`identmatch decisions export` then `index build --decisions`: the rebuilt index
        keeps the pair apart (a rebuild without them joins it) and holds the decisions."""
        group = big_entities(index.export())[0]
        a, b = group[0], group[-1]
        index.decide((a, b), "different", reason="twins", purpose="r")
        index.close()
        exported = tmp_path / "decisions.csv"
        run = subprocess.run(
            [
                IDENTMATCH,
                "decisions",
                "export",
                "--index",
                str(index.path),
                "--out",
                str(exported),
                "--purpose",
                "rebuild",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        assert "twins" in exported.read_text(encoding="utf-8")
        source = tmp_path / "records.csv"
        records.iloc[:700].to_csv(source, index=False)
        rebuilt, plain = tmp_path / "rebuilt.duckdb", tmp_path / "plain.duckdb"
        for target, extra in ((rebuilt, ["--decisions", str(exported)]), (plain, [])):
            run = subprocess.run(
                [IDENTMATCH, "index", "build", str(source), "--index", str(target), *extra],
                capture_output=True,
                text=True,
                check=False,
            )
            assert run.returncode == 0, run.stderr
        with identmatch.Index.open(rebuilt) as opened:
            entity = entity_of(opened.export())
            assert len(opened.decisions()) == 1
        with identmatch.Index.open(plain) as opened:
            assert entity_of(opened.export())[a] == entity_of(opened.export())[b]
        assert entity[a] != entity[b]
        index._connection = duckdb.connect(str(index.path))  # for the fixture's close

    def test_batch_and_index_build_agree_under_decisions(
        self, records: pd.DataFrame, batch: identmatch.Result, tmp_path: Path
    ) -> None:
        """The same decisions give the same entities in a batch run and an index build."""
        groups = big_entities(batch.entities)[:4]
        singles = batch.entities.groupby("entity_id").filter(lambda g: len(g) == 1)
        rows = [(g[0], g[-1], "different") for g in groups]
        rows.append((str(singles["record_id"].iloc[0]), str(singles["record_id"].iloc[1]), "same"))
        decisions = decisions_frame(rows)
        run = identmatch.dedupe(records.iloc[:700], model=batch.model, decisions=decisions)
        with identmatch.Index.build(
            records.iloc[:700], tmp_path / "i.duckdb", model=batch.model, decisions=decisions
        ) as built:
            exported = built.export()
        mine = pd.Series(entity_of(run.entities)).sort_index()
        theirs = pd.Series(entity_of(exported)).sort_index()
        assert (mine.factorize()[0] == theirs.factorize()[0]).all()


# ---------------------------------------------------------------------------- queue
class TestQueue:
    def test_pairs_are_in_the_band_closest_to_the_threshold_first(
        self, index: identmatch.Index
    ) -> None:
        queue = index.review_queue(limit=30)
        assert queue.pairs
        low, high = index.config.review_band
        distances = []
        for pair in queue.pairs:
            assert low <= pair.match_probability < high
            assert pair.explanation.contributions
            assert [r.record_id for r in pair.records] == list(pair.record_ids)
            distances.append(abs(pair.match_probability - index.config.threshold))
        # Ordered by match weight's distance to the threshold's, the same order in probability
        # on each side; check that the first is at least as close as the last.
        assert distances[0] <= distances[-1]

    def test_a_decided_pair_leaves_the_queue(self, index: identmatch.Index) -> None:
        first = index.review_queue(limit=5).pairs[0]
        index.decide(first.record_ids, "unsure", reason="need the file", purpose="r")
        remaining = [p.record_ids for p in index.review_queue(limit=50).pairs]
        assert first.record_ids not in remaining

    def test_an_add_queues_its_uncertain_pairs(
        self, index: identmatch.Index, records: pd.DataFrame
    ) -> None:
        before = index._connection.execute("SELECT count(*) FROM review_pairs").fetchall()[0][0]
        index.add(records.iloc[700:])
        after = index._connection.execute("SELECT count(*) FROM review_pairs").fetchall()[0][0]
        new_ids = set(records.iloc[700:]["record_id"])
        rows = index._connection.execute(
            "SELECT record_id_l, record_id_r FROM review_pairs"
        ).fetchall()
        assert after > before
        assert any(a in new_ids or b in new_ids for a, b in rows)

    def test_suspicious_entities(self, tmp_path: Path) -> None:
        """Possible twins, conflicting NHS numbers and a very large entity are queued, each
        with the pair to decide on; a decision on that pair takes the flag away. The records
        are joined by chains of "same" decisions, which the family guard does not undo."""
        people = [
            # Twins or one man: one surname and date of birth, unrelated forenames.
            ("T1", "Callum", "Reid", "1990-03-04", "LS6 4AB", None),
            ("T2", None, "Reid", "1990-03-04", "LS6 4AB", None),
            ("T3", "Dominic", "Reid", "1990-03-04", "LS6 4AB", None),
            # One man under two NHS numbers that share nothing.
            ("N1", "Marek", "Nowak", "1977-11-02", "M14 5RT", "9434765870"),
            ("N2", "Marek", "Nowak", "1977-11-02", "M14 5RT", None),
            ("N3", "Marek", "Nowak", "1977-11-02", "M14 5RT", "4010232137"),
        ]
        frame = pd.DataFrame(
            people, columns=["record_id", "forename", "surname", "dob", "postcode", "nhs_number"]
        )
        decisions = decisions_frame(
            [("T1", "T2", "same"), ("T2", "T3", "same"), ("N1", "N2", "same"), ("N2", "N3", "same")]
        )
        config = identmatch.ModelConfig(review_large=3, train="never")
        with identmatch.Index.build(
            frame, tmp_path / "s.duckdb", config=config, decisions=decisions
        ) as built:
            entity = entity_of(built.export())
            assert entity["T1"] == entity["T3"]
            assert entity["N1"] == entity["N3"]
            queue = {e.entity_id: e for e in built.review_queue(limit=10).entities}
            assert set(queue[entity["T1"]].kinds) == {"possible_twins", "large"}
            assert set(queue[entity["N1"]].kinds) >= {"conflicting_identifiers", "large"}
            assert "NHS number" in queue[entity["N1"]].why
            assert set(queue[entity["T1"]].record_ids) == {"T1", "T3"}
            assert len(queue[entity["N1"]].records) == 3
            built.decide(("N1", "N3"), "same", reason="checked the GP record", purpose="r")
            again = {e.entity_id: e for e in built.review_queue(limit=10).entities}
            assert (
                "conflicting_identifiers" not in again.get(entity["N1"], queue[entity["T1"]]).kinds
            )

    def test_match_weight_histogram_counts_every_scored_pair(
        self, index: identmatch.Index, batch: identmatch.Result
    ) -> None:
        bins = index.match_weight_histogram()
        assert sum(n for _, _, n in bins) == len(batch.pairs)
        assert all(b - a == 1.0 for a, b, _ in bins)
        assert bins[0][0] <= batch.pairs["match_weight"].min() < bins[0][1]


def test_bridge_finds_one_link_between_two_groups() -> None:
    """Two triangles joined by one edge: that edge; a triangle with a tail: none (a lone
    record hanging on is not two groups); a cycle: none."""
    triangles = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)]
    assert _bridge(6, triangles) in {(2, 3), (3, 2)}
    assert _bridge(4, [(0, 1), (1, 2), (0, 2), (2, 3)]) is None
    assert _bridge(4, [(0, 1), (1, 2), (2, 3), (3, 0)]) is None


# ---------------------------------------------------------------------------- report
class TestReport:
    def test_precision_and_recall_from_labels(self, index: identmatch.Index) -> None:
        """Counts match a hand count over the labelled pairs' scores."""
        queue = index.review_queue(limit=40).pairs
        assert len(queue) >= 10
        truth = {}
        for i, pair in enumerate(queue):
            decision = "same" if i % 3 else "different"
            try:
                index.decide(pair.record_ids, decision, reason="r", purpose="p")
            except identmatch.DecisionError:  # joins records decided different above
                continue
            truth[pair.record_ids] = (pair.match_probability, decision == "same")
        found = index.report()
        cut = index.config.threshold
        predicted = [same for p, same in truth.values() if p >= cut]
        assert found.labels == len(truth)
        assert found.precision.denominator == len(predicted)
        assert found.precision.numerator == sum(predicted)
        assert found.recall.denominator == sum(1 for _, s in truth.values() if s)
        assert found.recall.numerator == sum(1 for p, s in truth.values() if s and p >= cut)
        assert sum(b.same + b.different for b in found.bins) == len(truth)
        assert "threshold" in found.advice
        assert found.precision.low <= (found.precision.value or 0) <= found.precision.high

    def test_recall_and_precision_per_group(
        self, index: identmatch.Index, batch: identmatch.Result
    ) -> None:
        """Per sex, age band and source, the report counts the labelled pairs a hand count
        puts in each group (a pair in each of its records' groups)."""
        from identmatch._batch.subgroups import UNKNOWN, result_attributes

        queue = index.review_queue(limit=40).pairs
        truth = {}
        for i, pair in enumerate(queue):
            decision = "same" if i % 3 else "different"
            try:
                index.decide(pair.record_ids, decision, reason="r", purpose="p")
            except identmatch.DecisionError:
                continue
            truth[pair.record_ids] = (pair.match_probability, decision == "same")
        by = ["sex", "age_band", "source"]
        values = pd.DataFrame(result_attributes(batch.entities, batch._prepared, by))
        values.index = batch.entities["record_id"].astype(str)
        expected: dict[tuple[str, str], list[int]] = {}
        cut = index.config.threshold
        for (a, b), (p, same) in truth.items():
            for name in by:
                pair = [values.at[a, name], values.at[b, name]]
                known = {str(v) for v in pair if isinstance(v, str) and v != UNKNOWN}
                if name == "source":
                    low, high = sorted(str(v) for v in pair)
                    known = {low if low == high else f"{low} - {high}"}
                for group in known or {UNKNOWN}:
                    counts = expected.setdefault((name, group), [0, 0, 0, 0])
                    counts[0] += same
                    counts[1] += same and p >= cut
                    counts[2] += p >= cut
                    counts[3] += p >= cut and same
        found = index.report()
        got = {
            (g.attribute, g.group): [
                g.same,
                g.recall.numerator,
                g.precision.denominator,
                g.precision.numerator,
            ]
            for g in found.groups
        }
        assert got == expected
        assert {g.attribute for g in found.groups} == set(by)
        sex_total = sum(g.same + g.different for g in found.groups if g.attribute == "source")
        assert sex_total == found.labels
        assert "by group" in str(found)

    def test_report_command(self, index: identmatch.Index) -> None:
        pair = index.review_queue(limit=1).pairs[0]
        index.decide(pair.record_ids, "different", reason="r", purpose="p")
        index.close()
        run = subprocess.run(
            [IDENTMATCH, "report", "--index", str(index.path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        assert "labels: 1 (0 same, 1 different)" in run.stdout
        assert "too few labels" in run.stdout
        index._connection = duckdb.connect(str(index.path))


@given(st.integers(0, 500), st.integers(0, 500))
def test_wilson_interval_holds_the_share(successes: int, extra: int) -> None:
    trials = successes + extra
    low, high = wilson(successes, trials)
    assert 0.0 <= low <= high <= 1.0
    if trials:
        assert low - 1e-12 <= successes / trials <= high + 1e-12
