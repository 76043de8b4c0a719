"""The data behind each chart: plain pandas tables, so tests can check them against a run.

Every function here takes frames and numbers (never a person's values in a label) and
returns the long table its chart draws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "ABOVE",
    "BELOW",
    "cluster_sizes",
    "completeness",
    "level_parameters",
    "probability_to_weight",
    "threshold_sweep",
    "waterfall_steps",
    "weight_bins",
]

ABOVE = "at or above the threshold"
BELOW = "below the threshold"
SWEEP = tuple(round(0.01 * i, 2) for i in range(1, 100))
"""Thresholds (match probability) a precision/recall curve is drawn at."""


def probability_to_weight(probability: float) -> float:
    """The match weight (bits) of a match probability in (0, 1)."""
    return math.log2(probability / (1.0 - probability))


def weight_bins(weights: Sequence[float] | pd.Series, threshold: float) -> pd.DataFrame:
    """Pairs per 1-bit bin of match weight: ``lower``, ``upper``, ``pairs``, ``side``.

    ``side`` says whether the bin lies at or above the threshold's weight (a bin the threshold
    cuts through counts as below). Empty bins between the lowest and highest are kept.
    """
    values = np.asarray(weights, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return pd.DataFrame({"lower": [], "upper": [], "pairs": [], "side": []})
    lows = np.floor(values)
    first, last = int(lows.min()), int(lows.max())
    counts = pd.Series(lows.astype(int)).value_counts()
    lower = np.arange(first, last + 1)
    return bins_frame([(float(a), float(a + 1), int(counts.get(a, 0))) for a in lower], threshold)


def bins_frame(bins: Sequence[tuple[float, float, int]], threshold: float) -> pd.DataFrame:
    """Bins already counted (``(lower, upper, pairs)``) as the chart's table."""
    cut = probability_to_weight(threshold)
    return pd.DataFrame(
        {
            "lower": [float(a) for a, _, _ in bins],
            "upper": [float(b) for _, b, _ in bins],
            "pairs": [int(n) for _, _, n in bins],
            "side": [ABOVE if a >= cut else BELOW for a, _, _ in bins],
        }
    )


def level_parameters(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """Each non-null level's ``comparison``, ``level``, ``label``, ``m``, ``u``, ``weight``.

    ``rows``: one mapping per level with ``comparison``, ``level``, ``label``, ``kind``, ``m``
    and ``u``. The weight is ``log2(m / u)``; ``order`` keeps the model's order on the page.
    """
    kept = [dict(r) for r in rows if r["kind"] != "null"]
    frame = pd.DataFrame(kept, columns=["comparison", "level", "label", "kind", "m", "u"])
    frame["m"] = frame["m"].astype(float)
    frame["u"] = frame["u"].astype(float)
    frame["weight"] = np.log2(frame["m"] / frame["u"])
    frame["order"] = range(len(frame))
    # The label names the comparison in words ("date of birth: ..."); one used twice gets
    # its comparison's name added, so every row of the chart is its own.
    labels = frame["label"].astype(str)
    twice = labels.duplicated(keep=False)
    frame["row"] = [
        f"{lbl} ({c})" if dup else lbl
        for c, lbl, dup in zip(frame["comparison"], labels, twice, strict=True)
    ]
    return frame.drop(columns=["kind"])


def waterfall_steps(
    prior_weight: float,
    contributions: Sequence[tuple[str, float]],
    match_weight: float,
    start: str = "Starting point (prior)",
) -> pd.DataFrame:
    """A pair's weight built step by step: ``step``, ``label``, ``weight``, ``start``, ``end``,
    ``kind`` (``prior``, ``for``, ``against``, ``total``).

    Steps weighing (nearly) nothing are kept, so every comparison is named once. ``start``
    names the first step (a search starts from its own prior).
    """
    rows = [(start, prior_weight, "prior")]
    rows += [
        (label, weight, "for" if weight >= 0 else "against") for label, weight in contributions
    ]
    out = []
    running = 0.0
    for step, (label, weight, kind) in enumerate(rows):
        out.append(
            {
                "step": step,
                "label": label,
                "weight": weight,
                "start": running,
                "end": running + weight,
                "kind": kind,
            }
        )
        running += weight
    out.append(
        {
            "step": len(rows),
            "label": "Total: the match weight",
            "weight": match_weight,
            "start": 0.0,
            "end": match_weight,
            "kind": "total",
        }
    )
    return pd.DataFrame(out)


def threshold_sweep(
    probabilities: Sequence[float] | pd.Series,
    same: Sequence[bool] | pd.Series,
    *,
    true_pairs: int | None = None,
    thresholds: Sequence[float] = SWEEP,
) -> pd.DataFrame:
    """Precision, recall and F1 at each threshold: ``threshold``, ``measure``, ``value``,
    ``predicted`` (pairs at or above it), ``true_positives``.

    ``same``: whether each scored pair is one person. ``true_pairs``: all pairs that are one
    person, scored or not (the recall's denominator); None: the pairs ``same`` marks.
    Precision is left out (NaN) where no pair reaches the threshold.
    """
    p = np.asarray(probabilities, dtype=float)
    s = np.asarray(same, dtype=bool)
    total = int(s.sum()) if true_pairs is None else int(true_pairs)
    rows = []
    for cut in thresholds:
        at = p >= cut
        predicted = int(at.sum())
        tp = int((at & s).sum())
        precision = tp / predicted if predicted else math.nan
        recall = tp / total if total else math.nan
        f1 = 2 * tp / (predicted + total) if predicted + total else math.nan
        for measure, value in (("precision", precision), ("recall", recall), ("F1", f1)):
            rows.append(
                {
                    "threshold": float(cut),
                    "measure": measure,
                    "value": value,
                    "predicted": predicted,
                    "true_positives": tp,
                }
            )
    return pd.DataFrame(rows)


def cluster_sizes(entity_ids: Sequence[str] | pd.Series) -> pd.DataFrame:
    """Entities per size: ``size`` (records in the entity), ``entities``, ``records``."""
    sizes = pd.Series(entity_ids).value_counts()
    counts = sizes.value_counts().sort_index()
    return pd.DataFrame(
        {
            "size": counts.index.astype(int),
            "entities": counts.to_numpy().astype(int),
            "records": (counts.index * counts.to_numpy()).astype(int),
        }
    ).reset_index(drop=True)


def completeness(
    frame: pd.DataFrame, columns: Mapping[str, str], groups: Sequence[str] | pd.Series
) -> pd.DataFrame:
    """Share of records with a usable value, per field and group: ``field``, ``group``,
    ``records``, ``present``, ``share``.

    ``columns``: the field's name shown -> the column of ``frame`` holding its usable
    (standardised) value; a missing value or blank text counts as absent. ``groups``: each
    row's group (a source, an input), aligned with ``frame``.
    """
    group = pd.Series(list(groups), index=frame.index, dtype=str)
    rows = []
    for field, column in columns.items():
        if column not in frame.columns:
            continue
        values = frame[column]
        present = values.notna() & (values.astype(str).str.strip() != "")
        for name, members in present.groupby(group, sort=True):
            rows.append(
                {
                    "field": field,
                    "group": str(name),
                    "records": len(members),
                    "present": int(members.sum()),
                    "share": float(members.mean()),
                }
            )
    return pd.DataFrame(rows, columns=["field", "group", "records", "present", "share"])
