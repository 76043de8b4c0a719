"""In-process scoring: the model's match weight for a pair, computed in Python.

This is the twin of Splink's SQL scoring. It uses the same levels (through
:func:`evaluate_level`), the same m and u, and the same term-frequency rule as Splink:
on an exact level with term-frequency adjustment, the weight gains
``log2(u_exact) - log2(max(tf_l, tf_r))``, where ``tf`` is the share of non-missing values
equal to the record's value across all inputs. Tests hold it to Splink's weights.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import pandas as pd

from identmatch._model.level_python import evaluate_level
from identmatch._model.levels import ComparisonSpec, LevelSpec
from identmatch._model.model import Model

__all__ = [
    "GUARDED_CHAIN_FLOOR",
    "PairScore",
    "TermFrequencies",
    "TfShares",
    "guard_conflict",
    "in_conflict",
    "probability_from_weight",
    "score_pair",
]

GUARDED_CHAIN_FLOOR = 0.5
"""A pair that trips the family guard may share an entity only at this probability or above."""

TermFrequencies = Mapping[str, Mapping[Any, float]]
"""Column -> value -> share of the column's non-missing values equal to it."""


class TfShares(Mapping[Any, float]):
    """One column's term frequencies kept as counts; a value's share is count / total.

    Adding records changes every share a little, so the index keeps counts and divides on
    lookup: the same float as a batch run's share over the same records.
    """

    __slots__ = ("_counts", "_total")

    def __init__(self, counts: dict[Any, int], total: int | None = None) -> None:
        """``total``: of the whole column, when ``counts`` hold only some of its values."""
        self._counts = counts  # owned: callers hand over a fresh dict
        self._total = sum(counts.values()) if total is None else total

    def __getitem__(self, value: Any) -> float:
        return self._counts[value] / self._total

    def get(self, value: Any, default: Any = None) -> Any:
        n = self._counts.get(value)
        return default if n is None else n / self._total

    def __iter__(self) -> Iterator[Any]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)

    def plus(self, counts: Mapping[Any, int]) -> TfShares:
        """A new table with ``counts`` added (this one is left as it is).

        Counts may be negative (records removed); a value whose count reaches 0 is dropped,
        as the index's ``tf`` table drops it.
        """
        merged = dict(self._counts)
        for value, n in counts.items():
            now = merged.get(value, 0) + n
            if now > 0:
                merged[value] = now
            else:
                merged.pop(value, None)
        return TfShares(merged, self._total + sum(counts.values()))


class PairScore(NamedTuple):
    """A scored pair: total weight (bits), probability, and per-comparison detail."""

    match_weight: float
    match_probability: float
    levels: tuple[int, ...]
    """Index of the level that fired, per comparison, in ``model.comparisons`` order."""
    weights: tuple[float, ...]
    """Weight per comparison in bits, term-frequency adjustment included."""
    tf_adjustments: tuple[float, ...]


def probability_from_weight(weight: float) -> float:
    """Match probability in [0, 1] for a match weight in bits (numerically stable)."""
    if weight >= 0:
        return 1.0 / (1.0 + math.pow(2.0, -weight))
    power = math.pow(2.0, weight)
    return power / (1.0 + power)


def term_frequencies(model: Model, frames: Iterable[pd.DataFrame]) -> TermFrequencies:
    """Term frequencies of every column the model adjusts, over all ``frames`` together."""
    frames = list(frames)
    out: dict[str, dict[Any, float]] = {}
    for column in model.tf_columns:
        values = pd.concat([f[column] for f in frames], ignore_index=True).dropna()
        counts = values.value_counts()
        total = int(counts.sum())
        out[column] = {k: v / total for k, v in counts.items()} if total else {}
    return out


def _exact_u(spec: ComparisonSpec, column: str) -> float | None:
    for level in spec.levels:
        if level.kind == "exact" and level.column == column:
            return level.u
    return None


def _tf_adjustment(
    spec: ComparisonSpec,
    level: LevelSpec,
    left: Mapping[str, Any],
    right: Mapping[str, Any],
    tf: TermFrequencies,
) -> float:
    if not level.tf or level.column is None:
        return 0.0
    table = tf.get(level.column, {})
    values = [table.get(v) for v in (left.get(level.column), right.get(level.column))]
    present = [v for v in values if v is not None]
    u_exact = _exact_u(spec, level.column)
    if not present or u_exact is None:
        return 0.0
    return math.log2(u_exact) - math.log2(max(present))


def score_pair(
    model: Model,
    left: Mapping[str, Any],
    right: Mapping[str, Any],
    tf: TermFrequencies,
    *,
    prior_weight: float | None = None,
) -> PairScore:
    """Score two prepared records with ``model``.

    Args:
        model: a trained (or default) model.
        left: a prepared record (columns of ``PREPARED_COLUMNS``).
        right: another prepared record.
        tf: term frequencies from :func:`term_frequencies` over the data being matched.
        prior_weight: the starting point in bits; the model's pairwise prior by default (an
            index search starts from its own, see ``identmatch._index.search``). The
            per-comparison weights do not depend on it.
    """
    total = model.prior_weight if prior_weight is None else prior_weight
    levels, weights, adjustments = [], [], []
    for spec in model.comparisons:
        index = evaluate_level(spec, left, right)
        level = spec.levels[index]
        base = 0.0 if level.kind == "null" else math.log2(level.m / level.u)
        adjustment = _tf_adjustment(spec, level, left, right, tf) if level.kind == "exact" else 0.0
        levels.append(index)
        weights.append(base + adjustment)
        adjustments.append(adjustment)
        total += base + adjustment
    return PairScore(
        match_weight=total,
        match_probability=probability_from_weight(total),
        levels=tuple(levels),
        weights=tuple(weights),
        tf_adjustments=tuple(adjustments),
    )


def guard_conflict(model: Model, score: PairScore) -> bool:
    """Whether the family guard fired and the pair is on its own more likely different people."""
    if score.match_probability >= GUARDED_CHAIN_FLOOR:
        return False
    # A fixed level with a negative weight is a family guard pattern; other fixed levels
    # (a swap weighed under forename, middle names of possible twins) weigh 0 bits.
    return any(
        score.weights[i] < 0 and spec.levels[score.levels[i]].fixed
        for i, spec in enumerate(model.comparisons)
    )


def in_conflict(model: Model, score: PairScore, conflict_below: float) -> bool:
    """Whether two records so scored must never share an entity, even through a chain.

    They are plainly different people (match probability below ``conflict_below``), or the
    family guard fired (twins, parent and child) and they are on their own more likely
    different people than not. Batch clustering and index adds apply the same rule.
    """
    return score.match_probability < conflict_below or guard_conflict(model, score)
