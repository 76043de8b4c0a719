"""The data of a run's charts: what ``Result``'s ``*_chart`` methods draw.

Turns a run's pairs, entities, prepared columns, decisions and blocking report into the plain
tables of ``identmatch._charts.data`` (labels of pairs against truth or decisions, the usable
values per field and source), then builds the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from identmatch._batch.decisions import Decisions
from identmatch._candidates.blocking import BlockingReport
from identmatch._charts import data, specs
from identmatch._exceptions import ConfigError, SchemaError

if TYPE_CHECKING:
    import altair as alt

__all__ = [
    "USABLE_FIELDS",
    "completeness_chart",
    "rule_pairs_chart",
    "threshold_chart",
    "truth_labels",
]

USABLE_FIELDS = {
    "forename": ("forename", "forename_std"),
    "middle names": ("middle_names", "middle_std"),
    "surname": ("surname", "surname_std"),
    "date of birth": ("dob", "dob"),
    "sex": ("sex", "sex_std"),
    "postcode": ("postcode", "postcode_std"),
    "NHS number": ("nhs_number", "nhs_std"),
}
"""A field's name on the chart -> (its input column, the prepared column of its usable value)."""


def _keys(pairs: pd.DataFrame, side: str, linked: bool) -> list[tuple[str, str]]:
    ids = pairs[f"record_id_{side}"].astype(str)
    inputs = pairs[f"input_{side}"].astype(str) if linked else pd.Series(["input"] * len(ids))
    return list(zip(inputs, ids, strict=True))


def truth_labels(
    entities: pd.DataFrame, pairs: pd.DataFrame, truth: Any, linked: bool
) -> tuple[list[bool], int]:
    """Whether each scored pair is one person by ``truth``, and how many true pairs there are
    in all (scored or not; for a link, across the two inputs only)."""
    if isinstance(truth, str):
        if truth not in entities.columns:
            msg = f"the truth column {truth!r} is not a column of the input"
            raise SchemaError(msg)
        labels = entities[truth]
    else:
        labels = pd.Series(list(truth))
        if len(labels) != len(entities):
            msg = f"truth has {len(labels)} labels; the input has {len(entities)} records"
            raise SchemaError(msg)
    labels = pd.Series(labels.to_numpy(), index=entities.index)
    known = labels.notna() & (labels.astype(str).str.strip() != "")
    inputs = entities["input"].astype(str) if linked else pd.Series("input", index=entities.index)
    person = {
        (i, str(r)): str(v)
        for i, r, v, k in zip(inputs, entities["record_id"], labels, known, strict=True)
        if k
    }
    same = [
        a in person and b in person and person[a] == person[b]
        for a, b in zip(_keys(pairs, "l", linked), _keys(pairs, "r", linked), strict=True)
    ]
    kept = labels[known].astype(str)
    if linked:
        left = kept[inputs[known] == "left"].value_counts()
        right = kept[inputs[known] == "right"].value_counts()
        true_pairs = int((left * right.reindex(left.index, fill_value=0)).sum())
    else:
        sizes = kept.value_counts()
        true_pairs = int((sizes * (sizes - 1) // 2).sum())
    return same, true_pairs


def threshold_chart(
    *,
    entities: pd.DataFrame,
    pairs: pd.DataFrame,
    decisions: Decisions,
    truth: str | Sequence[Any] | pd.Series[Any] | None,
    threshold: float,
    linked: bool,
) -> alt.LayerChart:
    """Precision, recall and F1 against the threshold, from truth or from the decisions."""
    if truth is not None:
        same, true_pairs = truth_labels(entities, pairs, truth, linked)
        sweep = data.threshold_sweep(pairs["match_probability"], same, true_pairs=true_pairs)
        return specs.threshold_chart(sweep, threshold, "Precision and recall against truth")
    probabilities, labels = decision_labels(pairs, decisions)
    if not labels:
        msg = "threshold_chart needs truth= (a column or one label per record) or decisions"
        raise ConfigError(msg)
    sweep = data.threshold_sweep(probabilities, labels)
    title = f"Precision and recall on {len(labels)} decided pairs"
    return specs.threshold_chart(sweep, threshold, title)


def decision_labels(pairs: pd.DataFrame, decisions: Decisions) -> tuple[list[float], list[bool]]:
    """Each same/different decision as (the pair's match probability, same?).

    A decided pair the run did not keep (scored below the pair floor, or never compared)
    counts at probability 0: below every threshold.
    """
    scored: dict[tuple[str, str], float] = {}
    for a, b, p in zip(
        pairs["record_id_l"].astype(str),
        pairs["record_id_r"].astype(str),
        pairs["match_probability"],
        strict=True,
    ):
        scored[(a, b)] = scored[(b, a)] = float(p)
    probabilities, labels = [], []
    for (_, a, _, b), decision in sorted(decisions.latest.items()):
        if decision == "unsure":
            continue
        probabilities.append(scored.get((a, b), 0.0))
        labels.append(decision == "same")
    return probabilities, labels


def rule_pairs_chart(blocking: BlockingReport | None) -> alt.LayerChart:
    """Pairs per candidate rule, from the run's blocking report."""
    if blocking is None:
        msg = "this run did not count pairs per rule (ModelConfig.count_blocked_pairs is off)"
        raise ConfigError(msg)
    rules = pd.DataFrame(
        {
            "rule": [r.rule for r in blocking.rules],
            "new_pairs": [r.new_pairs for r in blocking.rules],
        }
    )
    return specs.rule_pairs_chart(rules)


def completeness_chart(
    entities: pd.DataFrame, prepared: list[pd.DataFrame], linked: bool
) -> alt.LayerChart:
    """Share of usable values per field (after standardising) and per source."""
    frame = pd.concat(prepared, ignore_index=True) if prepared else pd.DataFrame()
    if len(frame) != len(entities):
        msg = "this result holds no prepared records to count usable values in"
        raise ConfigError(msg)
    columns = {
        field: usable
        for field, (given, usable) in USABLE_FIELDS.items()
        if given in entities.columns or (usable in frame.columns and frame[usable].notna().any())
    }
    if "source" in entities.columns:
        groups, title = entities["source"].fillna("(none)").astype(str), "source"
    elif linked:
        groups, title = entities["input"].astype(str), "input"
    else:
        groups, title = pd.Series("all records", index=entities.index), "input"
    table = data.completeness(frame, columns, list(groups))
    return specs.completeness_chart(table, title)
