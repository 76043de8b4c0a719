"""The benchmark's measurement: exact blocking recall from listed candidates, hard sets."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from benchmarks import check, metrics, report, who_we_miss
from benchmarks.datasets import (
    DatasetSpec,
    load,
    synthetic_cached,
    synthetic_paths,
    write_synthetic,
)
from benchmarks.plan import jobs
from benchmarks.prepare import set_argument
from benchmarks.run_one import _true_pairs_frame
from benchmarks.systems.identmatch_runner import _Candidates


def records(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """A benchmark records frame from (input, record_id, truth) rows."""
    return pd.DataFrame(rows, columns=["input", "record_id", "truth"])


def true_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    left, right = metrics.true_pair_codes(frame)
    return _true_pairs_frame(frame, left, right)


class TestExactBlockingRecall:
    # Person p1 has three records (3 true pairs), p2 two (1 pair), p3 one: 4 true pairs.
    DEDUPE = records(
        [
            ("input", "a", "p1"),
            ("input", "b", "p1"),
            ("input", "c", "p1"),
            ("input", "d", "p2"),
            ("input", "e", "p2"),
            ("input", "f", "p3"),
        ]
    )

    def test_dedupe_counts_true_pairs_among_candidates(self) -> None:
        """Two of four true pairs compared (one listed backwards, one twice): recall 0.5."""
        candidates = pd.DataFrame(
            {
                "record_id_l": ["a", "c", "a", "a", "d"],
                "record_id_r": ["b", "a", "b", "f", "f"],
            }
        )
        frame = metrics.candidate_frame(candidates, ("input",))
        assert list(frame.columns) == metrics.PAIR_KEYS
        found = metrics.candidates_present(frame, true_pairs(self.DEDUPE))
        assert found == 2  # a-b and a-c; a-f and d-f are not true pairs, b-c and d-e missed

    def test_all_and_none(self) -> None:
        """Every true pair listed gives 4 of 4; no candidates give 0."""
        truth = true_pairs(self.DEDUPE)
        every = truth
        frame = metrics.candidate_frame(every, ("input",))
        assert metrics.candidates_present(frame, truth) == len(truth) == 4
        empty = metrics.candidate_frame(every.head(0), ("input",))
        assert metrics.candidates_present(empty, truth) == 0

    def test_link_uses_inputs(self) -> None:
        """In a link the same id in both files is two records; only cross-file pairs count."""
        linked = records(
            [
                ("left", "1", "p1"),
                ("left", "2", "p1"),
                ("right", "1", "p1"),
                ("right", "9", "p2"),
                ("left", "3", "p2"),
            ]
        )
        truth = true_pairs(linked)
        assert len(truth) == 3  # left 1 / right 1, left 2 / right 1, left 3 / right 9
        candidates = pd.DataFrame(
            {
                "record_id_l": ["1", "1", "3"],
                "record_id_r": ["1", "2", "9"],
                "input_l": ["left", "left", "right"],
                "input_r": ["right", "left", "right"],
            }
        )
        frame = metrics.candidate_frame(candidates, ("left", "right"))
        assert metrics.candidates_present(frame, truth) == 1  # only left 1 / right 1

    def test_link_without_sources_refused(self) -> None:
        """Candidates of a link with no input columns cannot be placed."""
        candidates = pd.DataFrame({"record_id_l": ["1"], "record_id_r": ["2"]})
        with pytest.raises(ValueError, match="input_l"):
            metrics.candidate_frame(candidates, ("left", "right"))

    def test_runner_replays_listed_candidates_only(self) -> None:
        """A result with candidates gives (pairs, found); one without keeps the lower bound."""
        candidates = pd.DataFrame({"record_id_l": ["a", "d"], "record_id_r": ["b", "e"]})
        listed = _Candidates(SimpleNamespace(candidates=candidates), ("input",))
        assert listed.replay(true_pairs(self.DEDUPE)) == (2, 2)
        listed.release()
        assert listed.replay(true_pairs(self.DEDUPE)) is None
        assert _Candidates(SimpleNamespace(), ("input",)).replay(true_pairs(self.DEDUPE)) is None


RUN: dict[str, object] = {
    "status": "ok",
    "records": 1_000,
    "default_threshold": 0.95,
    "default": {"precision": 1.0, "recall": 0.9, "f1": 0.95},
    "at_half": None,
    "best": {"threshold": 0.9, "f1": 0.96},
    "pairs_scored": 5_000,
    "pairs_per_record": 5.0,
    "blocking_recall": 0.99,
}


class TestReport:
    def rows(self, kind: str) -> list[str]:
        plan = [j for j in jobs(smoke=True, skip_3m=True) if j.system == "identmatch"][:1]
        run = {**RUN, "blocking_recall_kind": kind}
        key = (plan[0].system, plan[0].dataset.name)
        return report._accuracy_rows(plan, {key: run})[0]

    def test_exact_recall_has_no_footnote(self) -> None:
        """Exact blocking recall prints plainly; a lower bound keeps ">=" and "(c)"."""
        exact, bound = self.rows("exact"), self.rows("lower bound")
        assert exact[-1] == "0.9900"
        assert bound[-1] == ">= 0.9900 (c)"
        assert exact[report.ACCURACY_HEADER.index("pairs per record")] == "5.00"


class TestHardSets:
    def test_plan_has_hard_sets_for_every_system(self) -> None:
        """Both hard sets are in the full and smoke plans, run by all three systems."""
        for smoke in (False, True):
            plan = jobs(smoke=smoke, skip_3m=True)
            for name in ("synthetic_hard_13k", "synthetic_hard_100k"):
                systems = {j.system for j in plan if j.dataset.name == name}
                assert systems == {"identmatch", "splink", "recordlinkage"}, (smoke, name)
        full = {j.dataset.name: j.dataset for j in jobs(smoke=False, skip_3m=True)}
        assert (full["synthetic_hard_13k"].size, full["synthetic_hard_13k"].people) == (
            12_800,
            5_000,
        )
        assert full["synthetic_hard_100k"].profile == "hard"

    def test_hard_set_written_and_loaded(self, tmp_path: Path) -> None:
        """A hard set is cached apart from the default one and loads with its people."""
        spec = DatasetSpec("h", "H", "synthetic", "dedupe", size=300, profile="hard", people=120)
        assert set_argument(spec) == "300:hard:120"
        write_synthetic(300, tmp_path, "hard", 120)
        assert (
            synthetic_paths(300, tmp_path, "hard", 120)[0].name
            == "synthetic_hard_300_of_120.parquet"
        )
        assert not synthetic_paths(300, tmp_path)[0].exists()
        dataset = load(spec, tmp_path)
        frame = dataset.inputs["input"]
        assert len(frame) == 300
        assert frame["person_id"].nunique() <= 120
        assert dataset.people is not None
        assert len(dataset.people) == 120
        assert {"origin", "sex", "dob"} <= set(dataset.people.columns)

    def test_older_cache_without_the_people_attributes_is_rewritten(self, tmp_path: Path) -> None:
        """A cache written before the people kept origin, sex and dob counts as missing."""
        records_path, people_path = write_synthetic(200, tmp_path)
        assert synthetic_cached(200, tmp_path)
        pd.read_parquet(people_path)[["person_id", "hard_negative"]].to_parquet(people_path)
        assert not synthetic_cached(200, tmp_path)
        write_synthetic(200, tmp_path)
        assert "origin" in pd.read_parquet(people_path).columns
        assert records_path.exists()


class TestWhoWeMiss:
    # Two people of origin a (p1: 3 records, p3: 1) and one of origin b (p2: 2 records);
    # the system finds p1's pairs, misses p2's, and wrongly joins p3 with one of p2's records.
    RECORDS = records(
        [
            ("input", "r1", "p1"),
            ("input", "r2", "p1"),
            ("input", "r3", "p1"),
            ("input", "r4", "p2"),
            ("input", "r5", "p2"),
            ("input", "r6", "p3"),
        ]
    )
    ENTITIES = pd.Series(["e1", "e1", "e1", "e2", "e3", "e3"])
    PEOPLE = pd.DataFrame(
        {
            "person_id": ["p1", "p2", "p3"],
            "origin": ["a", "b", "a"],
            "sex": ["M", "M", "F"],
            "dob": ["2004-06-01", "1980-01-01", "1950-01-01"],
        }
    )

    def test_recall_per_group_from_the_people(self) -> None:
        """Groups come from the people's true attributes; recall and precision per group."""
        found = who_we_miss.scores(self.RECORDS, self.ENTITIES, self.PEOPLE)
        assert found is not None
        groups = {(g["attribute"], g["group"]): g for g in found["groups"]}
        assert found["overall"] == {"true_pairs": 4, "recall": 0.75}
        assert (groups["origin", "a"]["true_pairs"], groups["origin", "a"]["recall"]) == (3, 1.0)
        assert (groups["origin", "b"]["true_pairs"], groups["origin", "b"]["recall"]) == (1, 0.0)
        assert groups["origin", "a"]["precision"] == 0.75  # the false pair p2-p3 counts here
        young = groups["age_band", "18-24"]  # p1, 21 at 2026-01-01
        assert (young["true_pairs"], young["recall"]) == (3, 1.0)
        assert groups["sex", "F"]["true_pairs"] == 0
        assert groups["sex", "F"]["precision"] == 0.0
        assert who_we_miss.scores(self.RECORDS, self.ENTITIES, self.PEOPLE[["person_id"]]) is None

    def test_table_in_the_report_and_checked(self) -> None:
        """The report has a who-we-miss table per synthetic set; the check asks for one."""
        plan = [j for j in jobs(smoke=True, skip_3m=True) if j.dataset.name == "synthetic_100k"]
        name = plan[0].dataset.name
        missed = who_we_miss.scores(self.RECORDS, self.ENTITIES, self.PEOPLE)
        run = {"status": "ok", "who_we_miss": missed}
        parts = who_we_miss.tables(
            [(name, "Synthetic 500")], {("identmatch", name): run}, ["identmatch"]
        )
        text = "\n".join(parts)
        assert "### Synthetic 500: who we miss" in text
        assert "| origin | b | 1 | 0.0000 | 0.0000 | 0.7500 (missed more) |" in text
        assert "no who-we-miss table (recall by name origin, sex and age band)" in check.problems(
            "# x\n", plan, require_ok=False
        )
