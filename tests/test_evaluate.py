"""Pairwise precision, recall and F1 against truth, checked against a brute-force oracle."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from identmatch.testing import pairwise_scores


def brute_force(pred: list[int], true: list[int], groups: list[int] | None) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(pred)), 2):
        if groups is not None and groups[i] == groups[j]:
            continue
        same_pred, same_true = pred[i] == pred[j], true[i] == true[j]
        tp += same_pred and same_true
        fp += same_pred and not same_true
        fn += same_true and not same_pred
    return tp, fp, fn


labels = st.lists(st.integers(0, 5), min_size=0, max_size=25)


@given(data=st.data(), n=st.integers(0, 25), linked=st.booleans())
def test_matches_brute_force(data: st.DataObject, n: int, linked: bool) -> None:
    """Counts equal a pair-by-pair count, with and without input groups."""
    pred = data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    true = data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    groups = data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)) if linked else None
    scores = pairwise_scores(pred, true, groups=groups)
    assert (scores.true_positives, scores.false_positives, scores.false_negatives) == brute_force(
        pred, true, groups
    )
    assert 0.0 <= scores.precision <= 1.0
    assert 0.0 <= scores.recall <= 1.0


def test_perfect_clustering() -> None:
    """Identical labellings score 1.0 throughout."""
    scores = pairwise_scores(["a", "a", "b"], [1, 1, 2])
    assert (scores.precision, scores.recall, scores.f1) == (1.0, 1.0, 1.0)
