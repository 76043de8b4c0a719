"""People in the loop on an index: decisions that hold (the queue is in ``_index.queue``).

The index file keeps three things for this (created by ``identmatch._index.schema``):

- ``decisions``: every decision made about a pair of records (who, when, purpose, reason),
  newest last. The latest about a pair holds (see ``identmatch._batch.decisions``).
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

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel

from identmatch._batch.cluster import constrained_components, entity_id
from identmatch._batch.decisions import DecisionKind, Decisions, decisions_from_rows
from identmatch._candidates.keys import record_keys
from identmatch._exceptions import DecisionError, SchemaError
from identmatch._index.schema import ensure_review_tables
from identmatch._index.snapshot import Snapshot
from identmatch._index.store import transaction
from identmatch._model.model import Model
from identmatch._model.scoring import TermFrequencies, score_pair

if TYPE_CHECKING:
    from identmatch._index.index import Index

__all__ = [
    "DecisionOutcome",
    "decide",
    "has_review_tables",
    "load_decisions",
    "pair_key",
    "resolve_parts",
    "store_build_review",
    "undo",
    "weight_histogram",
]


def pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


# ---------------------------------------------------------------------------- decisions
def has_review_tables(cursor: duckdb.DuckDBPyConnection) -> bool:
    """Whether the file has the review tables (a file written before them, opened read-only,
    has none; opened writable, it gets them)."""
    found = cursor.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('decisions', 'review_pairs') "
        "AND database_name = current_database()"
    ).fetchall()
    return int(found[0][0]) == 2


def load_decisions(cursor: duckdb.DuckDBPyConnection) -> Decisions:
    """Every decision stored in the index, oldest first."""
    if not has_review_tables(cursor):
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
                *pair_key(str(row["record_id_l"]), str(row["record_id_r"])),
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
    audit_id: int | None = None
    """The decision's audit entry."""


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
    connection: duckdb.DuckDBPyConnection,
) -> tuple[DecisionOutcome, dict[str, str]]:
    """Record a decision and apply it (see :meth:`identmatch.Index.decide`).

    Returns:
        The outcome, and every record moved to another entity (record id -> entity id).
    """
    a, b = (str(r) for r in record_ids)
    if a == b:
        msg = "a decision is about two different records"
        raise SchemaError(msg)
    with transaction(connection) as cursor:
        snapshot = Snapshot.around(cursor, [], [a, b])
        missing = [r for r in (a, b) if snapshot.row_of(r) is None]
        if missing:
            msg = f"record id(s) not in the index: {', '.join(missing)}"
            raise SchemaError(msg)
        entity_a = str(snapshot.record(snapshot.row_of(a) or 0)["entity_id"])
        entity_b = str(snapshot.record(snapshot.row_of(b) or 0)["entity_id"])
        _refuse_contradiction(cursor, a, b, decision)
        known = load_decisions(cursor)
        others = known.pairs("different") - {pair_key(a, b)}
        if decision == "same" and entity_a != entity_b:
            ids_a = {str(r["record_id"]) for r in snapshot.members([entity_a])}
            ids_b = {str(r["record_id"]) for r in snapshot.members([entity_b])}
            blocking = sorted(p for p in others if {p[0], p[1]} & ids_a and {p[0], p[1]} & ids_b)
            if blocking:
                first = " and ".join(blocking[0])
                standing = _standing(cursor, [blocking[0]])
                msg = (
                    f"records {first} were decided to be different people (decision "
                    f"{', '.join(map(str, standing))}); a 'same' decision joining entities "
                    f"{entity_a} and {entity_b} would put them together. "
                    "Decide that pair again first."
                )
                raise DecisionError(msg, tuple(standing))
        number = int(
            cursor.execute("SELECT coalesce(max(decision_id), 0) + 1 FROM decisions").fetchall()[0][
                0
            ]
        )
        cursor.execute(
            "INSERT INTO decisions VALUES (?, current_timestamp::TIMESTAMP, ?, ?, ?, ?, ?, ?)",
            [number, *pair_key(a, b), decision, reason, decided_by, purpose],
        )
        cursor.execute(
            "DELETE FROM review_pairs WHERE record_id_l = ? AND record_id_r = ?", [*pair_key(a, b)]
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


def undo(
    index: Index,
    decision_id: int,
    record_ids: tuple[str, str] | None,
    reason: str,
    purpose: str,
    decided_by: str,
    connection: duckdb.DuckDBPyConnection,
) -> tuple[DecisionOutcome, dict[str, str]]:
    """Reverse a decision (see :meth:`identmatch.Index.undo_decision`).

    Records ``unsure`` about its pair (the reason names the decision undone), then puts back
    what the decision did: the entities a ``different`` split off (logged with the decision's
    time) rejoin the entity they left, and an entity a ``same`` merged is re-resolved without
    the must-link (its records grouped as the scores and the other decisions have them).

    Returns:
        The reversing decision's outcome, and every record moved (record id -> entity id).
    """
    with transaction(connection) as cursor:
        found = cursor.execute(
            "SELECT record_id_l, record_id_r, decision, decided_at, "
            "(SELECT max(decision_id) FROM decisions AS o WHERE o.record_id_l = d.record_id_l "
            "AND o.record_id_r = d.record_id_r) FROM decisions AS d WHERE decision_id = ?",
            [decision_id],
        ).fetchall()
        if not found:
            msg = f"no decision {decision_id} in the index"
            raise SchemaError(msg)
        a, b, kind, when, latest = found[0]
        if record_ids is not None and {str(a), str(b)} != set(record_ids):
            msg = f"decision {decision_id} is not about those two records"
            raise SchemaError(msg)
        if int(latest) != decision_id:
            msg = (
                f"decision {decision_id} no longer holds: decision {latest} about the same "
                "records came after it; undo that one instead"
            )
            raise DecisionError(msg)
        # The split it made, if any: logged in the same transaction, so at the same time.
        split = cursor.execute(
            "SELECT DISTINCT s.entity_id, s.new_entity_id FROM splits AS s JOIN records AS r "
            "ON r.entity_id = s.new_entity_id WHERE s.split_at = ? ORDER BY 2",
            [when],
        ).fetchall()
        kept = str(split[0][0]) if split else ""
        parts = [str(new) for _, new in split]
        wanted = cursor.execute(
            "SELECT record_id FROM records WHERE entity_id IN (SELECT unnest(?::VARCHAR[]))",
            [[kept, *parts]],
        ).fetchall()
        snapshot = Snapshot.around(cursor, [], [a, b, *(str(r) for (r,) in wanted)])
        missing = [r for r in (a, b) if snapshot.row_of(r) is None]
        if missing:
            msg = f"record id(s) of decision {decision_id} no longer in the index: {missing}"
            raise SchemaError(msg)
        number = _next_decision_id(cursor)
        cursor.execute(
            "INSERT INTO decisions VALUES (?, current_timestamp::TIMESTAMP, ?, ?, ?, ?, ?, ?)",
            [
                number,
                a,
                b,
                "unsure",
                f"undoes decision {decision_id}: {reason}",
                decided_by,
                purpose,
            ],
        )
        decisions = load_decisions(cursor)
        entity_a = str(snapshot.record(snapshot.row_of(a) or 0)["entity_id"])
        moved: dict[str, str] = {}
        if kind == "different" and parts:
            if not snapshot.members([kept]):
                msg = f"entity {kept} has changed since decision {decision_id}; decide again"
                raise DecisionError(msg)
            ids = {str(r["record_id"]) for r in snapshot.members([kept, *parts])}
            blocking = sorted(p for p in decisions.pairs("different") if set(p) <= ids)
            if blocking:
                msg = (
                    f"records {' and '.join(blocking[0])} were decided to be different people; "
                    f"undoing decision {decision_id} would put them together again"
                )
                raise DecisionError(msg)
            # Back into the entity they left, whose id stays (whichever is older).
            for part in parts:
                cursor.execute("UPDATE records SET entity_id = ? WHERE entity_id = ?", [kept, part])
                cursor.execute(
                    "UPDATE entities SET merged_into = ? WHERE entity_id = ?", [kept, part]
                )
                cursor.execute("INSERT INTO merges (kept, merged) VALUES (?, ?)", [kept, part])
                moved.update({str(r["record_id"]): kept for r in snapshot.members([part])})
        elif kind == "same":
            merged = cursor.execute(
                "SELECT count(*) FROM merges WHERE merged_at = ? AND kept = ?", [when, entity_a]
            ).fetchall()
            if int(merged[0][0]):
                moved = _split(index, cursor, snapshot, entity_a, decisions)
    final = tuple(
        moved.get(r, str(snapshot.record(snapshot.row_of(r) or 0)["entity_id"])) for r in (a, b)
    )
    outcome = DecisionOutcome(
        decision_id=number,
        decision="unsure",
        record_ids=(str(a), str(b)),
        entity_ids=(final[0], final[1]),
        moved=tuple(sorted(moved.items())),
    )
    return outcome, moved


def _in_force(cursor: duckdb.DuckDBPyConnection) -> list[tuple[int, str, str, str]]:
    """The decisions that hold (the latest per pair) about records still in the index:
    ``(decision_id, record_id_l, record_id_r, decision)``, oldest first."""
    return [
        (int(n), str(left), str(right), str(kind))
        for n, left, right, kind in cursor.execute(
            "SELECT decision_id, record_id_l, record_id_r, decision FROM ("
            "SELECT *, row_number() OVER (PARTITION BY record_id_l, record_id_r "
            "ORDER BY decision_id DESC) AS newest FROM decisions) "
            "WHERE newest = 1 AND record_id_l IN (SELECT record_id FROM records) "
            "AND record_id_r IN (SELECT record_id FROM records) ORDER BY decision_id"
        ).fetchall()
    ]


def _standing(cursor: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[str, str]]) -> list[int]:
    """The ids of the decisions in force about ``pairs``."""
    wanted = {pair_key(a, b) for a, b in pairs}
    return [n for n, left, right, _ in _in_force(cursor) if (left, right) in wanted]


def _same_paths(links: dict[str, list[tuple[str, int]]], start: str) -> dict[str, list[int]]:
    """Every record joined to ``start`` by ``same`` decisions, with the decision ids of the
    path from ``start`` (breadth first: a shortest path)."""
    paths: dict[str, list[int]] = {start: []}
    frontier = [start]
    while frontier:
        following = []
        for record in frontier:
            for other, number in links.get(record, ()):
                if other not in paths:
                    paths[other] = [*paths[record], number]
                    following.append(other)
        frontier = following
    return paths


def _refuse_contradiction(
    cursor: duckdb.DuckDBPyConnection, a: str, b: str, decision: DecisionKind
) -> None:
    """Refuse a decision the standing ones contradict, naming them by decision id.

    ``different`` about two records that ``same`` decisions join (directly or through a
    chain), or ``same`` joining two chains between which a ``different`` decision stands,
    would leave decisions that cannot all hold: the entities would obey some of them and a
    label report would count the others. A decision replacing the pair's own earlier
    decision is not a contradiction.
    """
    if decision == "unsure":
        return
    standing = [row for row in _in_force(cursor) if (row[1], row[2]) != pair_key(a, b)]
    links: dict[str, list[tuple[str, int]]] = {}
    for number, left, right, kind in standing:
        if kind == "same":
            links.setdefault(left, []).append((right, number))
            links.setdefault(right, []).append((left, number))
    from_a = _same_paths(links, a)
    conflicting: list[int] = []
    what = ""
    if decision == "different" and b in from_a:
        conflicting = from_a[b]
        what = f"'same' decisions join records {a} and {b}"
    elif decision == "same":
        from_b = _same_paths(links, b)
        for number, left, right, kind in standing:
            if kind != "different":
                continue
            if left in from_a and right in from_b:
                conflicting = [number, *from_a[left], *from_b[right]]
            elif right in from_a and left in from_b:
                conflicting = [number, *from_a[right], *from_b[left]]
            if conflicting:
                what = f"decision {number} says records {left} and {right} are different people"
                break
    if conflicting:
        ids = tuple(sorted(set(conflicting)))
        msg = (
            f"a '{decision}' decision about records {a} and {b} contradicts decision(s) "
            f"{', '.join(map(str, ids))} ({what}); decide one of those pairs again first"
        )
        raise DecisionError(msg, ids)


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
        new = entity_id(next_entity)
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
