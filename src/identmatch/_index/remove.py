"""Removing records from an index, in one transaction (data retention, or an update).

A removed record's row, blocking keys and term-frequency counts go. Its entity is then
re-resolved: the remaining records of that entity are scored pairwise in process (the
pairs sharing a blocking key, with the same scoring as adds) and grouped at the model's
match threshold under the people's decisions the index holds
(``identmatch._index.review.resolve_parts``). If the removed record was the only link
between parts, the entity splits: the largest part (the oldest on a tie) keeps the entity
id, each other part gets a new id, and the split is logged in the index's ``splits``
table. Everything is decided first, then written in one transaction that commits at the
end or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from identmatch._batch.cluster import entity_id
from identmatch._exceptions import SchemaError
from identmatch._index.review import load_decisions, resolve_parts
from identmatch._index.snapshot import Change, Snapshot
from identmatch._index.store import transaction

if TYPE_CHECKING:
    from identmatch._index.index import Index

__all__ = ["remove_in", "remove_records"]

_logger = logging.getLogger("identmatch.index")


def remove_records(
    index: Index, record_ids: Iterable[str], *, connection: duckdb.DuckDBPyConnection
) -> tuple[pd.DataFrame, Change]:
    """Remove records from ``index`` (see :meth:`identmatch.Index.remove`).

    Returns:
        The outcome per record, and the change for the in-memory snapshots.
    """
    with transaction(connection) as cursor:
        return remove_in(index, record_ids, cursor)


def remove_in(
    index: Index, record_ids: Iterable[str], cursor: duckdb.DuckDBPyConnection
) -> tuple[pd.DataFrame, Change]:
    """:func:`remove_records` inside the caller's open transaction on ``cursor`` (an update
    removes and adds in one). The caller commits; the change is for after the commit."""
    ids = list(dict.fromkeys(str(r) for r in record_ids))
    # The removed records and every record of their entities, with the term frequencies
    # of their values, read in the transaction.
    snapshot = Snapshot.around(cursor, [], ids)
    missing = [r for r in ids if snapshot.row_of(r) is None]
    if missing:
        msg = (
            f"{len(missing)} record id(s) not in the index (first: "
            f"{', '.join(missing[:5])}); nothing was removed"
        )
        raise SchemaError(msg)
    removed = [snapshot.record(row) for r in ids if (row := snapshot.row_of(r)) is not None]
    removed_seqs = {int(r["seq"]) for r in removed}
    entities = sorted({str(r["entity_id"]) for r in removed})
    outcome: list[tuple[str, str, str]] = [
        (str(r["record_id"]), str(r["entity_id"]), "removed") for r in removed
    ]
    next_entity = int(
        cursor.execute("SELECT value FROM meta WHERE key = 'next_entity'").fetchall()[0][0]
    )
    decisions = load_decisions(cursor)
    reassign: list[tuple[str, str]] = []  # (record_id, new entity)
    splits: list[tuple[str, str, int]] = []  # (old entity, new entity, created seq)
    for entity in entities:
        remaining = [r for r in snapshot.members([entity]) if int(r["seq"]) not in removed_seqs]
        if not remaining:
            continue
        parts = resolve_parts(
            index.model, index.config.threshold, snapshot.tf, remaining, decisions
        )
        parts.sort(key=lambda part: (-len(part), min(int(r["seq"]) for r in part)))
        for part in parts[1:]:
            new = entity_id(next_entity)
            next_entity += 1
            splits.append((entity, new, min(int(r["seq"]) for r in part)))
            reassign.extend((str(r["record_id"]), new) for r in part)
            outcome.extend((str(r["record_id"]), new, "split") for r in part)
    tf_removed = _tf_removed(removed, index.model.tf_columns)
    _write(cursor, removed, tf_removed, reassign, splits, next_entity)
    for old, new, _ in splits:
        _logger.info("entity %s split: %s now holds part of its records", old, new)
    change = Change(
        "remove",
        removed=tuple(str(r["record_id"]) for r in removed),
        moved=dict(reassign),
        tf={c: {v: -n for v, n in counts.items()} for c, counts in tf_removed.items()},
    )
    return pd.DataFrame(outcome, columns=["record_id", "entity_id", "action"]), change


def _tf_removed(removed: list[dict[str, Any]], columns: list[str]) -> dict[str, dict[str, int]]:
    """Per term-frequency column, how many of each value the removed records held."""
    out: dict[str, dict[str, int]] = {}
    for column in columns:
        values = [str(r[column]) for r in removed if r.get(column) is not None]
        if values:
            counts = pd.Series(values).value_counts()
            out[column] = {str(v): int(n) for v, n in counts.items()}
    return out


def _write(
    cursor: duckdb.DuckDBPyConnection,
    removed: list[dict[str, Any]],
    tf_removed: dict[str, dict[str, int]],
    reassign: list[tuple[str, str]],
    splits: list[tuple[str, str, int]],
    next_entity: int,
) -> None:
    seqs = [int(r["seq"]) for r in removed]
    cursor.execute("DELETE FROM keys WHERE seq IN (SELECT unnest(?::BIGINT[]))", [seqs])
    cursor.execute("DELETE FROM records WHERE seq IN (SELECT unnest(?::BIGINT[]))", [seqs])
    gone = [str(r["record_id"]) for r in removed]
    cursor.execute(
        "DELETE FROM review_pairs WHERE record_id_l IN (SELECT unnest(?::VARCHAR[])) "
        "OR record_id_r IN (SELECT unnest(?::VARCHAR[]))",
        [gone, gone],
    )
    for column, counts in tf_removed.items():
        cursor.execute(
            "UPDATE tf SET n = tf.n - c.n FROM (SELECT unnest(?::VARCHAR[]) AS value, "
            "unnest(?::BIGINT[]) AS n) AS c WHERE tf.column_name = ? AND tf.value = c.value",
            [list(counts), list(counts.values()), column],
        )
    cursor.execute("DELETE FROM tf WHERE n <= 0")
    if reassign:
        cursor.execute(
            "UPDATE records SET entity_id = r.entity_id FROM (SELECT unnest(?::VARCHAR[]) AS "
            "record_id, unnest(?::VARCHAR[]) AS entity_id) AS r "
            "WHERE records.record_id = r.record_id",
            [[r for r, _ in reassign], [e for _, e in reassign]],
        )
    for old, new, created in splits:
        cursor.execute("INSERT INTO entities VALUES (?, ?, NULL)", [new, created])
        cursor.execute("INSERT INTO splits (entity_id, new_entity_id) VALUES (?, ?)", [old, new])
    cursor.execute("UPDATE meta SET value = ? WHERE key = 'next_entity'", [str(next_entity)])
