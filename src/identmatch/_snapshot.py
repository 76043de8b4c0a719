"""An in-memory, read-only view of an index for millisecond searches.

Blocking keys are held as sorted arrays of 64-bit hashes with the row each belongs to, so
finding a query's candidates is a few binary searches; records are held as an Arrow table
(compact, columnar). A snapshot is never changed: after a write a new one replaces it, so a
search always sees one consistent state. After an add, :meth:`Snapshot.extended` builds the
new snapshot from the old one and the added rows alone (new keys go to a small sorted "delta"
array that is folded into the main one when it grows), so an add costs time in proportion to
the records added, not to the size of the index.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from identmatch._scoring import TfShares

__all__ = ["Snapshot", "load_tf"]

_MAX_CHUNKS = 32


def _arrow(
    cursor: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
) -> pa.Table:
    table = cursor.sql(sql, params=params or None).to_arrow_table()
    if table is None:  # pragma: no cover - a SELECT always returns a table
        msg = "the index query returned no result"
        raise RuntimeError(msg)
    return table


def _sorted(hashes: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(hashes, kind="stable")
    return hashes[order], rows[order]


def load_tf(cursor: duckdb.DuckDBPyConnection) -> dict[str, TfShares]:
    """Term-frequency counts from the index's ``tf`` table."""
    counts: dict[str, dict[Any, int]] = {}
    for column, value, n in cursor.execute("SELECT column_name, value, n FROM tf").fetchall():
        counts.setdefault(str(column), {})[value] = int(n)
    return {column: TfShares(values) for column, values in counts.items()}


class Snapshot:
    """Records, key hashes, entity membership and term frequencies of an index."""

    def __init__(
        self,
        records: pa.Table,
        keys: tuple[np.ndarray, np.ndarray],
        delta: tuple[np.ndarray, np.ndarray],
        entity: list[str],
        tf: dict[str, TfShares],
    ) -> None:
        self.records = records
        self._hashes, self._rows = keys
        self._delta_hashes, self._delta_rows = delta
        self._entity = entity
        self.tf = tf
        self._seq = records.column("seq").to_numpy()
        self._by_id: dict[str, int] = {}
        self._members: dict[str, list[int]] = {}

    @classmethod
    def load(cls, cursor: duckdb.DuckDBPyConnection) -> Snapshot:
        """Everything, read from an index connection."""
        records = _arrow(cursor, "SELECT * FROM records ORDER BY seq")
        seq = records.column("seq").to_numpy()
        keys = _arrow(cursor, "SELECT key_hash, seq FROM keys")
        rows = np.searchsorted(seq, keys.column("seq").to_numpy())
        hashes = keys.column("key_hash").to_numpy().astype(np.uint64)
        entity = [str(e) for e in records.column("entity_id").to_pylist()]
        empty = (np.empty(0, np.uint64), np.empty(0, np.int64))
        snapshot = cls(records, _sorted(hashes, rows), empty, entity, load_tf(cursor))
        snapshot._by_id = {str(r): i for i, r in enumerate(records.column("record_id").to_pylist())}
        for row, e in enumerate(entity):
            snapshot._members.setdefault(e, []).append(row)
        return snapshot

    def extended(
        self,
        cursor: duckdb.DuckDBPyConnection,
        first_seq: int,
        merged_into: Mapping[str, str],
        tf_added: Mapping[str, Mapping[Any, int]],
    ) -> Snapshot:
        """This snapshot plus the rows an add committed (``seq >= first_seq``).

        Args:
            cursor: a connection to the index, after the add committed.
            first_seq: the first sequence number the add wrote.
            merged_into: entity ids the add merged away, each to the id it kept.
            tf_added: term-frequency counts of the added records, per column.
        """
        new = _arrow(cursor, "SELECT * FROM records WHERE seq >= ? ORDER BY seq", [first_seq])
        base = self.records.num_rows
        records = pa.concat_tables([self.records, new])
        if records.column(0).num_chunks > _MAX_CHUNKS:
            records = records.combine_chunks()
        keys = _arrow(cursor, "SELECT key_hash, seq FROM keys WHERE seq >= ?", [first_seq])
        new_seq = new.column("seq").to_numpy()
        rows = base + np.searchsorted(new_seq, keys.column("seq").to_numpy())
        hashes = keys.column("key_hash").to_numpy().astype(np.uint64)
        delta = _sorted(
            np.concatenate([self._delta_hashes, hashes]),
            np.concatenate([self._delta_rows, rows]),
        )
        main = (self._hashes, self._rows)
        if len(delta[0]) > 100_000 + len(main[0]) // 20:
            main = _sorted(np.concatenate([main[0], delta[0]]), np.concatenate([main[1], delta[1]]))
            delta = (np.empty(0, np.uint64), np.empty(0, np.int64))

        def final(entity: str) -> str:
            while entity in merged_into:
                entity = merged_into[entity]
            return entity

        entity = list(self._entity)
        members = dict(self._members)
        for gone in merged_into:
            kept = final(gone)
            moved = members.pop(gone, [])
            for row in moved:
                entity[row] = kept
            members[kept] = sorted([*members.get(kept, []), *moved])
        by_id = dict(self._by_id)
        added = [str(e) for e in new.column("entity_id").to_pylist()]
        for offset, (record_id, e) in enumerate(
            zip(new.column("record_id").to_pylist(), added, strict=True)
        ):
            row = base + offset
            entity.append(e)
            by_id[str(record_id)] = row
            members[e] = [*members.get(e, []), row]
        tf = dict(self.tf)
        for column, counts in tf_added.items():
            tf[column] = (tf.get(column) or TfShares({})).plus(counts)
        snapshot = Snapshot(records, main, delta, entity, tf)
        snapshot._by_id, snapshot._members = by_id, members
        return snapshot

    def __len__(self) -> int:
        return int(self.records.num_rows)

    def row_of(self, record_id: str) -> int | None:
        """The row of a record id, or None."""
        return self._by_id.get(str(record_id))

    def _take(self, rows: list[int]) -> list[dict[str, Any]]:
        taken: list[dict[str, Any]] = self.records.take(pa.array(rows, pa.int64())).to_pylist()
        for row, record in zip(rows, taken, strict=True):
            record["entity_id"] = self._entity[row]
        return taken

    def record(self, row: int) -> dict[str, Any]:
        """One record by row."""
        return self._take([row])[0]

    def candidates(self, hashes: Iterable[int], *, limit: int = 5_000) -> list[dict[str, Any]]:
        """Records sharing at least one key hash (at most ``limit``, earliest added first)."""
        found: set[int] = set()
        for h in hashes:
            value = np.uint64(h)
            for sorted_hashes, owners in (
                (self._hashes, self._rows),
                (self._delta_hashes, self._delta_rows),
            ):
                start = int(np.searchsorted(sorted_hashes, value, side="left"))
                end = int(np.searchsorted(sorted_hashes, value, side="right"))
                if end > start:
                    found.update(owners[start:end].tolist())
        rows = sorted(found)[:limit]
        return self._take(rows) if rows else []

    def members(self, entity_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The records of the given entities, in the order they were added."""
        rows = sorted(row for e in entity_ids for row in self._members.get(e, ()))
        return self._take(rows) if rows else []
