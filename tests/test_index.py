"""The known-person index: build, search, add, export, crash safety and concurrency.

Everything runs on a real DuckDB file in a temporary directory.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import identmatch
import identmatch._index.snapshot as snapshot_module
from identmatch._candidates.choose import rank_query_candidates
from identmatch._candidates.keys import hashed_keys
from identmatch._index.search import search_prior_weight
from identmatch._index.snapshot import Snapshot
from identmatch.testing import generate_records

pytestmark = pytest.mark.slow

Built = tuple[identmatch.Result, identmatch.Index]

FIELDS = ["forename", "middle_names", "surname", "aliases", "dob", "sex", "postcode", "nhs_number"]


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    frame = generate_records(4000, seed=21)
    return frame.drop(columns=["error_type", "hard_negative"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, records: pd.DataFrame) -> Built:
    """A batch dedupe and an index built from the same records with the same model."""
    base = records.iloc[:3500]
    result = identmatch.dedupe(base)
    path = tmp_path_factory.mktemp("index") / "known.duckdb"
    index = identmatch.Index.build(base, path, model=result.model)
    return result, index


def fields_of(row: pd.Series[Any]) -> dict[str, Any]:
    return {k: row[k] for k in FIELDS if isinstance(row[k], list) or pd.notna(row[k])}


class TestBuild:
    def test_export_has_every_record_once_with_batch_entities(self, built: Built) -> None:
        """The index holds every record once, grouped exactly as the batch run grouped them."""
        result, index = built
        exported = index.export()
        assert len(exported) == len(index) == 3500
        assert exported["record_id"].is_unique
        merged = result.entities[["record_id", "entity_id"]].merge(exported, on="record_id")
        assert (merged["entity_id_x"] == merged["entity_id_y"]).all()

    def test_reopen_needs_nothing_else(self, built: Built) -> None:
        """Opening the file again gives the same model and the same records."""
        _, index = built
        again = identmatch.Index.open(index.path)
        assert again.model == index.model
        assert len(again) == len(index)

    def test_build_refuses_an_existing_file(self, tmp_path: Path, records: pd.DataFrame) -> None:
        """Building over an existing file is refused rather than overwriting it."""
        path = tmp_path / "x.duckdb"
        path.write_text("keep me", encoding="utf-8")
        with pytest.raises(identmatch.ConfigError, match="already exists"):
            identmatch.Index.build(records.iloc[:10], path)
        assert path.read_text(encoding="utf-8") == "keep me"

    def test_term_frequencies_are_the_records_own_counts(self, built: Built) -> None:
        """The tf counts the build writes in SQL equal the prepared records' value counts."""
        result, index = built
        prepared = result._prepared[0]
        with index._cursor() as cur:
            stored = cur.execute("SELECT column_name, value, n FROM tf").fetchall()
        found: dict[str, dict[str, int]] = {}
        for column, value, n in stored:
            found.setdefault(column, {})[value] = n
        expected = {
            column: {str(k): int(n) for k, n in prepared[column].dropna().value_counts().items()}
            for column in index.model.tf_columns
        }
        assert found == {column: counts for column, counts in expected.items() if counts}

    @pytest.mark.parametrize("where", ["pipeline", "writer"])
    def test_failed_build_leaves_nothing(
        self,
        tmp_path: Path,
        records: pd.DataFrame,
        monkeypatch: pytest.MonkeyPatch,
        where: str,
    ) -> None:
        """A failure in the pipeline or in the writer thread reaches the caller, and no file
        (neither the index nor its half-built twin) is left behind."""
        import identmatch._batch.result as result_module
        import identmatch._index.write as index_write

        def fail(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"injected failure in the {where}")

        if where == "pipeline":
            monkeypatch.setattr(result_module.Result, "entities_at", fail)
        else:
            monkeypatch.setattr(index_write, "insert_records", fail)
        path = tmp_path / "x.duckdb"
        with pytest.raises(RuntimeError, match=f"injected failure in the {where}"):
            identmatch.Index.build(records.iloc[:300], path)
        assert list(tmp_path.iterdir()) == []
        assert not any(t.name == "identmatch-index-writer" for t in threading.enumerate())


class TestSearch:
    def test_known_person_is_found_first(self, built: Built, records: pd.DataFrame) -> None:
        """A person in the index, searched with a nickname, is the top hit with a match verdict."""
        result, index = built
        sizes = result.entities.groupby("entity_id")["record_id"].transform("size")
        row = result.entities[(sizes >= 2) & result.entities["dob"].notna()].iloc[0]
        query = fields_of(row)
        hits = index.search(query, top=3)
        assert hits
        assert hits[0].entity_id == row["entity_id"]
        assert hits[0].verdict == "match"
        assert row["record_id"] in [r.record_id for r in hits[0].records]
        assert "starting point (prior)" in str(hits[0].explanation)

    def test_unknown_person_gets_no_match(self, built: Built) -> None:
        """Someone the index has never seen gets no hit at the possible level."""
        _, index = built
        hits = index.search({"forename": "Zebulon", "surname": "Quatermain", "dob": "1931-12-25"})
        assert all(hit.verdict == "no match" for hit in hits)
        assert hits == []

    def test_unknown_field_is_refused(self, built: Built) -> None:
        """A search field that is not a standard column is refused by name."""
        _, index = built
        with pytest.raises(identmatch.SchemaError, match="unknown search field"):
            index.search({"given_name": "Ann"})

    def test_search_before_loading_equals_search_after(
        self, built: Built, records: pd.DataFrame
    ) -> None:
        """An index read straight from the file ranks and scores exactly as a loaded one."""
        _, index = built
        cold = identmatch.Index.open(index.path)
        assert cold._loaded is None
        for _, row in records.iloc[::97].iterrows():
            query = fields_of(row)
            assert cold.search(query, top=5) == index.warm().search(query, top=5)
        assert cold._loaded is None  # searching did not load everything
        record_id = str(records.iloc[5]["record_id"])
        query = fields_of(records.iloc[6])
        assert cold.score(query, record_id) == index.score(query, record_id)
        cold.close()

    @settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(position=st.integers(min_value=0, max_value=10_000))
    def test_search_and_batch_give_the_same_weight(
        self,
        built: Built,
        records: pd.DataFrame,
        position: int,
    ) -> None:
        """For any pair batch dedupe scored, the search path weighs the same evidence.

        Search starts from its own prior (one of the index's entities, see
        ``search_prior_weight``) where batch starts from the pairwise one, so the two
        match weights differ by exactly the difference of priors: the evidence (match
        weight minus prior) is compared, and each side's prior is checked to be its own.
        """
        result, index = built
        pairs = result.pairs
        pair = pairs.iloc[position % len(pairs)]
        raw = records.set_index("record_id").loc[pair["record_id_l"]]
        explanation = index.score(fields_of(raw), pair["record_id_r"])
        entities = index.export()["entity_id"].nunique()
        assert explanation.prior_weight == search_prior_weight(0.5, entities)
        evidence = explanation.match_weight - explanation.prior_weight
        batch_evidence = pair["match_weight"] - result.model.prior_weight
        assert evidence == pytest.approx(batch_evidence, abs=1e-6)

    def test_search_scores_every_pair_batch_compared(self, built: Built) -> None:
        """Search chooses candidates as batch does: each pair batch compared is among them.

        The differential test of candidate generation: for a record of the index, its
        candidates among the other records (the keys, block sizes and weights a search
        uses) hold every record the batch run compared it with.
        """
        result, index = built
        snapshot = index.warm()._snapshot
        model = index.model
        compared: dict[str, set[str]] = {}
        for a, b in zip(
            result.candidates["record_id_l"], result.candidates["record_id_r"], strict=True
        ):
            compared.setdefault(a, set()).add(b)
            compared.setdefault(b, set()).add(a)
        checked = 0
        for record_id in sorted(compared)[::7]:
            row = snapshot.row_of(record_id)
            assert row is not None
            keys = hashed_keys(snapshot.record(row), model.blocking_rules)
            others = {
                hashed: [r for r in rows.tolist() if r != row]
                for hashed, rows in snapshot.sharing(hashed for _, hashed in keys).items()
            }
            chosen = rank_query_candidates(
                keys, others, model.blocking_rules, len(snapshot), model.candidates
            )
            found = {str(snapshot.record(r)["record_id"]) for r in chosen}
            assert compared[record_id] <= found, record_id
            checked += 1
        assert checked > 300


class TestAdd:
    def test_add_joins_or_creates_and_never_renames(
        self, tmp_path: Path, records: pd.DataFrame
    ) -> None:
        """New records join existing entities or start new ones; old ids keep their entities."""
        path = tmp_path / "k.duckdb"
        index = identmatch.Index.build(records.iloc[:3500], path)
        before = index.export().set_index("record_id")["entity_id"]
        outcome = index.add(records.iloc[3500:])
        assert set(outcome["action"]) <= {"joined", "new", "merged"}
        assert len(outcome) == 500
        after = index.export().set_index("record_id")["entity_id"]
        assert len(after) == 4000
        merged = set(index._connection.execute("SELECT merged FROM merges").fetchall())
        merged_ids = {m[0] for m in merged}
        changed = before[before != after.loc[before.index]]
        assert set(changed) <= merged_ids  # only merged entities ever change id
        truth = records.set_index("record_id").loc[after.index, "person_id"]
        scores = identmatch.testing.pairwise_scores(after.to_numpy(), truth.to_numpy())
        assert scores.precision > 0.98
        assert scores.recall > 0.95
        index.close()

    @pytest.mark.parametrize("fold_at", [0, 100_000], ids=["keys-folded", "keys-in-delta"])
    def test_snapshot_after_adds_equals_a_fresh_load(
        self,
        tmp_path: Path,
        records: pd.DataFrame,
        built: Built,
        fold_at: int,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The in-memory state kept up to date by adds is what reopening the file gives."""
        monkeypatch.setattr(snapshot_module, "FOLD_AT", fold_at)
        result, _ = built
        index = identmatch.Index.build(
            records.iloc[:2500], tmp_path / "k.duckdb", model=result.model
        )
        for start in (2500, 3000, 3500):
            index.add(records.iloc[start : start + 500])
        kept = index._snapshot
        with index._cursor() as cursor:
            fresh = Snapshot.load(cursor)
        assert len(kept) == len(fresh) == 4000
        assert [kept.record(i) for i in range(4000)] == [fresh.record(i) for i in range(4000)]
        entities = {str(e) for e in index.export()["entity_id"]} | set(fresh._members)
        assert {e: kept.member_rows(e) for e in entities} == {
            e: fresh.member_rows(e) for e in entities
        }
        assert kept._by_id == fresh._by_id
        assert set(kept.tf) == set(fresh.tf)
        for column, shares in fresh.tf.items():
            assert dict(kept.tf[column].items()) == dict(shares.items())
        for i in range(0, 4000, 97):
            keys = hashed_keys(fresh.record(i), index.model.blocking_rules)
            model = index.model
            assert kept.candidates(keys, model.blocking_rules, model.candidates) == (
                fresh.candidates(keys, model.blocking_rules, model.candidates)
            )
        index.close()

    def test_add_before_loading_equals_add_after(
        self, tmp_path: Path, records: pd.DataFrame, built: Built
    ) -> None:
        """Adding to an index that was never loaded decides exactly as adding to a loaded one."""
        result, _ = built
        path = tmp_path / "warm.duckdb"
        identmatch.Index.build(records.iloc[:3000], path, model=result.model).close()
        shutil.copyfile(path, tmp_path / "cold.duckdb")
        warm = identmatch.Index.open(path).warm()
        cold = identmatch.Index.open(tmp_path / "cold.duckdb")
        for start in (3000, 3500):
            batch = records.iloc[start : start + 500]
            pd.testing.assert_frame_equal(warm.add(batch), cold.add(batch))
        assert cold._loaded is None
        pd.testing.assert_frame_equal(warm.export(), cold.export())
        warm.close()
        cold.close()

    def test_add_existing_id_is_refused_and_changes_nothing(
        self, tmp_path: Path, records: pd.DataFrame
    ) -> None:
        """Adding a record id that is already indexed fails and leaves the index as it was."""
        path = tmp_path / "k.duckdb"
        index = identmatch.Index.build(records.iloc[:300], path)
        with pytest.raises(identmatch.SchemaError, match="already in the index"):
            index.add(records.iloc[290:310])
        assert len(index) == 300
        assert len(index.export()) == 300
        index.close()

    def test_add_does_not_chain_twins_together(
        self, tmp_path: Path, records: pd.DataFrame, built: Built
    ) -> None:
        """A record that matches both twins joins one of them; it never merges the twins."""
        result, _ = built
        twins = pd.DataFrame(
            [
                {
                    "record_id": "T1",
                    "forename": "Kyle",
                    "surname": "Pilling",
                    "dob": "2001-05-06",
                    "sex": "M",
                    "postcode": "OL11 4DR",
                },
                {
                    "record_id": "T2",
                    "forename": "Ryan",
                    "surname": "Pilling",
                    "dob": "2001-05-06",
                    "sex": "M",
                    "postcode": "OL11 4DR",
                },
            ]
        )
        base = pd.concat([records.iloc[:1500], twins], ignore_index=True)
        index = identmatch.Index.build(base, tmp_path / "k.duckdb", model=result.model)
        entities = index.export().set_index("record_id")["entity_id"]
        assert entities["T1"] != entities["T2"]
        vague = {"surname": "Pilling", "dob": "2001-05-06", "sex": "M", "postcode": "OL11 4DR"}
        hits = index.search(vague)
        assert {h.entity_id for h in hits if h.verdict == "match"} == {
            entities["T1"],
            entities["T2"],
        }  # without the guard this record would chain the twins into one entity
        outcome = index.add(pd.DataFrame([{"record_id": "T3", **vague}]))
        after = index.export().set_index("record_id")["entity_id"]
        assert after["T1"] != after["T2"]
        assert outcome.loc[0, "action"] == "joined"
        assert after["T3"] in {after["T1"], after["T2"]}
        index.close()

    def test_searches_run_while_an_add_is_in_progress(
        self, tmp_path: Path, records: pd.DataFrame
    ) -> None:
        """A search during an add sees the index before or after it, never an error."""
        path = tmp_path / "k.duckdb"
        index = identmatch.Index.build(records.iloc[:2000], path)
        probe = fields_of(records.iloc[0])
        errors: list[BaseException] = []
        counts: list[int] = []

        def add() -> None:
            try:
                index.add(records.iloc[2000:4000])
            except BaseException as exc:
                errors.append(exc)

        worker = threading.Thread(target=add)
        worker.start()
        while worker.is_alive():
            index.search(probe)
            counts.append(len(index))
        worker.join()
        assert not errors
        assert set(counts) <= {2000, 4000}
        assert len(index) == 4000
        index.close()


def test_killed_add_leaves_index_before_or_after(tmp_path: Path, records: pd.DataFrame) -> None:
    """Killing the process in the middle of an add loses nothing committed and adds nothing half."""
    path = tmp_path / "k.duckdb"
    identmatch.Index.build(records.iloc[:1000], path).close()
    extra = tmp_path / "extra.parquet"
    records.iloc[1000:4000].to_parquet(extra)
    script = textwrap.dedent(
        f"""
        import identmatch
        index = identmatch.Index.open({str(path)!r})
        print("started", flush=True)
        index.add({str(extra)!r})
        print("done", flush=True)
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        time.sleep(1.5)
        proc.kill()
        proc.wait(timeout=60)
    index = identmatch.Index.open(path)
    try:
        assert len(index) in (1000, 4000)
        exported = index.export()
        assert exported["entity_id"].notna().all()
        assert not exported["entity_id"].str.startswith("pending-").any()
    finally:
        index.close()


class TestDatesAsWritten:
    """An index built with ``date_order="auto"`` reads searches and adds as its build did."""

    PEOPLE = (
        ("Ann", "Smith", "03/04/1980"),
        ("Brian", "Okafor", "12/25/1971"),
        ("Carla", "Nowak", "01/13/1975"),
        ("Dev", "Patel", "02/28/1990"),
        ("Erin", "Walsh", "07/31/1966"),
        ("Femi", "Adeyemi", "03/14/2001"),
        ("Gus", "Lindqvist", "11/19/1958"),
        ("Hana", "Sato", "10/30/1984"),
    )

    @pytest.fixture
    def us_index(self, tmp_path: Path) -> Any:
        records = pd.DataFrame(
            [
                {"record_id": f"u{i}", "source": "us", "forename": f, "surname": s, "dob": d}
                for i, (f, s, d) in enumerate(self.PEOPLE)
            ]
        )
        index = identmatch.Index.build(records, tmp_path / "us.duckdb")
        yield index
        index.close()

    def test_the_build_keeps_the_detected_order(self, us_index: identmatch.Index) -> None:
        """The build read the month-first source month-first, and keeps that order."""
        assert us_index.date_order == "auto"
        assert us_index.date_orders == {"us": "MDY"}
        assert us_index.search_order == "MDY"
        again = identmatch.Index.open(us_index.path)
        assert (again.date_orders, again.search_order) == ({"us": "MDY"}, "MDY")
        again.close()

    @pytest.mark.parametrize(
        "dob", ["03/04/1980", "1980-03-04", "19800304", "4th of March 1980", "March 4th, 1980"]
    )
    def test_search_reads_the_date_as_the_build_did(
        self, us_index: identmatch.Index, dob: str
    ) -> None:
        """A search's ambiguous date is read in the index's order; written forms are read too."""
        hits = us_index.search({"forename": "Ann", "surname": "Smith", "dob": dob})
        assert hits, dob
        (record,) = hits[0].records
        assert (record.record_id, record.dob) == ("u0", "1980-03-04")
        assert us_index._searcher.prepare({"dob": dob})["dob"] == "1980-03-04"

    def test_search_reads_the_written_forms(self, tmp_path: Path) -> None:
        """Searching an index reads "3rd of July 95", 19712506 and 10032019 as batch does."""
        records = pd.DataFrame(
            [
                {"record_id": "a", "forename": "Ann", "surname": "Smith", "dob": "1995-07-03"},
                {"record_id": "b", "forename": "Bo", "surname": "Berg", "dob": "25/06/1971"},
                {"record_id": "c", "forename": "Cy", "surname": "Cole", "dob": "10/03/2019"},
            ]
        )
        index = identmatch.Index.build(records, tmp_path / "uk.duckdb", date_order="DMY")
        try:
            assert (index.date_orders, index.search_order) == ({}, "DMY")
            for forename, surname, dob, expected in [
                ("Ann", "Smith", "3rd of July 95", "a"),
                ("Ann", "Smith", "the 3rd of July 1995", "a"),
                ("Bo", "Berg", "19712506", "b"),
                ("Cy", "Cole", "10032019", "c"),
            ]:
                hits = index.search({"forename": forename, "surname": surname, "dob": dob})
                assert hits, dob
                assert hits[0].records[0].record_id == expected, dob
                query = index._searcher.prepare({"dob": dob})
                assert query["dob"] == hits[0].records[0].dob, dob
        finally:
            index.close()

    def test_adds_read_ambiguous_dates_in_the_kept_order(self, us_index: identmatch.Index) -> None:
        """A later add of the source, with no clear date of its own, is read as the build read."""
        new = pd.DataFrame(
            [
                {
                    "record_id": "n1",
                    "source": "us",
                    "forename": "Ivo",
                    "surname": "Kral",
                    "dob": "05/06/1970",
                }
            ]
        )
        us_index.add(new)
        hits = us_index.search({"forename": "Ivo", "surname": "Kral", "dob": "1970-05-06"})
        assert hits
        assert hits[0].records[0].dob == "1970-05-06"
