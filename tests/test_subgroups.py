"""Who we miss: precision and recall per group of people, against hand counts and an oracle."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

import identmatch
from identmatch._batch.subgroups import UNKNOWN, age_band, age_bands
from identmatch.testing import demo_files, generate_records, pairwise_scores, subgroup_scores

# Eight records of four people. P2's two records are never joined (a missed link, origin b)
# and r5 of P2 is wrongly joined with r8 of P4 (a false link across origins a and b).
RECORD = ["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"]
TRUTH = ["P1", "P1", "P1", "P2", "P2", "P3", "P3", "P4"]
PREDICTED = ["e1", "e1", "e1", "e2", "e3", "e4", "e4", "e3"]
ORIGIN = ["a", "a", "a", "b", "b", "b", "b", "a"]
SEX = ["M", "M", None, "F", None, None, "", "M"]
SOURCE = ["police", "police", "probation", "police", "probation", "police", "police", "police"]


class TestConstructed:
    """A clustering small enough to count by hand."""

    @pytest.fixture
    def found(self) -> identmatch.Evaluation:
        attributes = {"origin": ORIGIN, "sex": SEX, "source": SOURCE}
        return subgroup_scores(PREDICTED, TRUTH, attributes)

    def test_overall_matches_pairwise_scores(self, found: identmatch.Evaluation) -> None:
        """Overall: 5 true pairs, 4 found, 5 predicted, as pairwise_scores counts them."""
        assert found.overall == pairwise_scores(PREDICTED, TRUTH)
        assert (found.overall.true_pairs, found.overall.true_positives) == (5, 4)
        assert found.overall.recall == pytest.approx(0.8)
        assert found.overall.precision == pytest.approx(0.8)

    def test_missed_group_recall_is_exact(self, found: identmatch.Evaluation) -> None:
        """Origin b has 2 true pairs and 1 found (recall 0.5); origin a all 3 (recall 1.0)."""
        a, b = found.group("origin", "a"), found.group("origin", "b")
        assert (a.true_pairs, a.true_positives, a.recall) == (3, 3, 1.0)
        assert (b.true_pairs, b.true_positives, b.recall) == (2, 1, 0.5)
        assert [(g.attribute, g.group) for g in found.flagged] == [
            ("origin", "b"),
            ("sex", "F"),
            ("source", "police - probation"),
        ]

    def test_precision_counts_a_mixed_false_pair_in_both_groups(
        self, found: identmatch.Evaluation
    ) -> None:
        """The false pair r5-r8 (origins b and a) counts against both groups' precision."""
        a, b = found.group("origin", "a"), found.group("origin", "b")
        assert (a.true_positives, a.false_positives, a.precision) == (3, 1, 0.75)
        assert (b.true_positives, b.false_positives, b.precision) == (1, 1, 0.5)

    def test_person_takes_most_common_known_value(self, found: identmatch.Evaluation) -> None:
        """P1 (M, M, missing) is M; P2 (F, missing) is F; P3 (missing, blank) is unknown."""
        m, f, unknown = (found.group("sex", g) for g in ("M", "F", UNKNOWN))
        assert (m.true_pairs, m.true_positives, m.false_positives) == (3, 3, 1)
        assert (f.true_pairs, f.true_positives, f.false_positives, f.recall) == (1, 0, 1, 0.0)
        assert (unknown.true_pairs, unknown.true_positives, unknown.false_positives) == (1, 1, 0)
        assert [g.group for g in found.groups if g.attribute == "sex"] == ["F", "M", UNKNOWN]

    def test_source_names_the_pair_by_both_records(self, found: identmatch.Evaluation) -> None:
        """Pairs within one source are named by it; across, by both sources sorted."""
        same = found.group("source", "police")
        across = found.group("source", "police - probation")
        assert (same.true_pairs, same.true_positives, same.false_positives) == (2, 2, 0)
        assert (across.true_pairs, across.true_positives, across.false_positives) == (3, 2, 1)
        assert across.recall == pytest.approx(2 / 3)

    def test_table_names_groups_and_flags(self, found: identmatch.Evaluation) -> None:
        """The printed table has a row per group and marks the ones we miss."""
        text = str(found)
        assert "overall recall 0.800" in text
        flagged = [line for line in text.splitlines() if "below overall" in line]
        assert len(flagged) == 3
        assert flagged[0].split()[:2] == ["origin", "b"]
        frame = found.to_frame()
        assert list(frame[frame["flagged"]]["group"]) == ["b", "F", "police - probation"]

    def test_wrong_length_is_a_schema_error(self) -> None:
        """An attribute with a value count other than the records' is refused, named."""
        with pytest.raises(identmatch.SchemaError, match="origin has 2 values for 8 records"):
            subgroup_scores(PREDICTED, TRUTH, {"origin": ["a", "b"]})

    def test_missing_truth_is_a_person_of_its_own(self) -> None:
        """Records without a truth label are not all one person."""
        found = subgroup_scores(["e", "e", "e"], ["P", None, None], {"x": ["a", "a", "a"]})
        assert found.overall.true_pairs == 0
        assert found.overall.false_positives == 3


def test_age_bands() -> None:
    """Whole years at the reference date; a birthday later in the year is not reached yet."""
    dobs = ["2008-01-02", "2008-01-01", "2001-06-30", "1991-01-01", "1960-12-31", None, "junk"]
    bands = age_bands(dobs, dt.date(2026, 1, 1))
    assert list(bands) == ["under 18", "18-24", "18-24", "35-49", "65+", UNKNOWN, UNKNOWN]


@given(
    st.one_of(
        st.dates(dt.date(1900, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat),
        st.sampled_from([None, "", "1990-02-30", "junk", "1990-1-1"]),
    ),
    st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)),
)
def test_age_band_one_and_many_agree(dob: str | None, as_of: dt.date) -> None:
    """The scalar age band (report) and the columnar one (batch) agree on every input."""
    assert age_band(dob, as_of) == age_bands([dob], as_of).iloc[0]


def _oracle(
    pred: list[int],
    true: list[int],
    values: list[str | None],
    inputs: list[int] | None,
    per_pair: bool,
) -> dict[str, tuple[int, int, int]]:
    """Per group (true positives, false positives, false negatives), pair by pair."""
    known: dict[int, Counter[str]] = {}
    for t, v in zip(true, values, strict=True):
        known.setdefault(t, Counter())
        if v is not None:
            known[t][v] += 1

    def person(t: int) -> str:
        counts = known[t]
        if not counts:
            return UNKNOWN
        best = max(counts.values())
        return min(v for v, c in counts.items() if c == best)

    def text(v: str | None) -> str:
        return UNKNOWN if v is None else v

    out: dict[str, list[int]] = {}
    for i, j in itertools.combinations(range(len(pred)), 2):
        if inputs is not None and inputs[i] == inputs[j]:
            continue
        same_pred, same_true = pred[i] == pred[j], true[i] == true[j]
        if per_pair:
            a, b = sorted((text(values[i]), text(values[j])))
            groups = {a if a == b else f"{a} - {b}"}
        else:
            groups = {person(true[i]), person(true[j])}
        for group in groups:
            counts = out.setdefault(group, [0, 0, 0])
            counts[0] += same_pred and same_true
            counts[1] += same_pred and not same_true
            counts[2] += same_true and not same_pred
    return {g: (tp, fp, fn) for g, (tp, fp, fn) in out.items() if tp + fp + fn}


@given(data=st.data(), n=st.integers(0, 30), linked=st.booleans(), per_pair=st.booleans())
def test_matches_pair_by_pair_oracle(
    data: st.DataObject, n: int, linked: bool, per_pair: bool
) -> None:
    """Every group's counts equal a pair-by-pair count; true pairs add up; recall in [0, 1]."""
    pred = data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    true = data.draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    values = data.draw(st.lists(st.sampled_from(["x", "y", "z", None]), min_size=n, max_size=n))
    inputs = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)) if linked else None
    found = subgroup_scores(
        pred,
        true,
        {"v": values},
        inputs=inputs,
        pair_attributes=("v",) if per_pair else (),
    )
    got = {g.group: (g.true_positives, g.false_positives, g.false_negatives) for g in found.groups}
    assert got == _oracle(pred, true, values, inputs, per_pair)
    # Each true pair is in exactly one group, so the groups' true pairs add up.
    assert sum(g.true_pairs for g in found.groups) == found.overall.true_pairs
    assert sum(g.true_positives for g in found.groups) == found.overall.true_positives
    assert all(0.0 <= g.recall <= 1.0 and 0.0 <= g.precision <= 1.0 for g in found.groups)


@pytest.fixture(scope="module")
def result() -> identmatch.Result:
    return identmatch.dedupe(generate_records(400, seed=3))


class TestResultEvaluate:
    """``Result.evaluate`` on a generated file: the standardised sex and age, input columns."""

    def test_default_breakdown(self, result: identmatch.Result) -> None:
        """Sex, age band and source by default; the overall equals pairwise_scores."""
        found = result.evaluate("person_id")
        entities = result.entities
        assert found.overall == pairwise_scores(entities["entity_id"], entities["person_id"])
        assert list(dict.fromkeys(g.attribute for g in found.groups)) == [
            "sex",
            "age_band",
            "source",
        ]
        sexes = {g.group for g in found.groups if g.attribute == "sex"}
        assert sexes <= {"F", "M", UNKNOWN}
        assert {"F", "M"} <= sexes
        for attribute in ("sex", "age_band"):
            total = sum(g.true_pairs for g in found.groups if g.attribute == attribute)
            assert total == found.overall.true_pairs

    def test_origin_column(self, result: identmatch.Result) -> None:
        """A column of the input (the generator's name origin) is a breakdown too."""
        found = result.evaluate("person_id", by=["origin"])
        assert {g.group for g in found.groups} <= {
            "british",
            "irish",
            "eastern_european",
            "south_asian",
            "west_african",
        }

    def test_unknown_column_is_refused(self, result: identmatch.Result) -> None:
        """A breakdown by a column the input lacks names the column."""
        with pytest.raises(identmatch.SchemaError, match="'ethnicity'"):
            result.evaluate("person_id", by=["ethnicity"])
        with pytest.raises(identmatch.SchemaError, match="truth column 'nobody'"):
            result.evaluate("nobody")

    def test_link_counts_pairs_across_inputs(self) -> None:
        """For a link, only pairs across the two inputs count, as pairwise_scores's groups."""
        left, right = demo_files()
        linked = identmatch.link(left, right)
        found = linked.evaluate("person_id")
        entities = linked.entities
        expected = pairwise_scores(
            entities["entity_id"], entities["person_id"], groups=entities["input"]
        )
        assert found.overall == expected
        total = sum(g.true_pairs for g in found.groups if g.attribute == "sex")
        assert total == expected.true_pairs
