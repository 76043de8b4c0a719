"""Accuracy against the truth: pairwise scores, best threshold, blocking recall, error types.

All pairwise figures count each pair of records once; for a link only pairs across the two
inputs count. Clusters are scored with ``identmatch.testing.pairwise_scores``. Blocking recall
(pair completeness) is exact where a system lists every pair it compared
(:func:`candidates_present`), else a lower bound from the pairs it kept (:func:`pairs_present`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from benchmarks.clusters import cut, record_keys
from identmatch.testing import pairwise_scores

if TYPE_CHECKING:
    import numpy.typing as npt

    IntArr = npt.NDArray[np.int64]

__all__ = [
    "THRESHOLDS",
    "Scores",
    "best_threshold",
    "candidate_frame",
    "candidates_present",
    "error_type_recall",
    "hard_negative_rates",
    "pair_codes",
    "pairs_present",
    "score_clusters",
    "true_pair_codes",
]

THRESHOLDS = (
    0.01,
    0.05,
    0.1,
    0.2,
    0.3,
    0.4,
    0.5,
    0.6,
    0.7,
    0.8,
    0.9,
    0.95,
    0.98,
    0.99,
    0.995,
    0.999,
    0.9999,
)
"""Match probabilities tried in the label-tuned best-threshold search."""


@dataclass(frozen=True)
class Scores:
    """Pairwise precision, recall and F1 of one clustering, with its threshold."""

    threshold: float
    precision: float
    recall: float
    f1: float
    true_positives: int
    false_positives: int
    false_negatives: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_clusters(records: pd.DataFrame, entity_ids: pd.Series[Any], threshold: float) -> Scores:
    """Score cluster labels (aligned with ``records``) against ``records["truth"]``."""
    linked = records["input"].nunique() > 1
    raw = pairwise_scores(
        entity_ids.to_numpy(),
        records["truth"].to_numpy(),
        groups=records["input"].to_numpy() if linked else None,
    )
    return Scores(
        threshold=threshold,
        precision=raw.precision,
        recall=raw.recall,
        f1=raw.f1,
        true_positives=raw.true_positives,
        false_positives=raw.false_positives,
        false_negatives=raw.false_negatives,
    )


def best_threshold(
    records: pd.DataFrame, pairs: pd.DataFrame, floor: float = 0.0
) -> tuple[Scores, dict[float, float]]:
    """The threshold of :data:`THRESHOLDS` (at or above ``floor``) with the best F1.

    Label-tuned: it looks at the truth. Returns the best scores and F1 per threshold tried.
    """
    curve: dict[float, float] = {}
    best: Scores | None = None
    for threshold in THRESHOLDS:
        if threshold < floor:
            continue
        scores = score_clusters(records, cut(records, pairs, threshold), threshold)
        curve[threshold] = scores.f1
        if best is None or scores.f1 > best.f1:
            best = scores
    if best is None:
        msg = f"no threshold in THRESHOLDS is at or above the pair floor {floor}"
        raise ValueError(msg)
    return best, curve


def pair_codes(left: IntArr, right: IntArr, n_nodes: int) -> IntArr:
    """One int64 per unordered pair of node indices."""
    low, high = np.minimum(left, right), np.maximum(left, right)
    codes: IntArr = low * np.int64(n_nodes) + high
    return codes


def true_pair_codes(records: pd.DataFrame) -> tuple[IntArr, IntArr]:
    """Node indices (rows of ``records``) of every true pair; only across inputs for a link."""
    linked = records["input"].nunique() > 1
    nodes = pd.DataFrame(
        {
            "node": np.arange(len(records), dtype=np.int64),
            "truth": records["truth"].astype(str).to_numpy(),
            "input": records["input"].astype(str).to_numpy(),
        }
    )
    sizes = nodes.groupby("truth")["node"].transform("size")
    nodes = nodes[sizes > 1]
    both = nodes.merge(nodes, on="truth", suffixes=("_l", "_r"))
    if linked:
        both = both[(both["input_l"] == "left") & (both["input_r"] == "right")]
    else:
        both = both[both["node_l"] < both["node_r"]]
    return both["node_l"].to_numpy(np.int64), both["node_r"].to_numpy(np.int64)


def pairs_present(records: pd.DataFrame, pairs: pd.DataFrame, true_pairs: IntArr) -> int:
    """How many of the true pairs (as :func:`pair_codes`) appear among ``pairs``."""
    index = pd.Index(record_keys(records))
    left = index.get_indexer(record_keys(pairs, "_l")).astype(np.int64)
    right = index.get_indexer(record_keys(pairs, "_r")).astype(np.int64)
    known = (left >= 0) & (right >= 0)
    codes = pair_codes(left[known], right[known], len(records))
    return int(np.isin(true_pairs, codes).sum())


CALIBRATION_BINS = 10


def calibration(records: pd.DataFrame, pairs: pd.DataFrame, true_pairs: IntArr) -> dict[str, Any]:
    """Reliability of the match probabilities of every pair written (``pairs``).

    Ten equal-width bins of the probability in [0, 1]; per bin the pairs, their mean
    probability and the share that are the same person; the expected calibration error is
    the pairs-weighted mean absolute gap over the bins.
    """
    index = pd.Index(record_keys(records))
    left = index.get_indexer(record_keys(pairs, "_l")).astype(np.int64)
    right = index.get_indexer(record_keys(pairs, "_r")).astype(np.int64)
    known = (left >= 0) & (right >= 0)
    codes = pair_codes(left[known], right[known], len(records))
    same = np.isin(codes, true_pairs)
    probability = pairs["match_probability"].to_numpy(dtype=float)[known]
    which = np.clip((probability * CALIBRATION_BINS).astype(np.int64), 0, CALIBRATION_BINS - 1)
    bins = []
    gap = 0.0
    for b in range(CALIBRATION_BINS):
        inside = which == b
        n = int(inside.sum())
        if n == 0:
            bins.append([b / CALIBRATION_BINS, (b + 1) / CALIBRATION_BINS, 0, None, None])
            continue
        mean_p, share = float(probability[inside].mean()), float(same[inside].mean())
        gap += n * abs(mean_p - share)
        bins.append([b / CALIBRATION_BINS, (b + 1) / CALIBRATION_BINS, n, mean_p, share])
    total = int(known.sum())
    return {"ece": gap / total if total else None, "pairs": total, "bins": bins}


PAIR_KEYS = ["input_l", "record_id_l", "input_r", "record_id_r"]
"""The columns naming one pair of records: each side's input and record id."""


def candidate_frame(candidates: pd.DataFrame, inputs: tuple[str, ...]) -> pd.DataFrame:
    """A system's compared pairs as :data:`PAIR_KEYS`, ids as text.

    Args:
        candidates: ``record_id_l``, ``record_id_r`` and, for a link, ``input_l`` and
            ``input_r`` naming each side's input (identmatch's ``Result.candidates``).
        inputs: the dataset's input names; a dedupe's one input is used for both sides when
            the frame has no ``input`` columns.
    """
    out = pd.DataFrame(
        {
            "record_id_l": candidates["record_id_l"].astype(str).to_numpy(),
            "record_id_r": candidates["record_id_r"].astype(str).to_numpy(),
        }
    )
    for side in ("_l", "_r"):
        column = f"input{side}"
        if column in candidates.columns:
            out[column] = candidates[column].astype(str).to_numpy()
        elif len(inputs) == 1:
            out[column] = inputs[0]
        else:
            msg = f"candidates of a link need {column} to say which input each id is from"
            raise ValueError(msg)
    return out[PAIR_KEYS]


def candidates_present(candidates: pd.DataFrame, true_pairs: pd.DataFrame) -> int:
    """How many of ``true_pairs`` are among ``candidates``, either way round.

    Both frames have :data:`PAIR_KEYS`; ``true_pairs`` lists each true pair once and
    ``candidates`` every pair compared (duplicates are harmless). Divided by the number of
    true pairs this is exact blocking recall (pair completeness). Records in no true pair
    cannot complete one, so only the true pairs' records are indexed.
    """
    if true_pairs.empty or candidates.empty:
        return 0
    inputs = np.concatenate([true_pairs["input_l"], true_pairs["input_r"]]).astype(str)
    ids = np.concatenate([true_pairs["record_id_l"], true_pairs["record_id_r"]]).astype(str)
    lookup: dict[str, pd.Index[str]] = {}
    offset: dict[str, int] = {}
    n_nodes = 0
    for name in np.unique(inputs).tolist():
        lookup[name] = pd.Index(np.unique(ids[inputs == name]))
        offset[name] = n_nodes
        n_nodes += len(lookup[name])

    def nodes(frame: pd.DataFrame, side: str) -> IntArr:
        names = frame[f"input{side}"].astype(str).to_numpy()
        values = frame[f"record_id{side}"].astype(str).to_numpy()
        out = np.full(len(frame), -1, dtype=np.int64)
        for name, index in lookup.items():
            mask = names == name
            found = index.get_indexer(values[mask]).astype(np.int64)
            out[mask] = np.where(found >= 0, found + offset[name], -1)
        return out

    true_codes = pair_codes(nodes(true_pairs, "_l"), nodes(true_pairs, "_r"), n_nodes)
    left, right = nodes(candidates, "_l"), nodes(candidates, "_r")
    known = (left >= 0) & (right >= 0) & (left != right)
    compared = pair_codes(left[known], right[known], n_nodes)
    return int(np.isin(np.unique(true_codes), compared).sum())


def error_type_recall(
    records: pd.DataFrame, entity_ids: pd.Series[Any], true_l: IntArr, true_r: IntArr
) -> dict[str, dict[str, float]]:
    """Recall of true pairs involving a record with each error type (``a+b`` counts for both).

    "original" counts pairs where both records are error-free.
    """
    found = entity_ids.to_numpy()[true_l] == entity_ids.to_numpy()[true_r]
    types = records["error_type"].astype(str).to_numpy()
    frame = pd.DataFrame({"pair": np.arange(true_l.size), "l": types[true_l], "r": types[true_r]})
    clean = (frame["l"] == "original") & (frame["r"] == "original")
    labels = (frame["l"] + "+" + frame["r"]).str.split("+")
    exploded = pd.DataFrame({"pair": frame["pair"], "type": labels}).explode("type")
    exploded = exploded[exploded["type"] != "original"].drop_duplicates()
    out: dict[str, dict[str, float]] = {}
    if clean.any():
        out["original"] = {"pairs": int(clean.sum()), "recall": float(found[clean].mean())}
    for name, group in exploded.groupby("type", sort=True):
        hit = found[group["pair"].to_numpy()]
        out[str(name)] = {"pairs": len(group), "recall": float(hit.mean())}
    return out


def hard_negative_rates(
    records: pd.DataFrame, entity_ids: pd.Series[Any], people: pd.DataFrame
) -> dict[str, dict[str, float]]:
    """Share of record pairs of hard-negative partners (two people) put in one entity.

    Args:
        records: with ``truth`` (person_id); aligned with ``entity_ids``.
        entity_ids: the predicted entity of each record.
        people: ``person_id``, ``hard_negative`` (kind) and ``hard_negative_partner``.
    """
    partners = people.dropna(subset=["hard_negative_partner"])
    partners = partners[partners["person_id"] < partners["hard_negative_partner"]]
    nodes = pd.DataFrame(
        {"person": records["truth"].astype(str).to_numpy(), "entity": entity_ids.to_numpy()}
    )
    left = partners.merge(nodes, left_on="person_id", right_on="person")
    both = left.merge(
        nodes, left_on="hard_negative_partner", right_on="person", suffixes=("_a", "_b")
    )
    both["merged"] = both["entity_a"] == both["entity_b"]
    out: dict[str, dict[str, float]] = {}
    groups = [("all", both), *both.groupby("hard_negative", sort=True)]
    for kind, group in groups:
        per_person = group.groupby(["person_id", "hard_negative_partner"])["merged"].any()
        out[str(kind)] = {
            "person_pairs": len(per_person),
            "person_pairs_merged": int(per_person.sum()),
            "record_pairs": len(group),
            "record_pairs_merged": int(group["merged"].sum()),
            "rate": float(group["merged"].mean()) if len(group) else 0.0,
        }
    return out
