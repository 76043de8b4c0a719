"""Clustering: pairs at or above a threshold joined into entities.

:func:`constrained_components` is what runs: strongest links first, and no merge that would
put two records in conflict (a family guard, or a plainly different person) in one entity.
:func:`connected_components` is plain single linkage, kept as the reference: with no
conflicts the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "DisjointSets",
    "assign_entity_ids",
    "connected_components",
    "constrained_components",
    "entity_id",
]

NodeKey = tuple[str, str]
"""(input name, record id): record ids are unique only within one input."""


def entity_id(number: int, width: int = 6) -> str:
    """The id of entity ``number`` (1-based): ``E000001``; every entity id is made here."""
    return f"E{number:0{width}d}"


class DisjointSets:
    """Union-find over integer nodes, the smaller root kept, so that each set's root is its
    smallest node (its first in input order); nodes join when first named."""

    def __init__(self, n_nodes: int = 0) -> None:
        self.parent: dict[int, int] = {i: i for i in range(n_nodes)}

    def find(self, i: int) -> int:
        parent = self.parent
        root = parent.setdefault(i, i)
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:  # path compression
            parent[i], i = root, parent[i]
        return root

    def union(self, a: int, b: int) -> int:
        """Join the sets of ``a`` and ``b``; the root kept (the smaller)."""
        x, y = self.find(a), self.find(b)
        if x != y:
            self.parent[max(x, y)] = min(x, y)
        return min(x, y)

    def numbering(self, n_nodes: int) -> list[int]:
        """Each node's set number, 0-based, in order of each set's first node."""
        numbers: dict[int, int] = {}
        return [numbers.setdefault(self.find(i), len(numbers)) for i in range(n_nodes)]


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
    sets = DisjointSets(len(nodes))
    for left, right in edges:
        sets.union(index[left], index[right])
    return sets.numbering(len(nodes))


def assign_entity_ids(components: Sequence[int]) -> list[str]:
    """Entity ids ``E000001``... in order of each component's first record."""
    width = max(6, len(str(len(components))))
    return [entity_id(number + 1, width) for number in components]


def constrained_components(
    n_nodes: int,
    edges: Iterable[tuple[int, int]],
    conflict: Callable[[int, int], bool],
    *,
    linked: Callable[[int, int], bool] | None = None,
    veto: Callable[[int, int], bool] | None = None,
    max_check: int = 2_500,
) -> list[int]:
    """Clusters from edges taken strongest first, refusing merges that join two people.

    Plain connected components let one weak link chain two different people together
    (A-B and B-C above the threshold, A and C plainly different). Here two clusters merge
    only if no record of one is in ``conflict`` with a record of the other.

    Args:
        n_nodes: number of records; nodes are ``0 .. n_nodes - 1`` in input order.
        edges: pairs of node indices at or above the threshold, strongest first.
        conflict: whether two records must not share an entity.
        linked: whether two records are themselves an edge (scored at or above the
            threshold). When given, a merge is refused only if the cross pairs in conflict
            are at least as many as the linked cross pairs: two large groups of one person's
            records, joined by many links, are not kept apart by one or two poor records,
            while a lone chain (A-B, B-C linked, A-C in conflict) is still refused. When
            None, any conflict refuses the merge.
        veto: with ``linked``, conflicts that no number of links outvotes (the family
            guard: twins, parent and child); one such cross pair refuses the merge.
        max_check: merges needing more cross-pair checks than this are refused too.

    Returns:
        One component number per node, 0-based, in order of first appearance.
    """
    sets = DisjointSets(n_nodes)
    members: dict[int, list[int]] = {}
    for left, right in edges:
        a, b = sets.find(left), sets.find(right)
        if a == b:
            continue
        group_a, group_b = members.get(a, [a]), members.get(b, [b])
        if len(group_a) * len(group_b) > 1:
            if len(group_a) * len(group_b) > max_check:
                continue
            if linked is None:
                pairs = ((x, y) for x in group_a for y in group_b if {x, y} != {left, right})
                if any(conflict(x, y) for x, y in pairs):
                    continue
            elif _outvoted(group_a, group_b, conflict, linked, veto):
                continue
        root = sets.union(a, b)
        members[root] = group_a + group_b if root == a else group_b + group_a
        members.pop(max(a, b), None)
    return sets.numbering(n_nodes)


def _outvoted(
    group_a: Sequence[int],
    group_b: Sequence[int],
    conflict: Callable[[int, int], bool],
    linked: Callable[[int, int], bool],
    veto: Callable[[int, int], bool] | None,
) -> bool:
    """Whether the cross pairs in conflict are at least as many as the linked cross pairs.

    A linked pair in conflict (possible below a 0.5 threshold) counts against, not for;
    one vetoing pair outvotes every link.
    """
    pairs = [(x, y) for x in group_a for y in group_b]
    if veto is not None and any(veto(x, y) for x, y in pairs):
        return True
    links = [pair for pair in pairs if linked(*pair)]
    support = len(links)
    against = 0
    # Links first: each one in conflict moves a vote from support to against.
    for x, y in links + [pair for pair in pairs if not linked(*pair)]:
        if conflict(x, y):
            against += 1
            if linked(x, y):
                support -= 1
            if against >= support:
                return True
    return False
