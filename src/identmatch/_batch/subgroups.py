"""Who we miss: pairwise precision and recall against truth, per group of people.

Linkage studies find missed links concentrated in some groups (ethnic-minority names, young
men); an overall recall hides that. Here every pair of records is counted once, as in
:func:`identmatch._batch.evaluate.pairwise_scores`, and given to groups:

- an attribute of the person (sex, age band, name origin, any column): each true person
  takes the most common known value among their records (the smallest on a tie; ``unknown``
  when none is known), and each record the value of its true person. A true pair, being one
  person, is in exactly one group, so the groups' true pairs add up to the overall count. A
  predicted pair counts in the group of each of its records: a false pair joining people of
  two groups counts in both (its precision is each group's concern), so false positives do
  not add up across groups.
- an attribute of the pair (``source``): each pair is named by its two records' values,
  ``"police - probation"`` (sorted), or ``"police"`` when both are the same; every pair is in
  exactly one group.

Everything is counted per block with pandas group-bys (no loop over pairs): blocks are true
persons (true pairs), predicted entities (predicted pairs) and their intersections (pairs
both true and predicted).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from identmatch._batch.evaluate import PairwiseScores
from identmatch._exceptions import SchemaError

if TYPE_CHECKING:
    import numpy.typing as npt

    IntArr = npt.NDArray[np.int64]
    ObjArr = npt.NDArray[np.object_]
    Labels = Sequence[Any] | pd.Series[Any] | npt.NDArray[Any]
    """One value per record: a list, a pandas Series or a numpy array."""

__all__ = [
    "AGE_AS_OF",
    "AGE_BANDS",
    "DEFAULT_BY",
    "RECALL_GAP",
    "UNKNOWN",
    "Evaluation",
    "GroupScores",
    "age_band",
    "age_bands",
    "group_order",
    "result_attributes",
    "subgroup_scores",
]

UNKNOWN: Final = "unknown"
"""The group of records whose value is missing."""
AGE_BANDS: Final = ("under 18", "18-24", "25-34", "35-49", "50-64", "65+")
_AGE_EDGES: Final = (18, 25, 35, 50, 65)
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
AGE_AS_OF: Final = dt.date(2026, 1, 1)
"""The fixed date ages are computed at, so a report reads the same whichever day it is run."""
RECALL_GAP: Final = 0.03
"""A group whose recall is more than this below the overall recall is flagged."""
DEFAULT_BY: Final = ("sex", "age_band", "source")
"""What a result is broken down by when nothing else is asked (``source`` where present)."""
PAIR_ATTRIBUTES: Final = ("source",)
"""Attributes that name a pair by both its records' values rather than by its person."""


class GroupScores(PairwiseScores, frozen=True, extra="forbid"):
    """Pairwise scores within one group: ``attribute`` (e.g. ``sex``) equal to ``group``.

    ``true_positives + false_negatives`` are the true pairs of people in the group;
    ``true_positives + false_positives`` the predicted pairs with a record in it.
    """

    attribute: str
    group: str


class Evaluation(BaseModel, frozen=True, extra="forbid"):
    """Pairwise precision and recall against truth, overall and per group of people.

    Print it for a table; :meth:`to_frame` gives the same as a DataFrame.
    """

    overall: PairwiseScores
    groups: tuple[GroupScores, ...]
    recall_gap: float = Field(default=RECALL_GAP, ge=0.0, le=1.0)
    """Groups whose recall is more than this below the overall recall are flagged."""

    @property
    def flagged(self) -> tuple[GroupScores, ...]:
        """Groups with true pairs whose recall is more than ``recall_gap`` below overall."""
        floor = self.overall.recall - self.recall_gap
        return tuple(g for g in self.groups if g.true_pairs and g.recall < floor - 1e-12)

    def group(self, attribute: str, group: str) -> GroupScores:
        """The scores of one group.

        Raises:
            KeyError: no pair fell in that group.
        """
        for item in self.groups:
            if (item.attribute, item.group) == (attribute, group):
                return item
        raise KeyError((attribute, group))

    def to_frame(self) -> pd.DataFrame:
        """One row per group: counts, recall, precision, F1 and whether it is flagged."""
        flagged = set(self.flagged)
        return pd.DataFrame(
            [
                {
                    "attribute": g.attribute,
                    "group": g.group,
                    "true_pairs": g.true_pairs,
                    "true_positives": g.true_positives,
                    "false_positives": g.false_positives,
                    "false_negatives": g.false_negatives,
                    "recall": g.recall,
                    "precision": g.precision,
                    "f1": g.f1,
                    "flagged": g in flagged,
                }
                for g in self.groups
            ],
            columns=[
                "attribute",
                "group",
                "true_pairs",
                "true_positives",
                "false_positives",
                "false_negatives",
                "recall",
                "precision",
                "f1",
                "flagged",
            ],
        )

    def __str__(self) -> str:
        o = self.overall
        lines = [
            f"Who we miss: pairwise recall and precision per group, against the truth "
            f"(overall recall {o.recall:.3f}, precision {o.precision:.3f}, "
            f"{o.true_pairs:,} true pairs)",
        ]
        rows = [("attribute", "group", "true pairs", "found", "recall", "precision", "")]
        flagged = set(self.flagged)
        for g in self.groups:
            below = o.recall - g.recall
            note = f"<- recall {below:.3f} below overall" if g in flagged else ""
            rows.append(
                (
                    g.attribute,
                    g.group,
                    f"{g.true_pairs:,}",
                    f"{g.true_positives:,}",
                    f"{g.recall:.3f}" if g.true_pairs else "-",
                    f"{g.precision:.3f}" if g.true_positives + g.false_positives else "-",
                    note,
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(6)]
        for row in rows:
            cells = [
                row[i].ljust(widths[i]) if i < 2 else row[i].rjust(widths[i]) for i in range(6)
            ]
            lines.append(("  " + "  ".join(cells) + ("  " + row[6] if row[6] else "")).rstrip())
        if flagged:
            lines.append(
                f"{len(flagged)} group(s) flagged: recall more than {self.recall_gap:g} below "
                "the overall recall."
            )
        lines.append(
            "A true pair counts in its person's group; a predicted pair in each of its records' "
            "groups; source pairs by both records' sources."
        )
        return "\n".join(lines)


def age_bands(dob: Labels, as_of: dt.date = AGE_AS_OF) -> pd.Series[Any]:
    """The age band at ``as_of`` of each ISO date of birth (``YYYY-MM-DD``).

    Bands are ``AGE_BANDS`` (under 18, 18-24, 25-34, 35-49, 50-64, 65+), whole years of age;
    ``unknown`` for a missing or unreadable date.
    """
    text = pd.Series(np.asarray(dob, dtype=object))
    iso = text.where(text.astype(str).str.fullmatch(_ISO_DATE.pattern), None)
    days = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
    known = days.notna().to_numpy()
    year = days.dt.year.fillna(0).to_numpy(dtype=np.int64)
    month_day = (days.dt.month * 100 + days.dt.day).fillna(0).to_numpy(dtype=np.int64)
    age = as_of.year - year - (month_day > as_of.month * 100 + as_of.day)
    bands = np.array(AGE_BANDS, dtype=object)[np.searchsorted(_AGE_EDGES, age, side="right")]
    bands[~known] = UNKNOWN
    return pd.Series(bands, dtype=object)


def age_band(dob: object, as_of: dt.date = AGE_AS_OF) -> str:
    """The age band at ``as_of`` of one ISO date of birth (``unknown`` if it is not one)."""
    try:
        iso = isinstance(dob, str) and _ISO_DATE.fullmatch(dob)
        born = dt.date.fromisoformat(dob) if iso and isinstance(dob, str) else None
    except ValueError:
        born = None
    if born is None:
        return UNKNOWN
    age = as_of.year - born.year - ((born.month, born.day) > (as_of.month, as_of.day))
    return AGE_BANDS[sum(age >= edge for edge in _AGE_EDGES)]


def group_order(group: str) -> tuple[bool, int, str]:
    """Sort key of a group: age bands youngest first, others by name, ``unknown`` last."""
    rank = AGE_BANDS.index(group) if group in AGE_BANDS else len(AGE_BANDS)
    return (group == UNKNOWN, rank, group)


def _text(values: Labels, n: int, name: str) -> ObjArr:
    """Values as trimmed text, missing or blank ones ``unknown``."""
    raw = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    series = pd.Series(np.asarray(raw, dtype=object))
    if len(series) != n:
        msg = f"{name} has {len(series)} values for {n} records; give one per record"
        raise SchemaError(msg)
    text = series.astype(str).str.strip()
    missing = series.isna().to_numpy() | (text == "").to_numpy()
    out = text.to_numpy(dtype=object)
    out[missing] = UNKNOWN
    return out


def _sorted_codes(text: ObjArr) -> tuple[IntArr, ObjArr]:
    """Codes of ``text`` numbered in sorted order of the values, and the values."""
    codes, names = pd.factorize(text, sort=True)
    return codes.astype(np.int64), np.asarray(names, dtype=object)


def _pairs(totals: pd.Series[Any], squares: pd.Series[Any] | None) -> pd.Series[Any]:
    """Pairs in each block of ``totals`` records: all of them, or only across inputs when
    ``squares`` (the sum over inputs of each input's count squared) is given."""
    if squares is None:
        return totals * (totals - 1) // 2
    return (totals**2 - squares) // 2


def _block_pairs(counts: pd.DataFrame, keys: list[str], inputs: bool) -> pd.Series[Any]:
    """Pairs per block ``keys`` from record counts ``n`` per (block, input ``i``)."""
    per = counts.groupby([*keys, "i"], sort=False)["n"].sum()
    level = list(range(len(keys)))
    totals = per.groupby(level=level, sort=False).sum()
    squares = (per**2).groupby(level=level, sort=False).sum() if inputs else None
    return _pairs(totals, squares)


def _person_values(truth: IntArr, values: ObjArr) -> tuple[IntArr, ObjArr]:
    """Per true person (code), the code of its most common known value; and the names."""
    codes, names = _sorted_codes(values)
    unknown = int(np.searchsorted(names, UNKNOWN)) if UNKNOWN in names else -1
    n_people = int(truth.max()) + 1 if truth.size else 0
    person = np.full(n_people, unknown, dtype=np.int64)
    if unknown < 0:
        names = np.append(names, UNKNOWN).astype(object)
        person[:] = names.size - 1
        unknown = names.size - 1
    known = codes != unknown
    counts = (
        pd.DataFrame({"t": truth[known], "v": codes[known]})
        .groupby(["t", "v"], sort=False)
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["t", "n", "v"], ascending=[True, False, True], kind="stable")
        .drop_duplicates("t")
    )
    person[counts["t"].to_numpy()] = counts["v"].to_numpy()
    return person, names.astype(object)


def _person_groups(
    counts: pd.DataFrame, person: IntArr, inputs: bool
) -> tuple[pd.Series[Any], pd.Series[Any], pd.Series[Any]]:
    """True pairs, true positives and predicted pairs touching each group (by value code).

    ``counts`` holds records per (true person ``t``, entity ``p``, input ``i``).
    """
    frame = counts.assign(g=person[counts["t"].to_numpy()])
    true = _block_pairs(frame, ["t"], inputs)
    true_by = true.groupby(person[true.index.to_numpy()]).sum()
    both = _block_pairs(frame, ["t", "p"], inputs)
    found_by = both.groupby(person[both.index.get_level_values(0).to_numpy()]).sum()
    # Predicted pairs with a record in group g, per entity: pairs(entity) - pairs(entity
    # without g); expanded, only the inputs holding g-records contribute (c_i > 0):
    # all: c(2C - c - 1) / 2; across inputs: (c(2C - c) - sum_i c_i(2C_i - c_i)) / 2.
    per_input = frame.groupby(["p", "i"], sort=False)["n"].sum().rename("C_i")
    cells = frame.groupby(["p", "g", "i"], sort=False)["n"].sum().rename("c_i").reset_index()
    cells = cells.join(per_input, on=["p", "i"])
    cells["C"] = cells["p"].map(per_input.groupby(level=0).sum())
    per = cells.groupby(["p", "g"], sort=False).agg(c=("c_i", "sum"), C=("C", "first"))
    if inputs:
        cells["within"] = cells["c_i"] * (2 * cells["C_i"] - cells["c_i"])
        within = cells.groupby(["p", "g"], sort=False)["within"].sum()
        touching = (per["c"] * (2 * per["C"] - per["c"]) - within) // 2
    else:
        touching = per["c"] * (2 * per["C"] - per["c"] - 1) // 2
    predicted_by = touching.groupby(level="g").sum()
    return true_by, found_by, predicted_by


def _labelled_pairs(cells: pd.DataFrame, keys: list[str], inputs: bool) -> pd.Series[Any]:
    """Pairs per (lower, higher) value code, from record counts ``n`` per (block, ``i``, ``v``).

    Each block's cells are joined with themselves: blocks hold few distinct (input, value)
    cells, so this stays near the number of records.
    """
    size = cells.groupby(keys, sort=False)["n"].transform("sum")
    cells = cells[size.to_numpy() > 1]
    n_values = int(cells["v"].max()) + 1 if len(cells) else 1
    frame = pd.DataFrame(
        {
            "k": cells.groupby(keys, sort=False).ngroup().to_numpy(),
            "cell": (cells["i"] * n_values + cells["v"]).to_numpy(),
            "i": cells["i"].to_numpy(),
            "v": cells["v"].to_numpy(),
            "n": cells["n"].to_numpy(),
        }
    )
    joined = frame.merge(frame, on="k", suffixes=("_a", "_b"))
    joined = joined[joined["cell_a"] <= joined["cell_b"]]
    n_a, n_b = joined["n_a"].to_numpy(), joined["n_b"].to_numpy()
    same_cell = (joined["cell_a"] == joined["cell_b"]).to_numpy()
    pairs = np.where(same_cell, n_a * (n_a - 1) // 2, n_a * n_b)
    if inputs:
        pairs[(joined["i_a"] == joined["i_b"]).to_numpy()] = 0
    v_a, v_b = joined["v_a"].to_numpy(), joined["v_b"].to_numpy()
    return (
        pd.Series(pairs)
        .groupby([np.minimum(v_a, v_b), np.maximum(v_a, v_b)])
        .sum()
        .astype(np.int64)
    )


def _pair_groups(
    base: pd.DataFrame, codes: IntArr, inputs: bool
) -> tuple[pd.Series[Any], pd.Series[Any], pd.Series[Any]]:
    """True, true-positive and predicted pairs per (lower, higher) value code of the pair."""
    cells = (
        base.assign(v=codes)
        .groupby(["t", "p", "i", "v"], sort=False)
        .size()
        .rename("n")
        .reset_index()
    )
    t_cells = cells.groupby(["t", "i", "v"], sort=False)["n"].sum().reset_index()
    p_cells = cells.groupby(["p", "i", "v"], sort=False)["n"].sum().reset_index()
    return (
        _labelled_pairs(t_cells, ["t"], inputs),
        _labelled_pairs(cells, ["t", "p"], inputs),
        _labelled_pairs(p_cells, ["p"], inputs),
    )


def _scores(
    attribute: str,
    labels: Mapping[Any, str],
    true: pd.Series[Any],
    found: pd.Series[Any],
    predicted: pd.Series[Any],
) -> list[GroupScores]:
    out = []
    for key in sorted(set(true.index) | set(predicted.index)):
        t, f, p = int(true.get(key, 0)), int(found.get(key, 0)), int(predicted.get(key, 0))
        if t == p == 0:
            continue
        out.append(
            GroupScores(
                attribute=attribute,
                group=labels[key],
                true_positives=f,
                false_positives=p - f,
                false_negatives=t - f,
            )
        )
    return sorted(out, key=lambda g: group_order(g.group))


def _codes(values: Labels, n: int, name: str) -> IntArr:
    """Integer codes of labels; a missing label is a code of its own (a person of its own)."""
    raw = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    array = np.asarray(raw, dtype=object)
    if array.size != n:
        msg = f"{name} has {array.size} values for {n} records; give one per record"
        raise SchemaError(msg)
    codes, _ = pd.factorize(pd.Series(array).astype(object), use_na_sentinel=True)
    codes = codes.astype(np.int64)
    missing = codes < 0
    codes[missing] = codes.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    return codes


def subgroup_scores(
    predicted: Labels,
    truth: Labels,
    attributes: Mapping[str, Labels],
    *,
    inputs: Labels | None = None,
    pair_attributes: Collection[str] = PAIR_ATTRIBUTES,
    recall_gap: float = RECALL_GAP,
) -> Evaluation:
    """Pairwise precision, recall and F1, overall and per group of each attribute.

    Args:
        predicted: a cluster label per record (e.g. ``entity_id``).
        truth: the true person per record, aligned with ``predicted``; a missing label is
            a person of its own.
        attributes: name -> a value per record (missing: ``unknown``), e.g.
            ``{"sex": ..., "origin": ...}``. An attribute is the person's (see the module
            docstring) unless named in ``pair_attributes``.
        inputs: for a link, the input each record came from; only pairs across inputs count
            (as ``groups=`` of :func:`pairwise_scores`).
        pair_attributes: attributes that name a pair by both its records' values
            (``"police - probation"``), e.g. the source.
        recall_gap: flag groups whose recall is more than this below the overall recall.

    Example::

        found = subgroup_scores(result.entities["entity_id"], result.entities["person_id"],
                                {"origin": result.entities["origin"]})
        print(found)            # a table; found.flagged lists the groups we miss

    Raises:
        SchemaError: a column's length differs from the records'.
    """
    pred = _codes(predicted, len(predicted), "predicted")
    n = pred.size
    people = _codes(truth, n, "truth")
    across = inputs is not None
    input_codes = _codes(inputs, n, "inputs") if inputs is not None else np.zeros(n, np.int64)
    base = pd.DataFrame({"t": people, "p": pred, "i": input_codes})
    counts = base.groupby(["t", "p", "i"], sort=False).size().rename("n").reset_index()
    true_pairs = int(_block_pairs(counts, ["t"], across).sum())
    found = int(_block_pairs(counts, ["t", "p"], across).sum())
    predicted_pairs = int(_block_pairs(counts, ["p"], across).sum())
    overall = PairwiseScores(
        true_positives=found,
        false_positives=predicted_pairs - found,
        false_negatives=true_pairs - found,
    )
    groups: list[GroupScores] = []
    labels: dict[Any, str]
    for name, values in attributes.items():
        text = _text(values, n, name)
        if name in pair_attributes:
            inverse, names = _sorted_codes(text)
            true, both, pred_pairs = _pair_groups(base, inverse, across)
            keys = set(true.index) | set(pred_pairs.index)
            labels = {
                (a, b): str(names[a]) if a == b else f"{names[a]} - {names[b]}" for a, b in keys
            }
        else:
            person, names = _person_values(people, text)
            true, both, pred_pairs = _person_groups(counts, person, across)
            labels = {code: str(names[code]) for code in range(names.size)}
        groups += _scores(name, labels, true, both, pred_pairs)
    return Evaluation(overall=overall, groups=tuple(groups), recall_gap=recall_gap)


def result_attributes(
    entities: pd.DataFrame,
    prepared: Sequence[pd.DataFrame],
    by: Sequence[str],
    *,
    as_of: dt.date = AGE_AS_OF,
) -> dict[str, pd.Series[Any]]:
    """Each of ``by`` per row of a result's ``entities``.

    ``sex`` is the standardised sex and ``age_band`` the band of the standardised date of
    birth at ``as_of`` (both from the prepared records); any other name is a column of
    ``entities`` (the input's own columns pass through, e.g. ``source`` or ``origin``).

    Raises:
        SchemaError: a name is neither ``sex``, ``age_band`` nor a column of ``entities``.
    """
    standard = {"sex", "age_band"} & set(by)
    out: dict[str, pd.Series[Any]] = {}
    if standard:
        found = _prepared_columns(entities, prepared)
        if "sex" in standard:
            out["sex"] = found["sex_std"]
        if "age_band" in standard:
            out["age_band"] = age_bands(found["dob"], as_of)
    for name in by:
        if name in out:
            continue
        if name not in entities.columns:
            columns = ", ".join(str(c) for c in entities.columns)
            msg = (
                f"cannot break down by {name!r}: it is neither sex, age_band nor a column of "
                f"the input (columns: {columns})"
            )
            raise SchemaError(msg)
        out[name] = entities[name].reset_index(drop=True)
    return {name: out[name] for name in by}


def _prepared_columns(entities: pd.DataFrame, prepared: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The standardised ``dob`` and ``sex_std`` of each entities row (missing when unknown)."""
    linked = "input" in entities.columns and len(prepared) == 2
    names = ("left", "right") if linked else ("input",) * len(prepared)
    parts = []
    for name, frame in zip(names, prepared, strict=True):
        part = pd.DataFrame({"__input": name, "__id": frame["unique_id"].astype(str)})
        for column in ("dob", "sex_std"):
            part[column] = frame[column].to_numpy() if column in frame.columns else None
        parts.append(part)
    wanted = pd.DataFrame(
        {
            "__input": entities["input"].astype(str).to_numpy() if linked else "input",
            "__id": entities["record_id"].astype(str).to_numpy(),
        }
    )
    if not parts:
        return wanted.assign(dob=None, sex_std=None)
    known = pd.concat(parts, ignore_index=True).drop_duplicates(["__input", "__id"])
    return wanted.merge(known, on=["__input", "__id"], how="left")
