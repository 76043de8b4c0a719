"""Clustering: connected components, entity ids, and thresholds that only ever split."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from identmatch._cluster import assign_entity_ids, connected_components
from identmatch._evaluate import pairwise_scores

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
