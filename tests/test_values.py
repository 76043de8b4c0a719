"""The one missing-value rule (``_prepare.values``) and the one union-find of clustering."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from identmatch._batch.cluster import DisjointSets, connected_components, entity_id
from identmatch._prepare.read import read_text
from identmatch._prepare.values import is_missing, to_text
from identmatch.standardisers import is_missing as public_is_missing

MISSING = [None, float("nan"), np.float64("nan"), pd.NA, pd.NaT, np.datetime64("NaT")]
PRESENT = ["", " ", "x", 0, 0.0, False, np.datetime64("2020-01-01")]


@pytest.mark.parametrize("value", MISSING)
def test_missing(value: object) -> None:
    assert is_missing(value)
    assert public_is_missing(value)
    assert to_text(value) is None
    assert read_text(value) is None  # reading agrees with standardising (NaT included)


@pytest.mark.parametrize("value", PRESENT)
def test_present(value: object) -> None:
    assert not is_missing(value)


def test_to_text() -> None:
    assert to_text(9434765919.0) == "9434765919"
    assert to_text(np.float64(12.0)) == "12"
    assert to_text(1.5) == "1.5"
    assert to_text("  a ") == "  a "
    assert to_text("  a ", strip=True) == "a"
    assert to_text("   ", strip=True) is None


@given(st.one_of(st.text(), st.integers(), st.floats(allow_nan=True)))
def test_to_text_is_missing_exactly_when_is_missing(value: object) -> None:
    assert (to_text(value) is None) == is_missing(value)
    if isinstance(value, float) and math.isnan(value):
        assert is_missing(value)


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=60))
def test_disjoint_sets_agree_with_connected_components(pairs: list[tuple[int, int]]) -> None:
    nodes = [("a", str(i)) for i in range(31)]
    edges = [(nodes[a], nodes[b]) for a, b in pairs]
    sets = DisjointSets(31)
    for a, b in pairs:
        sets.union(a, b)
    assert sets.numbering(31) == connected_components(nodes, edges)
    for a, b in pairs:  # each set's root is its smallest node
        assert sets.find(a) == sets.find(b) <= min(a, b)


def test_entity_ids() -> None:
    assert entity_id(1) == "E000001"
    assert entity_id(1_234_567) == "E1234567"
    assert entity_id(7, width=8) == "E00000007"
