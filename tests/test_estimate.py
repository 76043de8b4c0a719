"""Estimation that cannot collapse: EM with prior counts, then order, floors and bounds."""

from __future__ import annotations

import itertools
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import identmatch
from identmatch._model.catalogue import (
    date_of_birth_comparison,
    forename_comparison,
    nhs_number_comparison,
    surname_comparison,
)
from identmatch._model.estimate import (
    WEIGHT_BOUNDS,
    LevelHealth,
    Patterns,
    em_on_patterns,
    regularise,
)
from identmatch._model.levels import ComparisonSpec
from identmatch._model.model import block_pair_count
from identmatch.testing import generate_records

SPECS = (forename_comparison(), surname_comparison(), date_of_birth_comparison())


def _weight(spec: ComparisonSpec, i: int) -> float:
    lv = spec.levels[i]
    return math.log2(lv.m / lv.u)


def _check_order(spec: ComparisonSpec) -> None:
    """What a person would accept of one trained comparison."""
    free = [i for i, lv in enumerate(spec.levels) if lv.kind != "null" and not lv.fixed]
    different = next(i for i in free if spec.levels[i].kind == "else")
    low, high = WEIGHT_BOUNDS
    for i in free:
        assert low - 1e-9 <= _weight(spec, i) <= high + 1e-9, spec.levels[i].label
        assert _weight(spec, i) >= _weight(spec, different) - 1e-9, spec.levels[i].label
    top = free[0]
    assert spec.levels[top].kind == "exact"
    for i in free:
        if spec.levels[i].kind not in ("reversed", "reversed_similar"):
            assert _weight(spec, i) <= _weight(spec, top) + 1e-9, spec.levels[i].label
    similar = [i for i in free if spec.levels[i].kind == "jaro_winkler"]
    for closer, farther in itertools.pairwise(similar):
        if spec.levels[closer].column == spec.levels[farther].column:
            assert _weight(spec, closer) >= _weight(spec, farther) - 1e-9


@st.composite
def training_blocks(draw: st.DrawFn) -> tuple[Patterns, list[np.ndarray]]:
    """Random agreement patterns over forename, surname and date of birth, and random u."""
    n = draw(st.integers(1, 40))
    columns = []
    for spec in SPECS:
        columns.append(draw(st.lists(st.integers(0, len(spec.levels) - 1), min_size=n, max_size=n)))
    counts = draw(st.lists(st.integers(1, 5000), min_size=n, max_size=n))
    us = []
    for spec in SPECS:
        raw = draw(
            st.lists(
                st.floats(1e-7, 1.0, allow_nan=False),
                min_size=len(spec.levels),
                max_size=len(spec.levels),
            )
        )
        u = np.array(raw) / sum(raw) * 0.999
        us.append(np.clip(u, 1e-9, 0.999))
    return (
        Patterns(
            comparisons=tuple(s.name for s in SPECS),
            levels=np.array(columns, dtype=np.int64).T,
            counts=np.array(counts, dtype=float),
        ),
        us,
    )


@settings(max_examples=60, deadline=None)
@given(training_blocks(), st.sampled_from([(), ("dob",), ("forename", "surname")]))
def test_trained_levels_stay_ordered_and_bounded(
    block: tuple[Patterns, list[np.ndarray]], blocked: tuple[str, ...]
) -> None:
    patterns, us = block
    train = {s.name for s in SPECS} - set(blocked)
    expected, share = em_on_patterns(patterns, SPECS, train)
    assert 0.0 < share < 1.0
    for spec, u in zip(SPECS, us, strict=True):
        seen = expected.get(spec.name)
        if seen is not None:
            assert np.all(seen >= 0.0)
            assert seen.sum() <= patterns.counts.sum() + 1e-6
        final, rows = regularise(spec, u, seen)
        _check_order(final)
        assert len(rows) == sum(lv.kind not in ("null", "both_null") for lv in spec.levels)
        for row, lv in zip(
            rows, (lv for lv in final.levels if lv.kind not in ("null", "both_null")), strict=True
        ):
            assert row.weight == pytest.approx(math.log2(lv.m / lv.u), abs=1e-3)


def test_a_level_em_would_collapse_is_shrunk_and_raised() -> None:
    """No matching pair in "spelled very similarly" : maximum likelihood gives it m = 0 (minus
    infinity bits); the prior counts and the order keep it at least at "different"."""
    spec = forename_comparison()
    exact, very_similar = (
        1,
        next(
            i for i, lv in enumerate(spec.levels) if lv.label == "forename: spelled very similarly"
        ),
    )
    different = len(spec.levels) - 1
    seen = np.zeros(len(spec.levels))
    seen[exact], seen[different] = 9_000.0, 1_000.0
    u = np.array([lv.u for lv in spec.levels])
    final, rows = regularise(spec, u, seen)
    row = next(r for r in rows if r.label == "forename: spelled very similarly")
    assert row.raw_weight is not None
    assert row.raw_weight == -999.0  # m of 0: minus infinity
    assert row.weight >= _weight(final, different) - 1e-3
    assert any("default" in note for note in row.constrained)
    assert row.matches_seen == 0.0
    _check_order(final)
    assert final.levels[very_similar].m > 0


def test_an_identifier_clash_is_strong_but_bounded() -> None:
    spec = nhs_number_comparison()
    seen = np.array([0.0, 50_000.0, 0.0])  # every matching pair shared its NHS number
    u = np.array([0.5, 1e-6, 0.999999])
    final, rows = regularise(spec, u, seen)
    clash = rows[-1]
    assert clash.raw_weight is not None
    assert clash.raw_weight < -100
    assert clash.weight == pytest.approx(-10.0)
    assert any("floor" in note for note in clash.constrained)
    assert _weight(final, 2) == pytest.approx(-10.0)


def test_order_pools_a_closer_level_that_came_out_lower() -> None:
    """A tighter similarity level estimated below a looser one is pooled with it."""
    spec = surname_comparison()
    labels = [lv.label for lv in spec.levels]
    very, similar = (
        labels.index("surname: spelled very similarly"),
        labels.index("surname: spelled similarly"),
    )
    u = np.array([lv.u for lv in spec.levels])
    seen = np.array([lv.m for lv in spec.levels]) * 10_000
    seen[0] = 0.0
    seen[very] = 1.0  # almost never seen among matches
    seen[similar] = 3_000.0  # seen often
    final, rows = regularise(spec, u, seen)
    assert _weight(final, very) >= _weight(final, similar) - 1e-9
    assert any("keep the order" in note for note in rows[very - 1].constrained)


def test_training_reports_a_health_table_that_holds(tmp_path: Path) -> None:
    records = generate_records(3_000, seed=11, profile="hard")
    result = identmatch.dedupe(records)
    training = result.model.training
    assert training is not None
    assert training.m == "estimated"
    health = training.levels
    assert health
    assert all(isinstance(row, LevelHealth) for row in health)
    names = {row.comparison for row in health}
    assert {"forename", "surname", "dob"} <= names
    for spec in result.model.comparisons:
        if spec.name in ("forename", "surname", "dob", "postcode"):
            _check_order(spec)
    trained = [row for row in health if row.matches_seen > 0]
    assert trained, "EM saw matching pairs"
    low, high = WEIGHT_BOUNDS
    for row in health:
        fixed = next(
            lv.fixed
            for spec in result.model.comparisons
            if spec.name == row.comparison
            for lv in spec.levels
            if lv.label == row.label
        )
        if not fixed:
            assert low <= row.weight <= high
    path = tmp_path / "model.json"
    result.model.save(path)
    assert identmatch.Model.load(path).training == training


def test_the_prior_follows_the_data() -> None:
    """The prior estimated from the EM blocks is within a factor of two of the truth."""
    records = generate_records(4_000, seed=5)
    result = identmatch.dedupe(records)
    sizes = records.groupby("person_id").size()
    true_pairs = float((sizes * (sizes - 1) / 2).sum())
    truth = true_pairs / (len(records) * (len(records) - 1) / 2)
    estimated = result.model.probability_two_random_records_match
    assert truth / 2 <= estimated <= truth * 2


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed identmatch command next to this interpreter."""
    candidate = Path(sys.executable).with_name("identmatch")
    found = str(candidate) if candidate.exists() else shutil.which("identmatch")
    assert found, "the identmatch command is not installed"
    return subprocess.run(
        [found, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.slow
def test_the_command_shows_the_health_table(tmp_path: Path) -> None:
    """dedupe lists the constrained levels; `identmatch model health` lists every level of
    the saved model, with what was constrained; the numbers are the model file's."""
    generate_records(3_000, seed=2).to_csv(tmp_path / "r.csv", index=False)
    done = _run("dedupe", "r.csv", "--out", "e.csv", "--save-model", "m.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Model health:" in done.stderr
    model = identmatch.Model.load(tmp_path / "m.json")
    assert model.training is not None
    constrained = [row for row in model.training.levels if row.constrained]
    assert f"{len(constrained)} constrained" in done.stderr
    shown = _run("model", "health", "m.json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    cells = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in shown.stdout.splitlines()
        if line.startswith("│")
    ]
    for row in model.training.levels:
        level = row.label.split(": ", 1)[-1]
        match = [c for c in cells if c[0] == row.comparison and c[1] and level.startswith(c[1])]
        assert match, row.label
        best = max(match, key=lambda c: len(c[1]))  # "swapped" and "swapped, ... respelled"
        assert best[4] == f"{row.weight:+.1f}", row.label
    only = _run("model", "health", "m.json", "--constrained", cwd=tmp_path)
    assert only.returncode == 0, only.stderr
    listed = [
        line.split("│")[1].strip()
        for line in only.stdout.splitlines()
        if line.startswith("│") and line.split("│")[1].strip()
    ]
    assert len(listed) == len(constrained)
    missing = _run("model", "health", "nothing.json", cwd=tmp_path)
    assert missing.returncode == 2
    assert "no such model file" in missing.stderr


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", None]), min_size=0, max_size=25),
    st.lists(st.sampled_from(["a", "b", "d", None]), min_size=0, max_size=25),
)
def test_block_pair_count_counts_the_pairs_a_join_makes(left: list, right: list) -> None:
    """Pairs equal on the column (missing pairs with nothing), as a self-join or a link."""
    frames = [pd.DataFrame({"dob": left}), pd.DataFrame({"dob": right})]
    dedupe = sum(
        1 for i, j in itertools.combinations(range(len(left)), 2) if left[i] and left[i] == left[j]
    )
    link = sum(1 for a in left for b in right if a and a == b)
    assert block_pair_count(frames[:1], ("dob",), linked=False) == dedupe
    assert block_pair_count(frames, ("dob",), linked=True) == link
    assert block_pair_count(frames[:1], ("dob",), linked=False, fraction=0.5) == dedupe / 4
    assert block_pair_count(frames[:1], ("postcode_std",), linked=False) == 0


def test_a_block_over_the_cap_is_skipped() -> None:
    """A block of more training pairs than max_pairs_for_em is not trained on."""
    records = generate_records(3_000, seed=4)
    config = identmatch.ModelConfig(max_pairs_for_em=1_000)
    trained = identmatch.dedupe(records, config=config).model.training
    assert trained is not None
    assert "postcode_std" not in trained.em_blocking_rules
    uncapped = identmatch.dedupe(records).model.training
    assert uncapped is not None
    assert "postcode_std" in uncapped.em_blocking_rules


def _frame(patterns: Patterns | None) -> pd.DataFrame:
    assert patterns is not None
    rows = pd.DataFrame(patterns.levels, columns=list(patterns.comparisons))
    rows["pairs"] = patterns.counts
    return rows.sort_values(list(rows.columns)).reset_index(drop=True)


@pytest.mark.parametrize("linked", [False, True])
def test_pattern_counts_in_one_query_equal_splinks_comparison(linked: bool) -> None:
    """The patterns training counts in one aggregating query equal, pattern for pattern, those
    of the pairs Splink compares for the same block (the reference), for a dedupe and a link."""
    from splink import Linker

    from identmatch._batch.engine import Engine
    from identmatch._batch.plan import count_patterns
    from identmatch._model.model import _EM_RULES, _block_patterns, build_settings

    records = generate_records(2_000, seed=8)
    halves = [records.iloc[:1_000], records.iloc[1_000:]] if linked else [records]
    result = (identmatch.link if linked else identmatch.dedupe)(*halves)
    model, engine = result.model, Engine()
    tables = [
        engine.load_prepared(frame, f"t_{number}") for number, frame in enumerate(result._prepared)
    ]
    link_type = "link_only" if linked else "dedupe_only"
    for rule in _EM_RULES:
        settings = build_settings(model, link_type, "duckdb", blocking=rule)
        linker = Linker(tables if linked else tables[0], settings, log_level=None)
        reference = _frame(_block_patterns(linker, model))
        counted = _frame(count_patterns(engine, tables, model, rule))
        assert reference["pairs"].sum() > 50, rule
        pd.testing.assert_frame_equal(counted, reference, check_dtype=False)
