"""The review queue: pairs scored near the threshold and entities that look wrong.

Pairs come from the ``review_pairs`` table (stored by the build and by each add); suspicious
entities are found when the queue is read, from the records as they are now: possible twins
(one surname and date of birth, different forenames), conflicting identifiers, very large
entities, and a weak bridge (two groups of records held together by one link).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import numpy as np
from pydantic import BaseModel
from rapidfuzz.distance import Levenshtein

from identmatch._candidates.keys import record_keys
from identmatch._index.review import (
    has_review_tables,
    load_decisions,
    pair_key,
)
from identmatch._index.snapshot import Snapshot
from identmatch._index.store import cursor as cursor_of
from identmatch._model.explain import Explanation, explanation_from_score
from identmatch._model.model import Model
from identmatch._model.scoring import TermFrequencies, score_pair
from identmatch._prepare.values import to_text

if TYPE_CHECKING:
    from identmatch._index.index import Index

__all__ = [
    "ReviewEntity",
    "ReviewPair",
    "ReviewQueue",
    "ReviewRecord",
    "SuspicionKind",
    "review_queue",
]

SuspicionKind = Literal["possible_twins", "weak_bridge", "large", "conflicting_identifiers"]

_KIND_ORDER: tuple[SuspicionKind, ...] = (
    "conflicting_identifiers",
    "weak_bridge",
    "possible_twins",
    "large",
)

BRIDGE_SCAN = 100
"""Entities of four or more records checked for a weak bridge per queue read, largest first."""


class ReviewRecord(BaseModel, frozen=True, extra="forbid"):
    """One record as a reviewer sees it."""

    record_id: str
    entity_id: str
    source: str | None = None
    forename: str | None = None
    middle_names: str | None = None
    surname: str | None = None
    dob: str | None = None
    dob_given: str | None = None
    postcode: str | None = None
    aliases: tuple[str, ...] = ()


class ReviewPair(BaseModel, frozen=True, extra="forbid"):
    """A pair scored close to the threshold: is it one person or two?"""

    record_ids: tuple[str, str]
    entity_ids: tuple[str, str]
    match_probability: float
    match_weight: float
    explanation: Explanation
    records: tuple[ReviewRecord, ReviewRecord]


class ReviewEntity(BaseModel, frozen=True, extra="forbid"):
    """An entity that looks wrong, with the pair of its records a reviewer should decide on."""

    entity_id: str
    kinds: tuple[SuspicionKind, ...]
    why: str
    """In plain words, what looks wrong."""
    record_ids: tuple[str, str]
    explanation: Explanation
    records: tuple[ReviewRecord, ...]


class ReviewQueue(BaseModel, frozen=True, extra="forbid"):
    """Uncertain pairs (closest to the threshold first) and suspicious entities."""

    pairs: tuple[ReviewPair, ...] = ()
    entities: tuple[ReviewEntity, ...] = ()

    def shown(self) -> tuple[list[str], list[str]]:
        """Every entity id and record id the queue shows, each once, in order: what a read
        of it is audited with."""
        entities = [e for p in self.pairs for e in p.entity_ids]
        entities += [e.entity_id for e in self.entities]
        records = [r for p in self.pairs for r in p.record_ids]
        records += [r for e in self.entities for r in e.record_ids]
        return list(dict.fromkeys(entities)), list(dict.fromkeys(records))


def _text(value: Any) -> str | None:
    return to_text(value)


def _review_record(record: Mapping[str, Any]) -> ReviewRecord:
    return ReviewRecord(
        record_id=str(record["record_id"]),
        entity_id=str(record["entity_id"]),
        source=_text(record.get("source")),
        forename=_text(record.get("forename")),
        middle_names=_text(record.get("middle_names")),
        surname=_text(record.get("surname")),
        dob=_text(record.get("dob")),
        dob_given=_text(record.get("dob_given")),
        postcode=_text(record.get("postcode_std")),
        aliases=tuple(str(a) for a in (record.get("aliases") or ())),
    )


def review_queue(
    index: Index, *, limit: int = 50, connection: duckdb.DuckDBPyConnection
) -> ReviewQueue:
    """The review queue now (see :meth:`identmatch.Index.review_queue`)."""
    model, config = index.model, index.config
    with cursor_of(connection) as cursor:
        if not has_review_tables(cursor):
            return ReviewQueue()
        decided = {pair_key(a, b) for (_, a, _, b) in load_decisions(cursor).latest}
        threshold_weight = float(np.log2(config.threshold / (1 - config.threshold)))
        rows = cursor.execute(
            "SELECT p.record_id_l, p.record_id_r FROM review_pairs AS p "
            "JOIN records AS l ON l.record_id = p.record_id_l "
            "JOIN records AS r ON r.record_id = p.record_id_r "
            "ORDER BY abs(p.match_weight - ?), p.record_id_l, p.record_id_r LIMIT ?",
            [threshold_weight, limit + len(decided)],
        ).fetchall()
        pairs = [(str(a), str(b)) for a, b in rows if (str(a), str(b)) not in decided][:limit]
        suspects = _suspects(index, cursor, decided, limit)
        wanted = {r for pair in pairs for r in pair} | {r for s in suspects for r in s[3]}
        snapshot = Snapshot.around(cursor, [], sorted(wanted))
    out_pairs = []
    for a, b in pairs:
        left, right = (snapshot.record(snapshot.row_of(r) or 0) for r in (a, b))
        score = score_pair(model, left, right, snapshot.tf)
        out_pairs.append(
            ReviewPair(
                record_ids=(a, b),
                entity_ids=(str(left["entity_id"]), str(right["entity_id"])),
                match_probability=score.match_probability,
                match_weight=score.match_weight,
                explanation=explanation_from_score(model, score, a, b),
                records=(_review_record(left), _review_record(right)),
            )
        )
    out_entities = []
    for entity, kinds, why, (a, b) in suspects:
        left, right = (snapshot.record(snapshot.row_of(r) or 0) for r in (a, b))
        score = score_pair(model, left, right, snapshot.tf)
        out_entities.append(
            ReviewEntity(
                entity_id=entity,
                kinds=kinds,
                why=why,
                record_ids=(a, b),
                explanation=explanation_from_score(model, score, a, b),
                records=tuple(_review_record(r) for r in snapshot.members([entity])),
            )
        )
    return ReviewQueue(pairs=tuple(out_pairs), entities=tuple(out_entities))


Suspect = tuple[str, tuple[SuspicionKind, ...], str, tuple[str, str]]


def _suspects(
    index: Index, cursor: duckdb.DuckDBPyConnection, decided: set[tuple[str, str]], limit: int
) -> list[Suspect]:
    """Suspicious entities, at most ``limit``, each with the pair to decide on."""
    found: dict[str, tuple[list[SuspicionKind], list[str], tuple[str, str]]] = {}

    def flag(entity: str, kind: SuspicionKind, why: str, pair: tuple[str, str]) -> None:
        if pair_key(*pair) in decided:
            return
        kinds, whys, _ = found.setdefault(entity, ([], [], pair_key(*pair)))
        if kind not in kinds:
            kinds.append(kind)
            whys.append(why)

    for entity, pair, column in _identifier_clashes(index, cursor, limit):
        flag(entity, "conflicting_identifiers", f"two different {column} values", pair)
    for entity, pair in _weak_bridges(index, cursor):
        flag(
            entity,
            "weak_bridge",
            "two groups of records held together by one link only",
            pair,
        )
    for entity, a, b in _twins(cursor, limit):
        flag(
            entity,
            "possible_twins",
            "one surname and date of birth under forenames that are not variants of each "
            "other: twins, or one man?",
            (a, b),
        )
    for entity, n in cursor.execute(
        "SELECT entity_id, count(*) AS n FROM records GROUP BY entity_id HAVING n >= ? "
        "ORDER BY n DESC, entity_id LIMIT ?",
        [index.config.review_large, limit],
    ).fetchall():
        ids = [
            str(r[0])
            for r in cursor.execute(
                "SELECT record_id FROM records WHERE entity_id = ? ORDER BY seq", [str(entity)]
            ).fetchall()
        ]
        # The first two records (in the order added) not yet decided about.
        undecided = next(
            (
                (a, b)
                for i, a in enumerate(ids)
                for b in ids[i + 1 :]
                if pair_key(a, b) not in decided
            ),
            None,
        )
        if undecided is None:
            continue
        flag(str(entity), "large", f"{n} records in one person: more than one?", undecided)
    # Taken in turn from each kind (the strongest evidence of a wrong merge first), so a
    # short queue shows every kind there is rather than the first kind's many.
    by_kind: dict[SuspicionKind, list[Suspect]] = {kind: [] for kind in _KIND_ORDER}
    for entity, (kinds, whys, pair) in sorted(found.items()):
        by_kind[kinds[0]].append((entity, tuple(kinds), "; ".join(whys), pair))
    out: list[Suspect] = []
    for turn in itertools.zip_longest(*by_kind.values()):
        out.extend(item for item in turn if item is not None)
    return out[:limit]


def _twins(cursor: duckdb.DuckDBPyConnection, limit: int) -> list[tuple[str, str, str]]:
    """Entities with two records of one surname and date of birth whose forenames are not
    variants of each other (not the same sound, not a listed nickname, not an initial).

    The first such pair per entity, as (entity, record, record).
    """
    found = cursor.execute(
        "SELECT entity_id, l_id, r_id FROM ("
        "SELECT a.entity_id, a.record_id AS l_id, b.record_id AS r_id, row_number() OVER "
        "(PARTITION BY a.entity_id ORDER BY a.seq, b.seq) AS n "
        "FROM records AS a JOIN records AS b ON a.entity_id = b.entity_id "
        "AND a.surname_std = b.surname_std AND a.dob = b.dob AND a.seq < b.seq "
        "WHERE a.forename_std <> b.forename_std "
        "AND length(a.forename_std) > 1 AND length(b.forename_std) > 1 "
        "AND a.forename_ph IS DISTINCT FROM b.forename_ph "
        "AND NOT list_contains(coalesce(a.forename_nicks, []), b.forename_std) "
        "AND NOT list_contains(coalesce(b.forename_nicks, []), a.forename_std)"
        ") WHERE n = 1 ORDER BY entity_id LIMIT ?",
        [limit],
    ).fetchall()
    return [(str(e), *pair_key(str(a), str(b))) for e, a, b in found]


def _identifier_clashes(
    index: Index, cursor: duckdb.DuckDBPyConnection, limit: int
) -> list[tuple[str, tuple[str, str], str]]:
    """Entities holding two records whose identifier values share nothing, not even closely.

    One character apart or two characters swapped is a typing slip, not a clash.
    """
    columns = [("nhs_std", "NHS number", False)] + [
        (spec.prepared_all, spec.column, True)
        for spec in index.model.declared.identifiers
        if spec.personal
    ]
    out: list[tuple[str, tuple[str, str], str]] = []
    present = {str(r[0]) for r in cursor.execute("DESCRIBE records").fetchall()}
    for column, label, is_list in columns:
        if column not in present:
            continue
        quoted = '"' + column.replace('"', '""') + '"'
        value = f"unnest({quoted})" if is_list else quoted
        entities = cursor.execute(
            f"SELECT entity_id FROM (SELECT entity_id, {value} AS v FROM records "
            f"WHERE {quoted} IS NOT NULL) WHERE v IS NOT NULL GROUP BY entity_id "
            "HAVING count(DISTINCT v) > 1 ORDER BY entity_id LIMIT ?",
            [limit * 4],
        ).fetchall()
        for (entity,) in entities:
            rows = cursor.execute(
                f"SELECT record_id, {quoted} FROM records "
                f"WHERE entity_id = ? AND {quoted} IS NOT NULL ORDER BY seq",
                [str(entity)],
            ).fetchall()
            held = [(str(r), set(v) if is_list else {str(v)}) for r, v in rows]
            pair = _clash(held)
            if pair is not None:
                out.append((str(entity), pair, label))
            if len(out) >= limit:
                return out
    return out


def _clash(held: list[tuple[str, set[str]]]) -> tuple[str, str] | None:
    for i, (a, values_a) in enumerate(held):
        for b, values_b in held[i + 1 :]:
            if not values_a or not values_b or values_a & values_b:
                continue
            close = any(
                Levenshtein.distance(x, y) <= 1 or (len(x) == len(y) and sorted(x) == sorted(y))
                for x in values_a
                for y in values_b
            )
            if not close:
                return (a, b)
    return None


def _weak_bridges(
    index: Index, cursor: duckdb.DuckDBPyConnection
) -> list[tuple[str, tuple[str, str]]]:
    """Entities (the largest first, a bounded number) that one link holds together.

    Two groups of at least two records each, joined only by one pair at the threshold: if
    that pair is wrong, two people were merged.
    """
    entities = [
        str(r[0])
        for r in cursor.execute(
            "SELECT entity_id FROM records GROUP BY entity_id HAVING count(*) BETWEEN 4 AND 200 "
            "ORDER BY count(*) DESC, entity_id LIMIT ?",
            [BRIDGE_SCAN],
        ).fetchall()
    ]
    if not entities:
        return []
    snapshot = Snapshot.around(cursor, [], _one_record_each(cursor, entities))
    model, threshold = index.model, index.config.threshold
    out = []
    for entity in entities:
        members = snapshot.members([entity])
        edges = _edges(model, threshold, snapshot.tf, members)
        bridge = _bridge(len(members), edges)
        if bridge is not None:
            a, b = bridge
            out.append(
                (entity, pair_key(str(members[a]["record_id"]), str(members[b]["record_id"])))
            )
    return out


def _one_record_each(cursor: duckdb.DuckDBPyConnection, entities: list[str]) -> list[str]:
    return [
        str(r[0])
        for r in cursor.execute(
            "SELECT min(record_id) FROM records WHERE entity_id IN (SELECT unnest(?::VARCHAR[])) "
            "GROUP BY entity_id",
            [entities],
        ).fetchall()
    ]


def _edges(
    model: Model, threshold: float, tf: TermFrequencies, records: Sequence[dict[str, Any]]
) -> set[tuple[int, int]]:
    by_key: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        for key in record_keys(record, model.blocking_rules):
            by_key.setdefault(key, []).append(i)
    edges: set[tuple[int, int]] = set()
    seen: set[tuple[int, int]] = set()
    for members in by_key.values():
        for at, a in enumerate(members):
            for b in members[at + 1 :]:
                pair = (a, b) if a < b else (b, a)
                if pair in seen:
                    continue
                seen.add(pair)
                if score_pair(model, records[a], records[b], tf).match_probability >= threshold:
                    edges.add(pair)
    return edges


def _bridge(n: int, edges: Iterable[tuple[int, int]]) -> tuple[int, int] | None:
    """An edge whose removal leaves two parts of two or more nodes each (None if none)."""
    adjacent: dict[int, list[int]] = {i: [] for i in range(n)}
    for a, b in edges:
        adjacent[a].append(b)
        adjacent[b].append(a)
    order = [-1] * n
    low = [0] * n
    size = [1] * n
    counter = 0
    for root in range(n):
        if order[root] != -1:
            continue
        component = _component_size(root, adjacent)
        order[root] = low[root] = counter
        counter += 1
        stack: list[tuple[int, int, int]] = [(root, -1, 0)]
        while stack:
            node, parent, at = stack[-1]
            if at < len(adjacent[node]):
                stack[-1] = (node, parent, at + 1)
                child = adjacent[node][at]
                if order[child] == -1:
                    order[child] = low[child] = counter
                    counter += 1
                    stack.append((child, node, 0))
                elif child != parent:
                    low[node] = min(low[node], order[child])
                continue
            stack.pop()
            if parent >= 0:
                low[parent] = min(low[parent], low[node])
                size[parent] += size[node]
                if low[node] > order[parent] and 2 <= size[node] <= component - 2:
                    return (parent, node)
    return None


def _component_size(root: int, adjacent: Mapping[int, list[int]]) -> int:
    seen = {root}
    todo = [root]
    while todo:
        node = todo.pop()
        for other in adjacent[node]:
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return len(seen)
