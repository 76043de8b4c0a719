"""Pairwise accuracy of a clustering against known truth (for synthetic and benchmark data)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

__all__ = ["PairwiseScores", "pairwise_scores"]


class PairwiseScores(BaseModel, frozen=True, extra="forbid"):
    """Pairwise precision, recall and F1: each pair of records counted once."""

    true_positives: int = Field(ge=0)
    false_positives: int = Field(ge=0)
    false_negatives: int = Field(ge=0)

    @property
    def true_pairs(self) -> int:
        """Pairs that are the same person in truth."""
        return self.true_positives + self.false_negatives

    @property
    def precision(self) -> float:
        """Share of predicted pairs that are true; 1.0 when nothing was predicted."""
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        """Share of true pairs that were predicted; 1.0 when there are none."""
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _pair_count(frame: pd.DataFrame, keys: list[str], groups: bool) -> int:
    if not groups:
        sizes = frame.groupby(keys, sort=False).size()
        return int((sizes * (sizes - 1) // 2).sum())
    # Only pairs across groups count: within a key, sum over groups g < h of n_g * n_h.
    per_group = frame.groupby([*keys, "__group"], sort=False).size()
    totals = per_group.groupby(level=list(range(len(keys)))).sum()
    squares = (per_group**2).groupby(level=list(range(len(keys)))).sum()
    return int(((totals**2 - squares) // 2).sum())


def pairwise_scores(
    predicted: Sequence[Any] | pd.Series[Any],
    truth: Sequence[Any] | pd.Series[Any],
    *,
    groups: Sequence[Any] | pd.Series[Any] | None = None,
) -> PairwiseScores:
    """Score predicted cluster labels against true ones, pair by pair.

    Args:
        predicted: a cluster label per record (e.g. ``entity_id``).
        truth: the true person label per record, aligned with ``predicted``.
        groups: for a link, the input each record came from; only pairs across inputs count.
    """
    frame = pd.DataFrame(
        {
            "__pred": pd.Series(predicted).astype(str).to_numpy(),
            "__true": pd.Series(truth).astype(str).to_numpy(),
        }
    )
    use_groups = groups is not None
    if use_groups:
        frame["__group"] = pd.Series(groups).astype(str).to_numpy()
    both = _pair_count(frame, ["__pred", "__true"], use_groups)
    predicted_pairs = _pair_count(frame, ["__pred"], use_groups)
    true_pairs = _pair_count(frame, ["__true"], use_groups)
    return PairwiseScores(
        true_positives=both,
        false_positives=predicted_pairs - both,
        false_negatives=true_pairs - both,
    )
