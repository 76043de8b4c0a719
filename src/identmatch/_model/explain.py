"""Explanations: why a pair scored as it did, field by field, in words and weights.

A pair's match weight (bits) is the prior weight plus one weight per comparison, each the
weight of the level that fired (``log2(m/u)``) plus any term-frequency adjustment. An
:class:`Explanation` lists those terms; its ``str()`` is the plain-words form.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from identmatch._model.model import Model

if TYPE_CHECKING:
    import altair as alt

__all__ = [
    "Contribution",
    "Explanation",
    "explanation_from_row",
    "explanation_from_score",
    "level_index_from_gamma",
]


class Contribution(BaseModel, frozen=True, extra="forbid"):
    """One comparison's part in a pair's match weight."""

    comparison: str
    level: int
    """Index of the level that fired in the comparison's ``levels``."""
    label: str
    """The level in plain words, e.g. "surname: sounds the same"."""
    weight: float
    """Bits added to the match weight (negative counts against a match)."""
    term_frequency_adjustment: float = 0.0
    """Part of ``weight`` due to how common the value is (rare names count for more)."""


class Explanation(BaseModel, frozen=True, extra="forbid"):
    """Why two records scored as they did."""

    record_id_l: str
    record_id_r: str
    match_weight: float
    match_probability: float
    prior_weight: float
    contributions: tuple[Contribution, ...]

    def __str__(self) -> str:
        lines = [
            f"{self.record_id_l} vs {self.record_id_r}: match probability "
            f"{self.match_probability:.4f} (match weight {self.match_weight:+.2f})",
            f"  starting point (prior): {self.prior_weight:+.2f}",
        ]
        for item in self.contributions:
            note = ""
            if abs(item.term_frequency_adjustment) >= 0.005:
                rarity = "rarer" if item.term_frequency_adjustment > 0 else "more common"
                note = f" (incl. {item.term_frequency_adjustment:+.2f}: {rarity} than average)"
            lines.append(f"  {item.label}: {item.weight:+.2f}{note}")
        return "\n".join(lines)

    def waterfall_chart(
        self, threshold: float | None = None, *, start: str = "Starting point (prior)"
    ) -> alt.LayerChart:
        """A chart of this pair's match weight, built from the prior and each comparison.

        Args:
            threshold: a match probability to mark (dashed) on the weight axis; None: none.
            start: the first bar's label (the prior the pair starts from).

        The chart's ``data`` holds one row per step: ``label``, ``weight``, ``start``,
        ``end`` and ``kind`` (``prior``, ``for``, ``against``, ``total``).

        Raises:
            MissingDependencyError: Altair is not installed (``identmatch[charts]``).
        """
        from identmatch._charts.data import probability_to_weight, waterfall_steps
        from identmatch._charts.specs import waterfall_chart

        steps = waterfall_steps(
            self.prior_weight,
            [(c.label, c.weight) for c in self.contributions],
            self.match_weight,
            start,
        )
        weight = None if threshold is None else probability_to_weight(threshold)
        title = (
            f"Why {self.record_id_l} and {self.record_id_r} score "
            f"{self.match_weight:+.1f} bits (probability {self.match_probability:.3f})"
        )
        return waterfall_chart(steps, weight, title)


def level_index_from_gamma(levels: int, gamma: int) -> int:
    """Map Splink's comparison vector value to the level's index in the spec.

    Splink numbers the null level -1 and the others from ``levels - 2`` (most specific)
    down to 0 (``else``).
    """
    if gamma < 0:
        return 0
    return levels - 1 - gamma


def explanation_from_row(model: Model, row: Mapping[str, Any]) -> Explanation:
    """Build an explanation from a Splink prediction row with intermediate columns kept."""
    contributions = []
    total = 0.0
    for spec in model.comparisons:
        gamma = int(row[f"gamma_{spec.name}"])
        index = level_index_from_gamma(len(spec.levels), gamma)
        base = _number(row.get(f"mw_{spec.name}"))
        tf = _number(row.get(f"mw_tf_adj_{spec.name}"))
        total += base + tf
        contributions.append(
            Contribution(
                comparison=spec.name,
                level=index,
                label=spec.levels[index].label,
                weight=base + tf,
                term_frequency_adjustment=tf,
            )
        )
    match_weight = float(row["match_weight"])
    return Explanation(
        record_id_l=str(row["unique_id_l"]),
        record_id_r=str(row["unique_id_r"]),
        match_weight=match_weight,
        match_probability=float(row["match_probability"]),
        prior_weight=match_weight - total,
        contributions=tuple(contributions),
    )


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    number = float(value)
    return 0.0 if number != number else number


def explanation_from_score(
    model: Model,
    score: Any,
    record_id_l: str,
    record_id_r: str,
    *,
    prior_weight: float | None = None,
) -> Explanation:
    """Build an explanation from an in-process :class:`identmatch._model.scoring.PairScore`.

    Built without validation (``model_construct``): every value comes typed from the model
    and the scorer, and a search builds several of these per query. A contribution without
    a term-frequency adjustment is the same object every time its level fires.
    ``prior_weight``: the starting point the score was made from, when not the model's.
    """
    contributions = tuple(
        _contribution(spec.name, level, spec.levels[level].label, weight, tf)
        for spec, level, weight, tf in zip(
            model.comparisons, score.levels, score.weights, score.tf_adjustments, strict=True
        )
    )
    return Explanation.model_construct(
        record_id_l=record_id_l,
        record_id_r=record_id_r,
        match_weight=score.match_weight,
        match_probability=score.match_probability,
        prior_weight=model.prior_weight if prior_weight is None else prior_weight,
        contributions=contributions,
    )


def _contribution(
    comparison: str, level: int, label: str, weight: float, tf: float
) -> Contribution:
    if tf == 0.0:
        return _fixed_contribution(comparison, level, label, weight)
    return Contribution.model_construct(
        comparison=comparison, level=level, label=label, weight=weight, term_frequency_adjustment=tf
    )


@functools.lru_cache(maxsize=4096)
def _fixed_contribution(comparison: str, level: int, label: str, weight: float) -> Contribution:
    """One level's contribution without a term-frequency adjustment (frozen, so shared)."""
    return Contribution.model_construct(
        comparison=comparison,
        level=level,
        label=label,
        weight=weight,
        term_frequency_adjustment=0.0,
    )
