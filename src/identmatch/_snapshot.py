"""An in-memory, read-only view of an index for millisecond searches.

Blocking keys are held as a sorted array of 64-bit hashes with the record each belongs to,
so finding a query's candidates is a few binary searches; records are held as an Arrow
table (compact, columnar) indexed by their sequence number. A snapshot is never changed:
after an add, a new one replaces it, so searches always see one consistent state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

__all__ = ["Snapshot", "key_hash"]


def key_hash(key: str) -> int:
    """A stable signed 64-bit hash of a blocking key (the same in every process)."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _arrow(cursor: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    table = cursor.sql(sql).to_arrow_table()
    if table is None:  # pragma: no cover - a SELECT always returns a table
        msg = "the index query returned no result"
        raise RuntimeError(msg)
    return table


class Snapshot:
    """Records, key hashes and entity membership, loaded from an index connection."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self.records: pa.Table = _arrow(cursor, "SELECT * FROM records ORDER BY seq")
        keys = _arrow(cursor, "SELECT key_hash, seq FROM keys")
        hashes = keys.column("key_hash").to_numpy()
        seqs = keys.column("seq").to_numpy()
        order = np.argsort(hashes, kind="stable")
        self._hashes = hashes[order]
        # Keys name records by seq; rows are in seq order but seqs have gaps once records
        # are removed, so translate each seq to its row once here.
        record_seqs = self.records.column("seq").to_numpy()
        self._seqs = np.searchsorted(record_seqs, seqs[order])
        self._rows = {str(r): i for i, r in enumerate(self.records.column("record_id").to_pylist())}
        entity_ids = self.records.column("entity_id").to_pylist()
        self._members: dict[str, list[int]] = {}
        for row, entity in enumerate(entity_ids):
            self._members.setdefault(str(entity), []).append(row)

    def __len__(self) -> int:
        return int(self.records.num_rows)

    def row_of(self, record_id: str) -> int | None:
        """The row of a record id, or None."""
        return self._rows.get(str(record_id))

    def candidates(self, keys: Iterable[str], *, limit: int = 5_000) -> list[dict[str, Any]]:
        """Records sharing at least one blocking key (at most ``limit``, lowest seq first)."""
        found: set[int] = set()
        for key in keys:
            h = key_hash(key)
            start = int(np.searchsorted(self._hashes, h, side="left"))
            end = int(np.searchsorted(self._hashes, h, side="right"))
            found.update(int(s) for s in self._seqs[start:end])
        rows = sorted(found)[:limit]
        if not rows:
            return []
        taken: list[dict[str, Any]] = self.records.take(pa.array(rows, pa.int64())).to_pylist()
        return taken

    def members(self, entity_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The records of the given entities, in the order they were added."""
        rows = sorted(row for e in entity_ids for row in self._members.get(e, ()))
        if not rows:
            return []
        taken: list[dict[str, Any]] = self.records.take(pa.array(rows, pa.int64())).to_pylist()
        return taken
