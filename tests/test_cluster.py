"""Clustering: connected components, entity ids, and thresholds that only ever split."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from identmatch._batch.cluster import (
    assign_entity_ids,
    connected_components,
    constrained_components,
)
from identmatch._batch.evaluate import pairwise_scores

Node = tuple[str, str]


def nodes_of(n: int) -> list[Node]:
    return [("input", str(i)) for i in range(n)]


def test_chain_joins_into_one_component() -> None:
    """Edges a-b and b-c put a, b and c in one component; d stays alone."""
    nodes = nodes_of(4)
    components = connected_components(nodes, [(nodes[0], nodes[1]), (nodes[1], nodes[2])])
    assert components == [0, 0, 0, 1]


def test_entity_ids_follow_first_appearance() -> None:
    """Entity ids are numbered in order of each component's first record."""
    assert assign_entity_ids([0, 1, 0, 2]) == ["E000001", "E000002", "E000001", "E000003"]


def _pairs(*pairs: tuple[int, int]) -> set[frozenset[int]]:
    return {frozenset(p) for p in pairs}


class TestChainGuard:
    """Links taken strongest first; merges that would join two people are refused."""

    def test_lone_chain_through_one_record_is_refused(self) -> None:
        """A-B and B-C linked, A-C in conflict (twins and a record matching both): A, C apart."""
        conflicts = _pairs((0, 2))
        links = _pairs((0, 1), (1, 2))
        components = constrained_components(
            3,
            [(0, 1), (1, 2)],
            lambda a, b: frozenset((a, b)) in conflicts,
            linked=lambda a, b: frozenset((a, b)) in links,
        )
        assert components[0] != components[2]

    def test_two_groups_with_many_links_merge_despite_one_poor_record(self) -> None:
        """Groups {0,1,2} and {3,4} share four links and one conflict (0-4): they merge."""
        links = _pairs((0, 1), (1, 2), (0, 2), (3, 4), (1, 3), (2, 3), (1, 4), (2, 4))
        conflicts = _pairs((0, 4))
        edges = [(0, 1), (1, 2), (0, 2), (3, 4), (1, 3), (2, 3), (1, 4), (2, 4)]
        guarded = constrained_components(
            5,
            edges,
            lambda a, b: frozenset((a, b)) in conflicts,
            linked=lambda a, b: frozenset((a, b)) in links,
        )
        assert len(set(guarded)) == 1
        strict = constrained_components(5, edges, lambda a, b: frozenset((a, b)) in conflicts)
        assert len(set(strict)) == 2  # the any-conflict rule keeps them apart

    def test_as_many_conflicts_as_links_is_refused(self) -> None:
        """Father {0,1} and son {2} joined by one link, with the other pair in conflict."""
        links = _pairs((0, 1), (1, 2))
        conflicts = _pairs((0, 2))
        components = constrained_components(
            3,
            [(0, 1), (1, 2)],
            lambda a, b: frozenset((a, b)) in conflicts,
            linked=lambda a, b: frozenset((a, b)) in links,
        )
        assert components == [0, 0, 1]

    def test_without_conflicts_it_is_connected_components(self) -> None:
        """No conflicts: the same clusters as plain single linkage."""
        edges = [(0, 1), (2, 3), (1, 2), (4, 5)]
        nodes = nodes_of(6)
        plain = connected_components(nodes, [(nodes[a], nodes[b]) for a, b in edges])
        links = {frozenset(e) for e in edges}
        guarded = constrained_components(
            6, edges, lambda a, b: False, linked=lambda a, b: frozenset((a, b)) in links
        )
        assert guarded == plain


edges = st.lists(
    st.tuples(st.integers(0, 29), st.integers(0, 29), st.floats(0.0, 1.0, allow_nan=False)),
    max_size=60,
)


def cut(weighted: list[tuple[int, int, float]], threshold: float) -> list[int]:
    nodes = nodes_of(30)
    return connected_components(
        nodes, [(nodes[a], nodes[b]) for a, b, p in weighted if p >= threshold]
    )


@given(weighted=edges, low=st.floats(0.01, 0.99), high=st.floats(0.01, 0.99))
def test_raising_the_threshold_never_adds_matches(
    weighted: list[tuple[int, int, float]], low: float, high: float
) -> None:
    """Every pair joined at a higher threshold is also joined at a lower one."""
    low, high = min(low, high), max(low, high)
    strict, loose = cut(weighted, high), cut(weighted, low)
    scores = pairwise_scores(strict, loose)
    assert scores.false_positives == 0


@given(weighted=edges, threshold=st.floats(0.01, 0.99))
def test_components_partition_the_records(
    weighted: list[tuple[int, int, float]], threshold: float
) -> None:
    """Every record gets exactly one component, and joined records share it."""
    components = cut(weighted, threshold)
    assert len(components) == 30
    for a, b, p in weighted:
        if p >= threshold:
            assert components[a] == components[b]
    assert sorted(set(components)) == list(range(len(set(components))))
