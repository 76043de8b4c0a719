"""The audit trail: who looked whom up, when and why, kept in the index file itself.

Each entry holds the time (UTC), the API key id, the action, the caller's stated purpose,
a fingerprint of the query and the entity and record ids involved. The fingerprint is an
HMAC-SHA256 of the normalised query under a secret kept in the index file, so the trail
never holds names or dates, yet an auditor holding the file can check whether a given
person was searched for (:meth:`AuditLog.fingerprint` of that person, then look it up).

Writes are group-committed: concurrent callers' entries are written by one thread in one
transaction, and each caller is released only once its entry is committed.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import queue
import threading
import time
import unicodedata
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import duckdb
from pydantic import BaseModel

from identmatch._exceptions import ConfigError
from identmatch._index.audit_chain import (
    ANCHOR_KEY,
    CHECK_KEY,
    ChainReport,
    chain_hash,
    key_check,
    new_chain_key,
    read_chain_key,
    verify_chain,
)
from identmatch._index.store import connect_index, cursor, new_cursor
from identmatch._types import AuditAction

if TYPE_CHECKING:
    from identmatch._index.index import Index

__all__ = ["AuditEntry", "AuditLog", "read_audit"]

_COLUMNS = (
    "audit_id",
    "logged_at",
    "key_id",
    "action",
    "purpose",
    "fingerprint",
    "entity_ids",
    "record_ids",
    "detail",
    "chain",
)


class AuditEntry(BaseModel, frozen=True, extra="forbid"):
    """One audited call: no names or dates, only ids, the purpose and a fingerprint."""

    audit_id: int
    logged_at: datetime
    """When the entry was made (UTC, no time zone attached)."""
    key_id: str
    """The id of the API key that made the call (or ``cli`` for a local command)."""
    action: AuditAction
    purpose: str | None
    """The reason the caller gave (a case reference, for instance)."""
    fingerprint: str | None
    """HMAC-SHA256 (hex) of the normalised query under the index's secret; searches only."""
    entity_ids: tuple[str, ...] = ()
    """Entities returned (search), read (entity) or changed (add, remove)."""
    record_ids: tuple[str, ...] = ()
    """Records added or removed."""
    detail: str | None = None
    """A refused call (``denied``): status, method, route and client address; a local
    export or search of a file: how many records or queries."""
    chain: str | None = None
    """HMAC-SHA256 sealing this entry to the one before, under the chain key; None when the
    entry was written without one (see ``identmatch._index.audit_chain``)."""


def _normalise(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return sorted(str(_normalise(v)) for v in value if v is not None)
    text = unicodedata.normalize("NFKC", str(value)).casefold()
    return " ".join(text.split())


class _Pending(NamedTuple):
    row: tuple[Any, ...]
    future: Future[int]


class AuditLog:
    """Append-only audit entries in an index file, committed before the caller goes on.

    Example::

        log = identmatch.AuditLog(index)
        audit_id = log.write(key_id="k1", action="search", purpose="case 123",
                             fingerprint=log.fingerprint(person), entity_ids=["E000007"])
    """

    def __init__(
        self,
        index: Index,
        *,
        min_commit_interval: float = 0.01,
        chain_key: bytes | None = None,
    ) -> None:
        """Keep entries in ``index`` (opened writable).

        Args:
            index: the index whose file holds the trail.
            min_commit_interval: seconds between the starts of two commits. A DuckDB commit
                costs about 2 ms of CPU however many entries it holds, so under load entries
                wait up to this long to share one; an entry arriving after a quiet spell is
                committed at once.
            chain_key: the 32-byte key (:meth:`read_key`) chaining each entry to the one
                before, kept outside the index file. Once a trail has been chained, every
                writer must give the same key.

        Raises:
            ConfigError: the index is read-only, or ``chain_key`` is missing or wrong for a
                chained trail.
        """
        self._connection = index._connection  # the trail lives in the index file itself
        with self._cursor() as cursor:
            found = cursor.execute("SELECT value FROM meta WHERE key = 'audit_key'").fetchall()
            read_only = cursor.execute(
                "SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()"
            ).fetchall()
            if not found or read_only[0][0]:
                msg = f"{index.path.name}: open the index writable to keep an audit trail"
                raise ConfigError(msg)
            self._secret = bytes.fromhex(str(found[0][0]))
            top = cursor.execute("SELECT coalesce(max(audit_id), 0) FROM audit").fetchall()
            self._head = self._chain_head(cursor, index.path.name, chain_key)
        self._next_id = int(top[0][0]) + 1
        self._chain_key = chain_key
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._commits: list[tuple[int, float]] = []  # (entries, seconds) per commit, recent
        self._interval = min_commit_interval

    def _cursor(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return cursor(self._connection)

    @staticmethod
    def _chain_head(cursor: duckdb.DuckDBPyConnection, name: str, key: bytes | None) -> str:
        """The newest entry's chain (where the next entry links); checks the key first."""
        meta = dict(
            cursor.execute(
                "SELECT key, value FROM meta WHERE key IN (?, ?)", [CHECK_KEY, ANCHOR_KEY]
            ).fetchall()
        )
        check = meta.get(CHECK_KEY)
        if key is None:
            if check is not None:
                msg = (
                    f"{name}: its audit trail is chained; give its chain key "
                    "(--audit-key-file, or audit_key_file in service.toml)"
                )
                raise ConfigError(msg)
            return ""
        if check is None:
            cursor.execute("INSERT INTO meta VALUES (?, ?)", [CHECK_KEY, key_check(key)])
        elif not hmac.compare_digest(str(check), key_check(key)):
            msg = f"{name}: that is not this audit trail's chain key"
            raise ConfigError(msg)
        last = cursor.execute(
            "SELECT chain FROM audit WHERE chain IS NOT NULL ORDER BY audit_id DESC LIMIT 1"
        ).fetchall()
        if last:
            return str(last[0][0])
        anchor = meta.get(ANCHOR_KEY)
        return str(anchor).split(":", 1)[1] if anchor else ""

    @staticmethod
    def read_key(path: str | Path) -> bytes:
        """The chain key in ``path`` (see :meth:`new_key`); the file must be owner-only."""
        return read_chain_key(path)

    @staticmethod
    def new_key(path: str | Path) -> None:
        """Write a new random chain key to ``path`` (created exclusively, mode 0600)."""
        new_chain_key(path)

    @staticmethod
    def verify(path: str | Path, chain_key: bytes) -> ChainReport:
        """Check an index file's audit chain under ``chain_key``, reading it read-only."""
        target = Path(path)
        if not target.is_file():
            msg = f"{target}: no such index file"
            raise ConfigError(msg)
        connection = connect_index(target, read_only=True)
        try:
            meta = {
                str(k): str(v)
                for k, v in connection.execute(
                    "SELECT key, value FROM meta WHERE key IN (?, ?)", [CHECK_KEY, ANCHOR_KEY]
                ).fetchall()
            }
            entries = _select(connection, None)
        finally:
            connection.close()
        return verify_chain(
            chain_key,
            meta,
            [(e.audit_id, e.logged_at, _row_of(e), e.chain) for e in entries],
        )

    def purge(self, before: datetime) -> int:
        """Delete the entries logged before ``before`` (UTC); returns how many went.

        The chain goes on from the last entry removed (its id and chain become the anchor),
        and a ``purge`` entry records that anchor, sealed into the chain. The removed rows'
        bytes stay in the file until the index is compacted.
        """
        if before.tzinfo is not None:
            before = before.astimezone(UTC).replace(tzinfo=None)
        self.close()  # everything queued is committed first
        with self._cursor() as cursor:
            found = cursor.execute(
                "SELECT audit_id, chain FROM audit WHERE audit_id = "
                "(SELECT max(audit_id) FROM audit WHERE logged_at < ?)",
                [before],
            ).fetchall()
            if not found:
                return 0
            last_id, last_chain = int(found[0][0]), found[0][1]
            anchor = f"{last_id}:{last_chain or ''}"
            cursor.execute("BEGIN TRANSACTION")
            try:
                removed = cursor.execute(
                    "DELETE FROM audit WHERE audit_id <= ?", [last_id]
                ).fetchall()
                cursor.execute(
                    "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = ?",
                    [ANCHOR_KEY, anchor, anchor],
                )
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
        count = int(removed[0][0])
        self.write(
            key_id="cli",
            action="purge",
            detail=f"{count} entries logged before {before:%Y-%m-%dT%H:%M:%S}Z removed; "
            f"anchor {anchor}",
        )
        return count

    def about(self, entity_id: str, record_ids: Iterable[str]) -> list[AuditEntry]:
        """Every entry naming the entity or one of ``record_ids`` (a subject access request)."""
        ids = list(record_ids)
        with self._cursor() as cursor:
            return [
                e
                for e in _select(cursor, None)
                if entity_id in e.entity_ids or any(r in e.record_ids for r in ids)
            ]

    def fingerprint(self, person: Mapping[str, Any]) -> str:
        """HMAC-SHA256 (hex) of a query, after folding case, width and spacing.

        The same person asked for with the same values (in any case or spacing) gives the
        same fingerprint in the same index file; without the file's secret it cannot be
        recomputed, so it does not reveal the names it was made from.
        """
        items = sorted(
            (str(k), _normalise(v)) for k, v in person.items() if v is not None and v != ""
        )
        canonical = repr(items).encode("utf-8")
        return hmac.new(self._secret, canonical, hashlib.sha256).hexdigest()

    def submit(
        self,
        *,
        key_id: str,
        action: AuditAction,
        purpose: str | None = None,
        fingerprint: str | None = None,
        entity_ids: Iterable[str] = (),
        record_ids: Iterable[str] = (),
        detail: str | None = None,
    ) -> Future[int]:
        """Queue an entry; the future gives its ``audit_id`` once it is committed."""
        now = datetime.now(UTC).replace(tzinfo=None)
        row = (
            now,
            key_id,
            action,
            purpose,
            fingerprint,
            list(entity_ids),
            list(record_ids),
            detail,
        )
        future: Future[int] = Future()
        self._start()
        self._queue.put(_Pending(row, future))
        return future

    def write(
        self,
        *,
        key_id: str,
        action: AuditAction,
        purpose: str | None = None,
        fingerprint: str | None = None,
        entity_ids: Iterable[str] = (),
        record_ids: Iterable[str] = (),
        detail: str | None = None,
    ) -> int:
        """Write one entry and wait until it is committed; returns its ``audit_id``."""
        future = self.submit(
            key_id=key_id,
            action=action,
            purpose=purpose,
            fingerprint=fingerprint,
            entity_ids=entity_ids,
            record_ids=record_ids,
            detail=detail,
        )
        return future.result()

    @staticmethod
    def read(path: str | Path, *, since: datetime | None = None) -> list[AuditEntry]:
        """Entries of an index file, read without loading the index (oldest first).

        The file must not be open in another process (a running service holds it).

        Raises:
            ConfigError: ``path`` is not a file.
        """
        return read_audit(path, since=since)

    def entries(
        self, *, since: datetime | None = None, after: int = 0, limit: int | None = None
    ) -> list[AuditEntry]:
        """Entries at or after ``since`` (UTC) with ids above ``after``, oldest first.

        At most ``limit`` of them (all when None): page with ``after`` = the last id seen.
        """
        with self._cursor() as cursor:
            return _select(cursor, since, after=after, limit=limit)

    def returned(self, key_id: str, entity_id: str, *, since: datetime) -> bool:
        """Whether a search or change by ``key_id`` at or after ``since`` (UTC) named the entity.

        A key may read an entity's records only when its own search returned it (or its own
        add, removal, review-queue read or decision touched it): reading by id alone would
        let it walk the index.
        """
        if since.tzinfo is not None:
            since = since.astimezone(UTC).replace(tzinfo=None)
        with self._cursor() as cursor:
            found = cursor.execute(
                "SELECT 1 FROM audit WHERE key_id = ? "
                "AND action IN ('search', 'add', 'remove', 'queue', 'decision') "
                "AND logged_at >= ? AND list_contains(entity_ids, ?) LIMIT 1",
                [key_id, since, entity_id],
            ).fetchall()
        return bool(found)

    def commit_stats(self) -> dict[str, float]:
        """Over the last 10,000 commits: commits, entries per commit, p50/p99 commit ms."""
        if not self._commits:
            return {"commits": 0}
        sizes = [n for n, _ in self._commits]
        times = sorted(t for _, t in self._commits)
        return {
            "commits": len(times),
            "entries_per_commit": round(sum(sizes) / len(sizes), 2),
            "p50_ms": round(1000 * times[len(times) // 2], 2),
            "p99_ms": round(1000 * times[min(len(times) - 1, int(0.99 * len(times)))], 2),
        }

    def close(self) -> None:
        """Commit what is queued and stop the writer thread."""
        with self._start_lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._queue.put(None)
            writer.join()

    def _start(self) -> None:
        if self._writer is None:
            with self._start_lock:
                if self._writer is None:
                    self._writer = threading.Thread(
                        target=self._run, name="identmatch-audit", daemon=True
                    )
                    self._writer.start()

    def _run(self) -> None:
        cursor = new_cursor(self._connection)
        try:
            stop = False
            last = 0.0
            while not stop:
                first = self._queue.get()
                if first is None:
                    break
                wait = self._interval - (time.perf_counter() - last)
                if wait > 0:
                    time.sleep(wait)  # let the entries arriving meanwhile share the commit
                last = time.perf_counter()
                batch = [first]
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
                self._commit(cursor, batch)
        finally:
            cursor.close()

    def _commit(self, cursor: duckdb.DuckDBPyConnection, batch: list[_Pending]) -> None:
        ids = list(range(self._next_id, self._next_id + len(batch)))
        head = self._head
        chains: list[str | None] = []
        for audit_id, pending in zip(ids, batch, strict=True):
            if self._chain_key is None:
                chains.append(None)
                continue
            head = chain_hash(self._chain_key, head, audit_id, pending.row)
            chains.append(head)
        # One multi-row VALUES statement: a DuckDB commit costs about 2 ms of CPU whatever
        # its size, so one per batch, and plain VALUES is half the CPU of unnest().
        row = "(" + ", ".join("?" * len(_COLUMNS)) + ")"
        params = [
            value
            for audit_id, p, chain in zip(ids, batch, chains, strict=True)
            for value in (audit_id, *p.row, chain)
        ]
        began = time.perf_counter()
        try:
            cursor.execute(
                f"INSERT INTO audit ({', '.join(_COLUMNS)}) VALUES "
                + ", ".join([row] * len(batch)),
                params,
            )
        except BaseException as exc:
            for pending in batch:
                pending.future.set_exception(exc)
            return
        self._next_id += len(batch)
        self._head = head
        self._commits.append((len(batch), time.perf_counter() - began))
        del self._commits[:-10_000]
        for audit_id, pending in zip(ids, batch, strict=True):
            pending.future.set_result(audit_id)


def _row_of(entry: AuditEntry) -> tuple[Any, ...]:
    """An entry's fields in the order the chain seals them."""
    return (
        entry.logged_at,
        entry.key_id,
        entry.action,
        entry.purpose,
        entry.fingerprint,
        list(entry.entity_ids),
        list(entry.record_ids),
        entry.detail,
    )


def _select(
    cursor: duckdb.DuckDBPyConnection,
    since: datetime | None,
    *,
    after: int = 0,
    limit: int | None = None,
) -> list[AuditEntry]:
    exists = cursor.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'audit'"
    ).fetchall()
    if not exists[0][0]:
        return []
    if since is not None and since.tzinfo is not None:
        since = since.astimezone(UTC).replace(tzinfo=None)
    present = {
        str(row[0])
        for row in cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'audit'"
        ).fetchall()
    }
    # A file written before a column existed, opened read-only (so not upgraded): NULLs.
    picked = ", ".join(c if c in present else f"NULL AS {c}" for c in _COLUMNS)
    result = cursor.execute(
        f"SELECT {picked} FROM audit "
        "WHERE (?::TIMESTAMP IS NULL OR logged_at >= ?::TIMESTAMP) AND audit_id > ? "
        "ORDER BY audit_id LIMIT ?",
        [since, since, after, limit if limit is not None else 2**62],
    ).fetchall()
    return [
        AuditEntry.model_validate(
            dict(zip(_COLUMNS, row, strict=True))
            | {"entity_ids": tuple(row[6] or ()), "record_ids": tuple(row[7] or ())}
        )
        for row in result
    ]


def read_audit(path: str | Path, *, since: datetime | None = None) -> list[AuditEntry]:
    """Audit entries of an index file, read without loading the index (oldest first).

    Raises:
        ConfigError: ``path`` is not a file.
    """
    target = Path(path)
    if not target.is_file():
        msg = f"{target}: no such index file"
        raise ConfigError(msg)
    connection = connect_index(target, read_only=True)
    try:
        return _select(connection, since)
    finally:
        connection.close()
