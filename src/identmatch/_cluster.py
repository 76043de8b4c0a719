"""Clustering: pairs at or above a threshold joined into entities (connected components).

Splink clusters in SQL during a batch run (so it scales with the backend).
:func:`connected_components` is the in-process twin, used to re-cut results at another
threshold and as the reference the SQL path is tested against.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

__all__ = ["assign_entity_ids", "connected_components"]

NodeKey = tuple[str, str]
"""(input name, record id): record ids are unique only within one input."""


def connected_components(
    nodes: Sequence[NodeKey], edges: Iterable[tuple[NodeKey, NodeKey]]
) -> list[int]:
    """Component number for each node, numbered by each component's first node in ``nodes``.

    Args:
        nodes: every record, in input order.
        edges: pairs of records to join.

    Returns:
        One component number per node, 0-based, in order of first appearance.
    """
    index = {node: i for i, node in enumerate(nodes)}
    parent = list(range(len(nodes)))

    def find(i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:  # path compression
            parent[i], i = root, parent[i]
        return root

    for left, right in edges:
        a, b = find(index[left]), find(index[right])
        if a != b:
            # the smaller index becomes the root, so roots are each component's first node
            parent[max(a, b)] = min(a, b)
    roots = [find(i) for i in range(len(nodes))]
    numbering: dict[int, int] = {}
    return [numbering.setdefault(root, len(numbering)) for root in roots]


def assign_entity_ids(components: Sequence[int]) -> list[str]:
    """Entity ids ``E000001``... in order of each component's first record."""
    width = max(6, len(str(len(components))))
    return [f"E{number + 1:0{width}d}" for number in components]


def components_from_labels(labels: pd.Series[str]) -> list[int]:
    """Renumber arbitrary cluster labels 0.. in order of first appearance."""
    numbering: dict[str, int] = {}
    return [numbering.setdefault(str(label), len(numbering)) for label in labels]
