"""People's decisions as labels: precision and recall estimated from them, and the threshold.

Each ``same`` or ``different`` decision in force about two records still in the index is a
label. The model scores the pair as it would now (the same in-process scorer as search),
and the label says whether it was right:

- precision at a threshold: of the labelled pairs scored at or above it, the share labelled
  ``same``;
- recall: of the pairs labelled ``same``, the share scored at or above it.

Both come with Wilson 95% intervals, and a threshold sweep over the labels says whether the
threshold should move. Labels mostly come from the review queue, which asks about pairs near
the threshold: the figures describe those pairs, where mistakes happen, not every pair of
the index, and the report says so.

The same figures are given per group (who we miss): by sex and age band (a labelled pair
counts in the group of each of its two records' known values, ``unknown`` when neither
record has one) and by source (``"police - probation"``, by both records). Only what the
index keeps can group pairs: columns it does not store (a name origin) cannot.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import duckdb
from pydantic import BaseModel

from identmatch._batch.subgroups import RECALL_GAP, UNKNOWN, age_band, group_order
from identmatch._index.snapshot import Snapshot
from identmatch._index.store import cursor as cursor_of
from identmatch._model.scoring import score_pair

if TYPE_CHECKING:
    from identmatch._index.index import Index

__all__ = [
    "LabelBin",
    "LabelGroup",
    "LabelReport",
    "Rate",
    "label_report",
    "scored_labels",
    "wilson",
]

_BINS = (0.0, 0.5, 0.8, 0.95, 0.99, 1.0)
_BY = ("sex", "age_band", "source")
"""What labelled pairs are grouped by: what every indexed record keeps."""
_MIN_LABELS_TO_MOVE = 20
"""Fewer labels than this are too few to move a threshold by."""


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (``(0, 1)`` when there are no trials)."""
    if trials == 0:
        return (0.0, 1.0)
    share = successes / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    spread /= denominator
    return (max(0.0, centre - spread), min(1.0, centre + spread))


class Rate(BaseModel, frozen=True, extra="forbid"):
    """A share with its counts and a Wilson 95% interval (None when nothing was counted)."""

    value: float | None
    numerator: int
    denominator: int
    low: float
    high: float

    @classmethod
    def of(cls, numerator: int, denominator: int) -> Rate:
        low, high = wilson(numerator, denominator)
        value = numerator / denominator if denominator else None
        return cls(value=value, numerator=numerator, denominator=denominator, low=low, high=high)

    def __str__(self) -> str:
        if self.value is None:
            return "no labels"
        return (
            f"{self.value:.3f} ({self.numerator} of {self.denominator}; "
            f"95% interval {self.low:.3f}-{self.high:.3f})"
        )


class LabelBin(BaseModel, frozen=True, extra="forbid"):
    """Labels among the pairs scored in ``[lower, upper)``."""

    lower: float
    upper: float
    same: int
    different: int


class LabelGroup(BaseModel, frozen=True, extra="forbid"):
    """Precision and recall over the labelled pairs in one group (``attribute`` = ``group``)."""

    attribute: str
    group: str
    same: int
    different: int
    precision: Rate
    recall: Rate
    flagged: bool
    """Recall more than ``RECALL_GAP`` (0.03) below the recall over all labels."""


class LabelReport(BaseModel, frozen=True, extra="forbid"):
    """What the decisions say about the model and its threshold."""

    labels: int
    same: int
    different: int
    unsure: int
    skipped: int
    """Decisions about records no longer in the index."""
    threshold: float
    precision: Rate
    recall: Rate
    bins: tuple[LabelBin, ...]
    best_threshold: float | None
    """The threshold with the best F1 on the labels (None: too few labels to say)."""
    advice: str
    groups: tuple[LabelGroup, ...] = ()
    """The same per sex, age band and source (see the module docstring)."""

    def __str__(self) -> str:
        lines = [
            f"labels: {self.labels} ({self.same} same, {self.different} different); "
            f"{self.unsure} unsure, {self.skipped} about records no longer indexed",
            f"at the threshold {self.threshold:g}:",
            f"  precision {self.precision}",
            f"  recall    {self.recall}",
            "labels by match probability:",
        ]
        for item in self.bins:
            lines.append(
                f"  [{item.lower:.2f}, {item.upper:.2f}): {item.same} same, "
                f"{item.different} different"
            )
        lines.append(self.advice)
        if self.groups:
            lines.append(
                "by group (a labelled pair counts in each of its two records' groups; "
                "<- marks recall more than 0.03 below the recall over all labels):"
            )
        for g in self.groups:
            mark = "  <-" if g.flagged else ""
            lines.append(
                f"  {g.attribute} {g.group}: {g.same} same, {g.different} different; "
                f"recall {_short(g.recall)}; precision {_short(g.precision)}{mark}"
            )
        lines.append(
            "These labels come mostly from the review queue, which asks about pairs near the "
            "threshold: the figures describe those pairs, not every pair in the index."
        )
        return "\n".join(lines)


def label_report(
    index: Index, *, threshold: float | None = None, connection: duckdb.DuckDBPyConnection
) -> LabelReport:
    """Precision and recall from the decisions in ``index`` (see :meth:`Index.report`)."""
    cut = index.config.threshold if threshold is None else threshold
    scored, members, unsure, skipped = scored_labels(index, connection=connection)
    same = sum(1 for _, s in scored if s)
    predicted = [s for p, s in scored if p >= cut]
    precision = Rate.of(sum(predicted), len(predicted))
    recall = Rate.of(sum(1 for p, s in scored if s and p >= cut), same)
    bins = tuple(
        LabelBin(
            lower=low,
            upper=high,
            same=sum(1 for p, s in scored if s and _in(p, low, high)),
            different=sum(1 for p, s in scored if not s and _in(p, low, high)),
        )
        for low, high in itertools.pairwise(_BINS)
    )
    best = _best_threshold(scored) if len(scored) >= _MIN_LABELS_TO_MOVE else None
    return LabelReport(
        labels=len(scored),
        same=same,
        different=len(scored) - same,
        unsure=unsure,
        skipped=skipped,
        threshold=cut,
        precision=precision,
        recall=recall,
        bins=bins,
        best_threshold=best,
        advice=_advice(scored, cut, best),
        groups=_groups(scored, members, cut, recall),
    )


def scored_labels(
    index: Index, *, connection: duckdb.DuckDBPyConnection
) -> tuple[list[tuple[float, bool]], list[dict[str, set[str]]], int, int]:
    """Each same/different decision about records still indexed, scored now: ``(match
    probability, same?)``, with the pair's groups; then the unsure and skipped counts."""
    decisions = index.decisions()
    latest = {(a, b): d for (_, a, _, b), d in decisions.latest.items()}
    unsure = sum(1 for d in latest.values() if d == "unsure")
    wanted = sorted({r for (a, b), d in latest.items() if d != "unsure" for r in (a, b)})
    with cursor_of(connection) as cursor:
        snapshot = Snapshot.around(cursor, [], wanted)
    scored: list[tuple[float, bool]] = []
    members: list[dict[str, set[str]]] = []
    skipped = 0
    for (a, b), decision in sorted(latest.items()):
        if decision == "unsure":
            continue
        row_a, row_b = snapshot.row_of(a), snapshot.row_of(b)
        if row_a is None or row_b is None:
            skipped += 1
            continue
        record_a, record_b = snapshot.record(row_a), snapshot.record(row_b)
        score = score_pair(index.model, record_a, record_b, snapshot.tf)
        scored.append((score.match_probability, decision == "same"))
        members.append(_pair_groups(record_a, record_b))
    return scored, members, unsure, skipped


def _known(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text if text and text != UNKNOWN else None


def _pair_groups(a: dict[str, object], b: dict[str, object]) -> dict[str, set[str]]:
    """The groups a labelled pair counts in, per attribute of ``_BY``."""
    out: dict[str, set[str]] = {}
    for name, values in (
        ("sex", (a.get("sex_std"), b.get("sex_std"))),
        ("age_band", (age_band(a.get("dob")), age_band(b.get("dob")))),
    ):
        known = {v for v in map(_known, values) if v is not None}
        out[name] = known or {UNKNOWN}
    low, high = sorted(_known(r.get("source")) or UNKNOWN for r in (a, b))
    out["source"] = {low if low == high else f"{low} - {high}"}
    return out


def _groups(
    scored: list[tuple[float, bool]],
    members: list[dict[str, set[str]]],
    cut: float,
    overall: Rate,
) -> tuple[LabelGroup, ...]:
    tallies: dict[tuple[str, str], list[tuple[float, bool]]] = {}
    for label, groups in zip(scored, members, strict=True):
        for name in _BY:
            for group in groups[name]:
                tallies.setdefault((name, group), []).append(label)
    out = []
    for (name, group), labels in tallies.items():
        same = sum(1 for _, s in labels if s)
        predicted = [s for p, s in labels if p >= cut]
        recall = Rate.of(sum(1 for p, s in labels if s and p >= cut), same)
        flagged = (
            recall.value is not None
            and overall.value is not None
            and recall.value < overall.value - RECALL_GAP - 1e-12
        )
        out.append(
            LabelGroup(
                attribute=name,
                group=group,
                same=same,
                different=len(labels) - same,
                precision=Rate.of(sum(predicted), len(predicted)),
                recall=recall,
                flagged=flagged,
            )
        )
    return tuple(sorted(out, key=lambda g: (_BY.index(g.attribute), group_order(g.group))))


def _short(rate: Rate) -> str:
    if rate.value is None:
        return "-"
    return f"{rate.value:.3f} ({rate.numerator} of {rate.denominator})"


def _in(p: float, low: float, high: float) -> bool:
    return low <= p < high or (high == 1.0 and p == 1.0)


def _f1(scored: list[tuple[float, bool]], cut: float) -> float:
    tp = sum(1 for p, s in scored if s and p >= cut)
    fp = sum(1 for p, s in scored if not s and p >= cut)
    fn = sum(1 for p, s in scored if s and p < cut)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _best_threshold(scored: list[tuple[float, bool]]) -> float | None:
    """The cut (a labelled pair's probability) with the best F1; the highest on a tie."""
    cuts = sorted({p for p, _ in scored if 0.0 < p < 1.0}, reverse=True)
    if not cuts:
        return None
    return max(cuts, key=lambda c: (_f1(scored, c), c))


def _advice(scored: list[tuple[float, bool]], cut: float, best: float | None) -> str:
    if best is None:
        return (
            f"too few labels to judge the threshold ({len(scored)}; "
            f"at least {_MIN_LABELS_TO_MOVE} are needed)"
        )
    now, then = _f1(scored, cut), _f1(scored, best)
    if then <= now + 1e-9 or abs(best - cut) < 1e-9:
        return f"keep the threshold: no other cut does better on these labels (F1 {now:.3f})"
    direction = "lower" if best < cut else "raise"
    return (
        f"{direction} the threshold to about {best:.3g}: F1 on these labels would go from "
        f"{now:.3f} to {then:.3f}"
    )
