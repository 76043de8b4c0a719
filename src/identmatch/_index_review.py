"""People in the loop on an index: decisions that hold, and the queue of what to review.

The index file keeps three things for this (created by :func:`ensure_review_tables`):

- ``decisions``: every decision made about a pair of records (who, when, purpose, reason),
  newest last. The latest about a pair holds (see ``identmatch._decisions``).
- ``review_pairs``: pairs scored, by the build or by an add, with a match probability in
  ``ModelConfig.review_band``: close enough to the threshold that a person should look.
- ``meta.weight_histogram``: the distribution of the build's scored pairs' match weights.

A ``different`` decision about two records of one entity splits it at once: its records are
re-resolved (:func:`resolve_parts`) with the two kept apart, the largest part keeping the id.
A ``same`` decision about records of two entities merges them, unless a ``different``
decision stands between their records. Adds and removals re-resolve under the same
decisions, so no later change joins what a person separated.

Suspicious entities are found when the queue is read, from the records as they are now:
possible twins (one surname and date of birth, different forenames), conflicting
identifiers, very large entities, and a weak bridge (two groups of records held together
by one link).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel
from rapidfuzz.distance import Levenshtein

from identmatch._cluster import constrained_components
from identmatch._decisions import DecisionKind, Decisions, decisions_from_rows
from identmatch._engine import transaction
from identmatch._exceptions import DecisionError, SchemaError
from identmatch._explain import Explanation, explanation_from_score
from identmatch._keys import record_keys
from identmatch._model import Model
from identmatch._scoring import TermFrequencies, score_pair
from identmatch._snapshot import Snapshot

if TYPE_CHECKING:
    from identmatch._index import Index

__all__ = [
    "DecisionOutcome",
    "ReviewEntity",
    "ReviewPair",
    "ReviewQueue",
    "ReviewRecord",
    "decide",
    "ensure_review_tables",
    "load_decisions",
    "resolve_parts",
    "review_queue",
    "store_build_review",
    "weight_histogram",
]

SuspicionKind = Literal["possible_twins", "weak_bridge", "large", "conflicting_identifiers"]

_TABLES_SQL = """
CREATE TABLE IF NOT EXISTS decisions (
    decision_id BIGINT PRIMARY KEY, decided_at TIMESTAMP NOT NULL,
    record_id_l VARCHAR NOT NULL, record_id_r VARCHAR NOT NULL, decision VARCHAR NOT NULL,
    reason VARCHAR, decided_by VARCHAR, purpose VARCHAR
);
CREATE TABLE IF NOT EXISTS review_pairs (
    record_id_l VARCHAR NOT NULL, record_id_r VARCHAR NOT NULL,
    match_probability DOUBLE NOT NULL, match_weight DOUBLE NOT NULL
);
"""

_BRIDGE_SCAN = 100
"""Entities of four or more records checked for a weak bridge per queue read, largest first."""
_KIND_ORDER: tuple[SuspicionKind, ...] = (
    "conflicting_identifiers",
    "weak_bridge",
    "possible_twins",
    "large",
)


def ensure_review_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the decision and review tables in an index file written before they existed."""
    connection.execute(_TABLES_SQL)


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


# ---------------------------------------------------------------------------- decisions
def _has_tables(cursor: duckdb.DuckDBPyConnection) -> bool:
    """Whether the file has the review tables (a file written before them, opened read-only,
    has none; opened writable, it gets them)."""
    found = cursor.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('decisions', 'review_pairs') "
        "AND database_name = current_database()"
    ).fetchall()
    return int(found[0][0]) == 2


def load_decisions(cursor: duckdb.DuckDBPyConnection) -> Decisions:
    """Every decision stored in the index, oldest first."""
    if not _has_tables(cursor):
        return Decisions()
    result = cursor.execute(
        "SELECT record_id_l, record_id_r, decision, reason, "
        "strftime(decided_at, '%Y-%m-%dT%H:%M:%SZ') AS decided_at, decided_by, purpose "
        "FROM decisions ORDER BY decision_id"
    )
    names = [str(d[0]) for d in result.description or ()]
    return decisions_from_rows(dict(zip(names, row, strict=True)) for row in result.fetchall())


def insert_decisions(cursor: duckdb.DuckDBPyConnection, decisions: Decisions) -> None:
    """Store decisions read from a file (a build with ``decisions=``), in their order."""
    start = int(
        cursor.execute("SELECT coalesce(max(decision_id), 0) FROM decisions").fetchall()[0][0]
    )
    for offset, row in enumerate(decisions.frame.to_dict("records")):
        when = str(row.get("decided_at") or "") or None
        cursor.execute(
            "INSERT INTO decisions VALUES (?, coalesce(TRY_CAST(? AS TIMESTAMP), "
            "current_timestamp::TIMESTAMP), ?, ?, ?, ?, ?, ?)",
            [
                start + offset + 1,
                when,
                *_pair(str(row["record_id_l"]), str(row["record_id_r"])),
                str(row["decision"]),
                str(row.get("reason") or ""),
                str(row.get("decided_by") or ""),
                str(row.get("purpose") or ""),
            ],
        )


def _next_decision_id(cursor: duckdb.DuckDBPyConnection) -> int:
    found = cursor.execute("SELECT coalesce(max(decision_id), 0) + 1 FROM decisions").fetchall()
    return int(found[0][0])


class DecisionOutcome(BaseModel, frozen=True, extra="forbid"):
    """What a decision did: its id, and the two records' entities afterwards."""

    decision_id: int
    decision: DecisionKind
    record_ids: tuple[str, str]
    entity_ids: tuple[str, str]
    """The entity of each record after the decision."""
    moved: tuple[tuple[str, str], ...] = ()
    """(record id, entity id) of every record that changed entity."""


def resolve_parts(
    model: Model,
    threshold: float,
    tf: TermFrequencies,
    records: Sequence[dict[str, Any]],
    decisions: Decisions,
) -> list[list[dict[str, Any]]]:
    """Group one entity's records again: pairs sharing a key at the threshold, and decisions.

    Must-links are taken first, then scored pairs strongest first; a merge that would join
    a must-not-link pair is refused. With no decisions this is the connected components of
    the pairs at or above ``threshold``.
    """
    position = {str(r["record_id"]): i for i, r in enumerate(records)}
    by_key: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        for key in record_keys(record, model.blocking_rules):
            by_key.setdefault(key, []).append(i)
    scored: dict[tuple[int, int], float] = {}
    for members in by_key.values():
        for a_at, a in enumerate(members):
            for b in members[a_at + 1 :]:
                pair = (a, b) if a < b else (b, a)
                if pair not in scored:
                    score = score_pair(model, records[a], records[b], tf)
                    scored[pair] = score.match_probability
    different = {
        (min(position[a], position[b]), max(position[a], position[b]))
        for a, b in decisions.pairs("different")
        if a in position and b in position
    }
    same = sorted(
        (min(position[a], position[b]), max(position[a], position[b]))
        for a, b in decisions.pairs("same")
        if a in position and b in position
    )
    strong = sorted(
        (pair for pair, p in scored.items() if p >= threshold and pair not in different),
        key=lambda pair: (-scored[pair], pair),
    )
    components = constrained_components(
        len(records),
        [*same, *(pair for pair in strong if pair not in set(same))],
        lambda a, b: ((a, b) if a < b else (b, a)) in different,
        max_check=max(2_500, len(records) ** 2),
    )
    parts: dict[int, list[dict[str, Any]]] = {}
    for record, component in zip(records, components, strict=True):
        parts.setdefault(component, []).append(record)
    return list(parts.values())


def decide(
    index: Index,
    record_ids: tuple[str, str],
    decision: DecisionKind,
    *,
    reason: str,
    purpose: str,
    decided_by: str,
) -> tuple[DecisionOutcome, dict[str, str]]:
    """Record a decision and apply it (see :meth:`identmatch.Index.decide`).

    Returns:
        The outcome, and every record moved to another entity (record id -> entity id).
    """
    a, b = (str(r) for r in record_ids)
    if a == b:
        msg = "a decision is about two different records"
        raise SchemaError(msg)
    with transaction(index._connection) as cursor:
        snapshot = Snapshot.around(cursor, [], [a, b])
        missing = [r for r in (a, b) if snapshot.row_of(r) is None]
        if missing:
            msg = f"record id(s) not in the index: {', '.join(missing)}"
            raise SchemaError(msg)
        entity_a = str(snapshot.record(snapshot.row_of(a) or 0)["entity_id"])
        entity_b = str(snapshot.record(snapshot.row_of(b) or 0)["entity_id"])
        known = load_decisions(cursor)
        others = known.pairs("different") - {_pair(a, b)}
        if decision == "same" and entity_a != entity_b:
            ids_a = {str(r["record_id"]) for r in snapshot.members([entity_a])}
            ids_b = {str(r["record_id"]) for r in snapshot.members([entity_b])}
            blocking = sorted(p for p in others if {p[0], p[1]} & ids_a and {p[0], p[1]} & ids_b)
            if blocking:
                first = " and ".join(blocking[0])
                msg = (
                    f"records {first} were decided to be different people; a 'same' decision "
                    f"joining entities {entity_a} and {entity_b} would put them together. "
                    "Decide that pair again first."
                )
                raise DecisionError(msg)
        number = int(
            cursor.execute("SELECT coalesce(max(decision_id), 0) + 1 FROM decisions").fetchall()[0][
                0
            ]
        )
        cursor.execute(
            "INSERT INTO decisions VALUES (?, current_timestamp::TIMESTAMP, ?, ?, ?, ?, ?, ?)",
            [number, *_pair(a, b), decision, reason, decided_by, purpose],
        )
        cursor.execute(
            "DELETE FROM review_pairs WHERE record_id_l = ? AND record_id_r = ?", [*_pair(a, b)]
        )
        moved: dict[str, str] = {}
        if decision == "different" and entity_a == entity_b:
            moved = _split(index, cursor, snapshot, entity_a, load_decisions(cursor))
        elif decision == "same" and entity_a != entity_b:
            moved = _merge(cursor, snapshot, entity_a, entity_b)
    final = (moved.get(a, entity_a), moved.get(b, entity_b))
    outcome = DecisionOutcome(
        decision_id=number,
        decision=decision,
        record_ids=(a, b),
        entity_ids=final,
        moved=tuple(sorted(moved.items())),
    )
    return outcome, moved


def _split(
    index: Index,
    cursor: duckdb.DuckDBPyConnection,
    snapshot: Snapshot,
    entity: str,
    decisions: Decisions,
) -> dict[str, str]:
    members = snapshot.members([entity])
    parts = resolve_parts(index.model, index.config.threshold, snapshot.tf, members, decisions)
    parts.sort(key=lambda part: (-len(part), min(int(r["seq"]) for r in part)))
    next_entity = int(
        cursor.execute("SELECT value FROM meta WHERE key = 'next_entity'").fetchall()[0][0]
    )
    moved: dict[str, str] = {}
    for part in parts[1:]:
        new = f"E{next_entity:06d}"
        next_entity += 1
        first = min(int(r["seq"]) for r in part)
        cursor.execute("INSERT INTO entities VALUES (?, ?, NULL)", [new, first])
        cursor.execute("INSERT INTO splits (entity_id, new_entity_id) VALUES (?, ?)", [entity, new])
        moved.update({str(r["record_id"]): new for r in part})
    if moved:
        cursor.execute(
            "UPDATE records SET entity_id = m.entity_id FROM (SELECT unnest(?::VARCHAR[]) AS "
            "record_id, unnest(?::VARCHAR[]) AS entity_id) AS m "
            "WHERE records.record_id = m.record_id",
            [list(moved), list(moved.values())],
        )
    cursor.execute("UPDATE meta SET value = ? WHERE key = 'next_entity'", [str(next_entity)])
    return moved


def _merge(
    cursor: duckdb.DuckDBPyConnection, snapshot: Snapshot, entity_a: str, entity_b: str
) -> dict[str, str]:
    created = dict(
        cursor.execute(
            "SELECT entity_id, created_seq FROM entities WHERE entity_id IN (?, ?)",
            [entity_a, entity_b],
        ).fetchall()
    )
    kept, gone = sorted((entity_a, entity_b), key=lambda e: (int(created.get(e, 0)), e))
    cursor.execute("UPDATE records SET entity_id = ? WHERE entity_id = ?", [kept, gone])
    cursor.execute("UPDATE entities SET merged_into = ? WHERE entity_id = ?", [kept, gone])
    cursor.execute("INSERT INTO merges (kept, merged) VALUES (?, ?)", [kept, gone])
    return {str(r["record_id"]): kept for r in snapshot.members([gone])}


# -------------------------------------------------------------------------------- build
def store_build_review(
    connection: duckdb.DuckDBPyConnection,
    pairs: pd.DataFrame,
    band: tuple[float, float],
    decisions: Decisions,
) -> None:
    """Write the build's review pairs, its weight histogram and the decisions it obeyed."""
    ensure_review_tables(connection)
    low, high = band
    probability = pairs["match_probability"]
    queued = pairs[(probability >= low) & (probability < high)]
    ids_l = queued["record_id_l"].astype(str).to_numpy()
    ids_r = queued["record_id_r"].astype(str).to_numpy()
    frame = pd.DataFrame(
        {
            "record_id_l": np.where(ids_l <= ids_r, ids_l, ids_r),
            "record_id_r": np.where(ids_l <= ids_r, ids_r, ids_l),
            "match_probability": queued["match_probability"].astype(float).to_numpy(),
            "match_weight": queued["match_weight"].astype(float).to_numpy(),
        }
    )
    connection.register("__review_pairs", frame)
    connection.execute("INSERT INTO review_pairs SELECT * FROM __review_pairs")
    connection.unregister("__review_pairs")
    connection.execute(
        "INSERT INTO meta VALUES ('weight_histogram', ?)",
        [json.dumps(_histogram(pairs["match_weight"].astype(float).to_numpy()))],
    )
    if len(decisions):
        insert_decisions(connection, decisions)


def _histogram(weights: np.ndarray) -> list[list[float]]:
    """Counts of match weights in bins one bit wide: ``[lower, upper, count]`` each."""
    finite = weights[np.isfinite(weights)]
    if not len(finite):
        return []
    low, high = int(np.floor(finite.min())), int(np.floor(finite.max())) + 1
    counts, edges = np.histogram(finite, bins=np.arange(low, high + 1))
    return [[float(edges[i]), float(edges[i + 1]), int(c)] for i, c in enumerate(counts)]


def weight_histogram(cursor: duckdb.DuckDBPyConnection) -> list[tuple[float, float, int]]:
    """The build's stored histogram of match weights (empty for files without one)."""
    found = cursor.execute("SELECT value FROM meta WHERE key = 'weight_histogram'").fetchall()
    if not found:
        return []
    return [(float(a), float(b), int(n)) for a, b, n in json.loads(str(found[0][0]))]


# -------------------------------------------------------------------------------- queue
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


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)


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


def review_queue(index: Index, *, limit: int = 50) -> ReviewQueue:
    """The review queue now (see :meth:`identmatch.Index.review_queue`)."""
    model, config = index.model, index.config
    with index._cursor() as cursor:
        if not _has_tables(cursor):
            return ReviewQueue()
        decided = {_pair(a, b) for (_, a, _, b) in load_decisions(cursor).latest}
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
        if _pair(*pair) in decided:
            return
        kinds, whys, _ = found.setdefault(entity, ([], [], _pair(*pair)))
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
            ((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :] if _pair(a, b) not in decided),
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
    return [(str(e), *_pair(str(a), str(b))) for e, a, b in found]


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
            [_BRIDGE_SCAN],
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
            out.append((entity, _pair(str(members[a]["record_id"]), str(members[b]["record_id"]))))
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
