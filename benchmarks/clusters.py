"""Connected components of scored pairs, vectorised, to re-cut any system's clusters.

Every system's pairs are cut the same way here (pairs at or above a match probability join
records into one entity), so the best-threshold search treats all systems alike. Records are
keyed by ``input`` and ``record_id`` so a link's two files may reuse an id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import numpy.typing as npt

    IntArr = npt.NDArray[np.int64]

__all__ = ["components", "cut", "record_keys"]


def record_keys(frame: pd.DataFrame, side: str = "") -> pd.Series[str]:
    """``input`` and ``record_id`` (suffixed by ``side``, e.g. ``_l``) as one string key."""
    return (
        frame[f"input{side}"].astype(str) + "\x1f" + frame[f"record_id{side}"].astype(str)
    ).rename("key")


def components(n_nodes: int, left: IntArr, right: IntArr) -> IntArr:
    """Component label (the smallest node index in it) for nodes ``0..n_nodes-1``.

    Min-label propagation with pointer jumping: each round every edge pulls both ends to the
    smaller label, then labels follow their own labels to a fixed point.
    """
    labels = np.arange(n_nodes, dtype=np.int64)
    if left.size == 0:
        return labels
    while True:
        low = np.minimum(labels[left], labels[right])
        before = labels.copy()
        np.minimum.at(labels, left, low)
        np.minimum.at(labels, right, low)
        while True:  # pointer jumping: a label's label is a smaller (or equal) node
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(before, labels):
            return labels


def cut(records: pd.DataFrame, pairs: pd.DataFrame, threshold: float) -> pd.Series[str]:
    """Entity label per row of ``records`` from the ``pairs`` with probability >= threshold.

    Args:
        records: one row per record, with ``input`` and ``record_id``.
        pairs: ``input_l``, ``record_id_l``, ``input_r``, ``record_id_r``, ``match_probability``.
        threshold: match probability in [0, 1].
    """
    keys = record_keys(records)
    index = pd.Index(keys)
    strong = pairs[pairs["match_probability"] >= threshold]
    left = index.get_indexer(record_keys(strong, "_l")).astype(np.int64)
    right = index.get_indexer(record_keys(strong, "_r")).astype(np.int64)
    known = (left >= 0) & (right >= 0)
    labels = components(len(records), left[known], right[known])
    return pd.Series(labels.astype(str), index=records.index, name="entity_id")
