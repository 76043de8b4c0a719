"""An in-memory, read-only view of an index for millisecond searches.

Blocking keys are held as sorted arrays of 64-bit hashes with the row each belongs to, so
finding a query's candidates is a few binary searches. Each record is held as one tuple of
shared (interned) values, in column order: reading a candidate touches one small block of
memory rather than one list per column (on a million records, every column lookup is a
cache miss), and a value that many records share (a year, a forename, a list of name keys)
is stored once.

A snapshot is never changed: after a write a new one replaces it, so a search always sees one
consistent state. After an add, :meth:`Snapshot.applied` builds the new snapshot from the old
one and the added rows alone (new keys go to a small sorted "delta" array that is folded into
the main one when it grows), so an add costs time in proportion to the records added. A
removal or a decision's moves go into small overlays the same way (removed rows are kept, but
dead), so no change reloads the index.

Every change reaches a snapshot as a :class:`Change`, which names records by id and sequence
number, never by row: a search worker process holding its own copy of the snapshot
(``identmatch._service.workers``) applies the same changes in the same order and stays equal
to the index's own.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa

from identmatch._candidates.blocking import BlockingRule, CandidateSettings
from identmatch._candidates.choose import rank_query_candidates
from identmatch._index.tables import FileTables, HeldTables, Loader, Tables, read_arrow
from identmatch._model.scoring import TfShares

__all__ = ["Change", "FileTables", "HeldTables", "Loader", "Snapshot", "Tables"]

KeyArrays = tuple[np.ndarray, np.ndarray]
"""Sorted key hashes (uint64) and the row of each (int64)."""
Rows = list[tuple[Any, ...]]
"""Records, one tuple of values per row, in the order of the snapshot's column names."""

FOLD_AT = 100_000
"""Delta keys are folded into the main arrays beyond this many (plus 5% of the main ones)."""


def _sorted(hashes: np.ndarray, rows: np.ndarray) -> KeyArrays:
    order = np.argsort(hashes, kind="stable")
    return hashes[order], rows[order]


def _interned(values: list[Any], pool: dict[Any, Any]) -> list[Any]:
    """Values with equal ones shared; lists become tuples (hashable, and smaller)."""
    out = []
    for value in values:
        if isinstance(value, list):
            value = tuple(value)
        out.append(pool.setdefault(value, value) if value is not None else None)
    return out


def _rows(columns: Mapping[str, list[Any]], names: Iterable[str]) -> Rows:
    """Column lists (all of one length) as row tuples, values in the order of ``names``."""
    return list(zip(*(columns[name] for name in names), strict=True))


def _settle() -> None:
    """Move everything allocated so far out of the cyclic garbage collector's reach.

    A loaded index is tens of millions of Python objects that never form cycles; without
    this, every full collection walks all of them (about a second on a million records),
    which would land in the middle of some search. They are still freed by reference
    counting when the index is closed or replaced.
    """
    gc.collect()
    gc.freeze()


def _tf_for(
    cursor: duckdb.DuckDBPyConnection, columns: Mapping[str, list[Any]]
) -> dict[str, TfShares]:
    """Counts of just the values in ``columns``, with each tf column's whole total."""
    totals = dict(
        cursor.execute("SELECT column_name, sum(n) FROM tf GROUP BY column_name").fetchall()
    )
    out: dict[str, TfShares] = {}
    for column, total in totals.items():
        values = sorted({v for v in columns.get(str(column), ()) if v is not None})
        found = cursor.execute(
            "SELECT value, n FROM tf WHERE column_name = ? "
            "AND value IN (SELECT unnest(?::VARCHAR[]))",
            [column, values],
        ).fetchall()
        out[str(column)] = TfShares({v: int(n) for v, n in found}, int(total))
    return out


def _tf_from_rows(rows: Iterable[tuple[str, Any, int]]) -> dict[str, TfShares]:
    counts: dict[str, dict[Any, int]] = {}
    for column, value, n in rows:
        counts.setdefault(column, {})[value] = n
    return {column: TfShares(values) for column, values in counts.items()}


@dataclass(frozen=True)
class Change:
    """One committed change of an index, as a snapshot applies it.

    Records are named by id (and added rows by sequence number), never by row number, so a
    copy of the snapshot built elsewhere applies it the same way.
    """

    kind: Literal["extend", "regroup", "remove"]
    records: pa.Table | None = None
    """``extend``: the added rows of the records table, in ``seq`` order."""
    keys: pa.Table | None = None
    """``extend``: their blocking keys (``key_hash``, ``seq``)."""
    merged_into: dict[str, str] = field(default_factory=dict)
    """``extend``: entity ids the add merged away, each to the id it kept."""
    tf: dict[str, dict[Any, int]] = field(default_factory=dict)
    """Term-frequency counts added (``extend``) or taken away (``remove``, negative)."""
    moved: dict[str, str] = field(default_factory=dict)
    """``regroup`` and ``remove``: record id -> the entity it is in now."""
    removed: tuple[str, ...] = ()
    """``remove``: the record ids removed."""

    @classmethod
    def extend(
        cls,
        cursor: duckdb.DuckDBPyConnection,
        first_seq: int,
        merged_into: Mapping[str, str],
        tf_added: Mapping[str, Mapping[Any, int]],
    ) -> Change:
        """What an add committed (``seq >= first_seq``), read back from the index."""
        records = read_arrow(
            cursor, "SELECT * FROM records WHERE seq >= ? ORDER BY seq", [first_seq]
        )
        keys = read_arrow(cursor, "SELECT key_hash, seq FROM keys WHERE seq >= ?", [first_seq])
        tf = {c: dict(counts) for c, counts in tf_added.items()}
        return cls("extend", records=records, keys=keys, merged_into=dict(merged_into), tf=tf)


class Snapshot:
    """Records, key hashes, entity membership and term frequencies of an index."""

    def __init__(
        self,
        names: tuple[str, ...],
        records: Rows,
        keys: KeyArrays,
        delta: KeyArrays,
        tf: dict[str, TfShares],
        members: dict[str, list[int]],
        by_id: dict[str, int],
        changed: tuple[dict[str, list[int]], dict[int, str]] | None = None,
        total: int | None = None,
        dead: frozenset[int] = frozenset(),
        entities: int | None = None,
    ) -> None:
        self._names = names
        self._records = records
        self._entity_at = names.index("entity_id")
        self._id_at = names.index("record_id")
        self._hashes, self._rows = keys
        self._delta_hashes, self._delta_rows = delta
        self.tf = tf
        self._members = members
        # Entities changed since the base dicts were built: their member rows, and the new
        # entity of rows merged away (both small; folded into the base when they grow).
        self._members_new, self._entity_new = changed or ({}, {})
        self._by_id = by_id
        self._n = len(records)  # rows, dead ones included: the next row's number
        self._total = total
        # Rows of removed records: still in the arrays, never a candidate, member or id.
        self._dead = dead
        self._dead_rows = np.fromiter(sorted(dead), np.int64, len(dead))
        if entities is None and total is None and changed is None:
            entities = len(members)  # the whole index, as loaded
        # Entities in the whole index, kept up to date by the overlays (None: not counted).
        self._entities = entities

    @classmethod
    def load(cls, cursor: duckdb.DuckDBPyConnection) -> Snapshot:
        """Everything, read from an index connection (one column at a time, to bound memory)."""
        return cls.from_tables(FileTables(cursor))

    @classmethod
    def from_tables(cls, tables: Tables) -> Snapshot:
        """A snapshot built from the index's tables: the columns one at a time, then the keys
        (read last, so that no two large tables are held at once)."""
        names = tables.names
        seq = tables.column("seq").to_numpy()
        columns: dict[str, list[Any]] = {}
        for name in names:
            values = tables.column(name).to_pylist()
            columns[name] = values if name == "record_id" else _interned(values, {})
        members: dict[str, list[int]] = {}
        for row, entity in enumerate(columns["entity_id"]):
            members.setdefault(entity, []).append(row)
        by_id = {str(r): i for i, r in enumerate(columns["record_id"])}
        records = _rows(columns, names)
        del columns
        keys = tables.keys()
        rows = np.searchsorted(seq, keys.column("seq").to_numpy())
        hashes = keys.column("key_hash").to_numpy().astype(np.uint64)
        del keys
        empty = (np.empty(0, np.uint64), np.empty(0, np.int64))
        shares = _tf_from_rows(tables.tf())
        snapshot = cls(tuple(names), records, _sorted(hashes, rows), empty, shares, members, by_id)
        _settle()
        return snapshot

    @classmethod
    def around(
        cls,
        cursor: duckdb.DuckDBPyConnection,
        hashes: Iterable[int],
        record_ids: Iterable[str] = (),
        *,
        max_block_size: int | None = None,
        count_entities: bool = False,
    ) -> Snapshot:
        """The part of the index a search or an add for these key hashes can reach.

        Every record sharing one of the keys (or named in ``record_ids``), every record of
        those records' entities, and
        the term frequencies of their values (with whole-column totals), read straight from
        the file: a search on an index that has not been loaded, in some tens of
        milliseconds rather than a full load. Its rows are numbered within the part. With
        ``max_block_size``, keys that many records share already are left out: candidate
        choice would not use them, and a common name token would read thousands of records.
        With ``count_entities``, the part knows the whole index's number of entities.
        """
        wanted = sorted({int(h) for h in hashes})
        keys = read_arrow(
            cursor,
            "SELECT key_hash, seq FROM keys WHERE key_hash IN (SELECT unnest(?::UBIGINT[]))",
            [wanted],
        )
        if max_block_size is not None and keys.num_rows:
            # A key that this many records share already is never used (with the record
            # searched for or added, its block would be over the cap): leave its records out.
            found = keys.column("key_hash").to_numpy().astype(np.uint64)
            values, counts = np.unique(found, return_counts=True)
            usable = values[counts < max_block_size]
            keys = keys.filter(pa.array(np.isin(found, usable)))
        seqs = sorted(set(keys.column("seq").to_pylist()))
        records = read_arrow(
            cursor,
            "SELECT * FROM records WHERE entity_id IN (SELECT entity_id FROM records "
            "WHERE seq IN (SELECT unnest(?::BIGINT[])) "
            "OR record_id IN (SELECT unnest(?::VARCHAR[]))) ORDER BY seq",
            [seqs, [str(r) for r in record_ids]],
        )
        seq = records.column("seq").to_numpy()
        rows = np.searchsorted(seq, keys.column("seq").to_numpy())
        hashes_found = keys.column("key_hash").to_numpy().astype(np.uint64)
        columns = {
            name: _interned(records.column(name).to_pylist(), {}) for name in records.column_names
        }
        members: dict[str, list[int]] = {}
        for row, entity in enumerate(columns["entity_id"]):
            members.setdefault(entity, []).append(row)
        by_id = {str(r): i for i, r in enumerate(columns["record_id"])}
        empty = (np.empty(0, np.uint64), np.empty(0, np.int64))
        tf = _tf_for(cursor, columns)
        names = tuple(records.column_names)
        keys_found = _sorted(hashes_found, rows)
        total = int(cursor.execute("SELECT count(*) FROM records").fetchall()[0][0])
        entities = None
        if count_entities:  # a search's prior needs it; some tens of ms on a million records
            sql = "SELECT count(DISTINCT entity_id) FROM records"
            entities = int(cursor.execute(sql).fetchall()[0][0])
        part = _rows(columns, names)
        return cls(
            names, part, keys_found, empty, tf, members, by_id, total=total, entities=entities
        )

    def applied(self, change: Change) -> Snapshot:
        """This snapshot with one committed change applied (this one is left as it is)."""
        if change.kind == "extend":
            return self._extended(change)
        if change.kind == "remove":
            return self._without(change)
        return self._regrouped(change.moved)

    def _extended(self, change: Change) -> Snapshot:
        """This snapshot plus the rows an add committed."""
        new, new_keys = change.records, change.keys
        assert new is not None
        assert new_keys is not None
        merged_into = change.merged_into
        base = self._n
        # Rows are appended to in place: this snapshot never reads past its own rows, and
        # only the latest snapshot is ever extended. Entity ids that merges change are kept
        # in a small overlay, so nothing of size N is copied.
        records = self._records
        if len(records) != base:  # pragma: no cover
            msg = "only the latest snapshot can be extended"
            raise RuntimeError(msg)
        added = {name: _interned(new.column(name).to_pylist(), {}) for name in self._names}
        records.extend(_rows(added, self._names))
        seqs = new.column("seq").to_numpy()
        rows = base + np.searchsorted(seqs, new_keys.column("seq").to_numpy())
        hashes = new_keys.column("key_hash").to_numpy().astype(np.uint64)
        delta = _sorted(
            np.concatenate([self._delta_hashes, hashes]),
            np.concatenate([self._delta_rows, rows]),
        )
        main = (self._hashes, self._rows)
        if len(delta[0]) > FOLD_AT + len(main[0]) // 20:
            main = _sorted(np.concatenate([main[0], delta[0]]), np.concatenate([main[1], delta[1]]))
            delta = (np.empty(0, np.uint64), np.empty(0, np.int64))

        def final(entity: str) -> str:
            while entity in merged_into:
                entity = merged_into[entity]
            return entity

        overlay = _Overlay(self)
        for gone in merged_into:
            kept = final(gone)
            for row in overlay.rows_of(gone):
                overlay.move(row, gone, kept)
        by_id = self._by_id  # shared too: row_of ignores rows past a snapshot's own
        for row in range(base, len(records)):
            entity = records[row][self._entity_at]
            overlay.set_rows(entity, [*overlay.rows_of(entity), row])
            by_id[str(records[row][self._id_at])] = row
        snapshot = overlay.snapshot(records, main, delta, self._tf_plus(change.tf), None)
        gc.freeze()  # what this add allocated (see _settle); no full collection here
        return snapshot

    def _tf_plus(self, counts: Mapping[str, Mapping[Any, int]]) -> dict[str, TfShares]:
        tf = dict(self.tf)
        for column, by_value in counts.items():
            tf[column] = (tf.get(column) or TfShares({})).plus(by_value)
        return tf

    def _without(self, change: Change) -> Snapshot:
        """This snapshot without the removed records, and with the records that split off
        their entity moved (the rows stay, dead: nothing of size N is copied)."""
        overlay = _Overlay(self)
        dead = set(self._dead)
        for record_id in change.removed:
            row = self.row_of(record_id)
            if row is None:
                continue
            entity = overlay.entity_of(row)
            overlay.set_rows(entity, [r for r in overlay.rows_of(entity) if r != row])
            dead.add(row)
        overlay.dead = frozenset(dead)
        for record_id, entity in change.moved.items():
            row = self.row_of(record_id)
            if row is not None and row not in dead:
                overlay.move(row, overlay.entity_of(row), entity)
        keys = (self._hashes, self._rows)
        delta = (self._delta_hashes, self._delta_rows)
        total = None if self._total is None else self._total - (len(dead) - len(self._dead))
        return overlay.snapshot(self._records, keys, delta, self._tf_plus(change.tf), total)

    def _regrouped(self, moved: Mapping[str, str]) -> Snapshot:
        """This snapshot with some records in other entities (a decision's split or merge)."""
        overlay = _Overlay(self)
        for record_id, entity in moved.items():
            row = self.row_of(record_id)
            if row is not None:
                overlay.move(row, overlay.entity_of(row), entity)
        keys = (self._hashes, self._rows)
        delta = (self._delta_hashes, self._delta_rows)
        return overlay.snapshot(self._records, keys, delta, self.tf, self._total)

    def __len__(self) -> int:
        return self._n - len(self._dead)

    @property
    def entities_total(self) -> int:
        """Entities in the whole index (a part read by :meth:`around` counts them if asked)."""
        if self._entities is None:
            msg = "this part of the index was read without counting its entities"
            raise RuntimeError(msg)
        return self._entities

    @property
    def records_total(self) -> int:
        """Records in the whole index (a part read by :meth:`around` holds fewer)."""
        return len(self) if self._total is None else self._total

    def row_of(self, record_id: str) -> int | None:
        """The row of a record id, or None."""
        row = self._by_id.get(str(record_id))
        if row is None or row >= self._n or row in self._dead:
            return None
        return row

    def record(self, row: int) -> dict[str, Any]:
        """One record by row: column name -> value (list columns as tuples)."""
        out = dict(zip(self._names, self._records[row], strict=True))
        if row in self._entity_new:
            out["entity_id"] = self._entity_new[row]
        return out

    def member_rows(self, entity_id: str) -> list[int]:
        """Rows of one entity's records, in the order they were added."""
        if entity_id in self._members_new:
            return self._members_new[entity_id]
        return self._members.get(entity_id, [])

    def sharing(self, hashes: Iterable[int]) -> dict[int, np.ndarray]:
        """Key hash -> rows sharing it, for each of ``hashes`` that any row holds."""
        wanted = np.fromiter(hashes, dtype=np.uint64)
        out: dict[int, np.ndarray] = {}
        for sorted_hashes, owners in (
            (self._hashes, self._rows),
            (self._delta_hashes, self._delta_rows),
        ):
            if not sorted_hashes.size or not wanted.size:
                continue
            starts = np.searchsorted(sorted_hashes, wanted, side="left").tolist()
            ends = np.searchsorted(sorted_hashes, wanted, side="right").tolist()
            for hashed, start, end in zip(wanted.tolist(), starts, ends, strict=True):
                if end > start:
                    rows = owners[start:end]
                    if self._dead:
                        rows = rows[~np.isin(rows, self._dead_rows)]
                        if not rows.size:
                            continue
                    out[hashed] = np.concatenate([out[hashed], rows]) if hashed in out else rows
        return out

    def candidates(
        self,
        keys: Iterable[tuple[int, int]],
        rules: Sequence[BlockingRule],
        settings: CandidateSettings,
        *,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The best candidates for a record with these ``(rule, key hash)`` keys.

        Chosen as a batch run chooses them
        (:func:`identmatch._candidates.choose.rank_query_candidates`):
        keys shared by too many records are not used, and candidates rank by the rarity of
        the keys they share.
        """
        keys = list(keys)
        found = self.sharing(hashed for _, hashed in keys)
        rows_of = {hashed: rows.tolist() for hashed, rows in found.items()}
        total = self.records_total + 1
        rows = rank_query_candidates(keys, rows_of, rules, total, settings, limit=limit)
        return [self.record(row) for row in rows]

    def members(self, entity_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The records of the given entities, in the order they were added."""
        rows = sorted(row for e in entity_ids for row in self.member_rows(e))
        return [self.record(row) for row in rows]


class _Overlay:
    """The small overlays of a snapshot being changed: entity members and moved rows.

    Folded into new base dicts (a copy of size N, amortised) once they grow past
    ``FOLD_AT``.
    """

    def __init__(self, base: Snapshot) -> None:
        self.base = base
        self.members_new = dict(base._members_new)
        self.entity_new = dict(base._entity_new)
        self.dead = base._dead
        self.entities = base._entities

    def rows_of(self, entity: str) -> list[int]:
        if entity in self.members_new:
            return self.members_new[entity]
        return self.base._members.get(entity, [])

    def entity_of(self, row: int) -> str:
        return self.entity_new.get(row) or str(self.base._records[row][self.base._entity_at])

    def move(self, row: int, old: str, new: str) -> None:
        if old == new:
            return
        self.set_rows(old, [r for r in self.rows_of(old) if r != row])
        self.set_rows(new, sorted([*self.rows_of(new), row]))
        self.entity_new[row] = new

    def set_rows(self, entity: str, rows: list[int]) -> None:
        """Set an entity's member rows, counting an entity that starts or ends."""
        if self.entities is not None:
            self.entities += bool(rows) - bool(self.rows_of(entity))
        self.members_new[entity] = rows

    def snapshot(
        self,
        records: Rows,
        keys: KeyArrays,
        delta: KeyArrays,
        tf: dict[str, TfShares],
        total: int | None,
    ) -> Snapshot:
        base = self.base
        members, members_new, entity_new = base._members, self.members_new, self.entity_new
        if len(members_new) + len(entity_new) > FOLD_AT:
            members = {**members, **members_new}
            members = {e: rows for e, rows in members.items() if rows}
            records = list(records)
            at = base._entity_at
            for row, e in entity_new.items():
                fixed = list(records[row])
                fixed[at] = e
                records[row] = tuple(fixed)
            members_new, entity_new = {}, {}
        changed = (members_new, entity_new)
        return Snapshot(
            base._names,
            records,
            keys,
            delta,
            tf,
            members,
            base._by_id,
            changed,
            total=total,
            dead=self.dead,
            entities=self.entities,
        )
