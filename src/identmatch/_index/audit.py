"""The audit trail: who looked whom up, when and why, kept in the index file itself.

Each entry holds the time (UTC), the API key id, the action, the caller's stated purpose,
a fingerprint of the query and the entity and record ids involved. The fingerprint is an
HMAC-SHA256 of the normalised query under a secret kept in the index file, so the trail
never holds names or dates, yet an auditor holding the file can check whether a given
person was searched for (:meth:`AuditLog.fingerprint` of that person, then look it up).

Writes are group-committed: concurrent callers' entries are written by one thread in one
transaction, and each caller is released only once its entry is committed. A commit that
fails (a full disk) fails every entry in it with :class:`AuditWriteError`, so the call it
audits does not go on; the next commit tries again.

Every entry is chained (``identmatch._index.audit_chain``) from the index's first entry, its
build, under a key kept outside the file; an index holds one log, through which its own
writes are audited too (``Index.audit_log``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
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

from identmatch._exceptions import BackendError, ConfigError
from identmatch._index.audit_chain import (
    ANCHOR_KEY,
    CHECK_KEY,
    ID_KEY,
    ChainReport,
    chain_hash,
    default_key_path,
    find_key,
    missing_key,
    new_chain_key,
    open_chain,
    read_chain_key,
    verify_chain,
)
from identmatch._index.audit_read import (
    COLUMNS,
    AuditEntry,
    chain_meta_of,
    read_audit,
    row_of,
    select_entries,
)
from identmatch._index.audit_seal import append_seal, seal_problems, seal_record
from identmatch._index.store import cursor, new_cursor
from identmatch._types import AuditAction

if TYPE_CHECKING:
    from identmatch._index.index import Index

__all__ = ["AuditEntry", "AuditLog", "AuditWriteError", "read_audit"]

_logger = logging.getLogger("identmatch.audit")


class AuditWriteError(BackendError):
    """An entry could not be committed (a full disk, a failed file): the call it audits
    must not go on. The service answers 503."""


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
            index: the index whose file holds the trail. It keeps this log: the index's own
                writes (adds, removals, decisions) are audited through it.
            min_commit_interval: seconds between the starts of two commits. A DuckDB commit
                costs about 2 ms of CPU however many entries it holds, so under load entries
                wait up to this long to share one; an entry arriving after a quiet spell is
                committed at once.
            chain_key: the 32-byte key (:meth:`read_key`) chaining each entry to the one
                before. None: ``IDENTMATCH_AUDIT_KEY_FILE``'s, else the key made for this
                trail at build (:meth:`key_file`). A trail an older release wrote without a
                chain is chained from its next entry on (with a new key when none is found).

        Raises:
            ConfigError: the index is read-only, or the chain key is missing or wrong.
        """
        self._connection = index._connection  # the trail lives in the index file itself
        self._name = index.path.name
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
            self._next_id = int(top[0][0]) + 1
            self._chain_key, self._head, started = open_chain(
                cursor, index.path.name, chain_key, self._next_id
            )
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._commits: list[tuple[int, float]] = []  # (entries, seconds) per commit, recent
        self._interval = min_commit_interval
        index._audit = self
        if started is not None:
            self.write(
                key_id="identmatch",
                action="chain",
                detail=f"chain starts at entry {started}; the {started - 1} entries before it "
                "were written by an older release, unchained",
            )

    def _cursor(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return cursor(self._connection)

    @property
    def head(self) -> tuple[int, str]:
        """The newest committed entry's id and ``chain`` (what a seal records)."""
        return self._next_id - 1, self._head

    @staticmethod
    def key_file(index: Index | str | Path) -> Path:
        """Where the chain key made for an index's trail is kept (it may not exist): of an
        open index, or of an index file (read without loading it)."""
        if isinstance(index, str | Path):
            name, meta = Path(index).name, chain_meta_of(Path(index))
        else:
            name = index.path.name
            with cursor(index._connection) as opened:
                found = opened.execute("SELECT key, value FROM meta WHERE key = ?", [ID_KEY])
                meta = {str(k): str(v) for k, v in found.fetchall()}
        if ID_KEY not in meta:
            msg = f"{name}: its audit trail has no key of its own (one was given)"
            raise ConfigError(msg)
        return default_key_path(meta[ID_KEY])

    @staticmethod
    def read_key(path: str | Path) -> bytes:
        """The chain key in ``path`` (see :meth:`new_key`); the file must be owner-only."""
        return read_chain_key(path)

    @staticmethod
    def new_key(path: str | Path) -> None:
        """Write a new random chain key to ``path`` (created exclusively, mode 0600)."""
        new_chain_key(path)

    @staticmethod
    def verify(
        path: str | Path, chain_key: bytes | None = None, *, against: str | Path | None = None
    ) -> ChainReport:
        """Check an index file's audit chain, reading it read-only; with ``against``, also
        every seal of the trail in that file (:mod:`identmatch._index.audit_seal`).

        ``chain_key`` None: ``IDENTMATCH_AUDIT_KEY_FILE``'s, else the trail's own key file.

        Raises:
            ConfigError: not an index file, no key given or found, or unreadable seals.
        """
        target = Path(path)
        meta = chain_meta_of(target)
        key, looked = find_key(meta, chain_key)
        if key is None and CHECK_KEY in meta:
            raise ConfigError(missing_key(target.name, looked))
        entries = read_audit(target)
        report = verify_chain(  # without a chain mark, the report says so whatever the key
            key or bytes(32), meta, [(e.audit_id, e.logged_at, row_of(e), e.chain) for e in entries]
        )
        if against is None:
            return report
        chains = {e.audit_id: e.chain for e in entries}
        found, _ = seal_problems(Path(against), meta.get(ID_KEY, ""), chains, meta.get(ANCHOR_KEY))
        return report._replace(problems=report.problems + tuple(found))

    @staticmethod
    def seal(path: str | Path, to: str | Path, chain_key: bytes | None = None) -> ChainReport:
        """Verify an index file's trail and, when intact, append its head to ``to``."""
        report = AuditLog.verify(path, chain_key)
        if report.ok:
            trail = chain_meta_of(Path(path)).get(ID_KEY, "")
            record = seal_record(
                Path(path).name, trail, report.entries, report.last_id, report.head
            )
            append_seal(to, record)
        return report

    def seal_to(self, to: str | Path) -> None:
        """Append the head this log has committed to ``to`` (the service does, each minute)."""
        with self._cursor() as cursor:
            found = cursor.execute(
                "SELECT (SELECT value FROM meta WHERE key = ?), (SELECT count(*) FROM audit)",
                [ID_KEY],
            ).fetchall()
        last_id, head = self.head
        append_seal(
            to, seal_record(self._name, str(found[0][0] or ""), int(found[0][1]), last_id, head)
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
                for e in select_entries(cursor, None)
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
            return select_entries(cursor, since, after=after, limit=limit)

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
        chains: list[str] = []
        for audit_id, pending in zip(ids, batch, strict=True):
            head = chain_hash(self._chain_key, head, audit_id, pending.row)
            chains.append(head)
        # One multi-row VALUES statement: a DuckDB commit costs about 2 ms of CPU whatever
        # its size, so one per batch, and plain VALUES is half the CPU of unnest().
        row = "(" + ", ".join("?" * len(COLUMNS)) + ")"
        params = [
            value
            for audit_id, p, chain in zip(ids, batch, chains, strict=True)
            for value in (audit_id, *p.row, chain)
        ]
        began = time.perf_counter()
        try:
            cursor.execute(
                f"INSERT INTO audit ({', '.join(COLUMNS)}) VALUES " + ", ".join([row] * len(batch)),
                params,
            )
        except BaseException as exc:
            _logger.error(
                "the audit trail cannot be written (%s): audited calls are refused until it "
                "can be (a full disk?)",
                type(exc).__name__,
            )
            for pending in batch:
                failure = AuditWriteError(
                    f"the audit trail cannot be written ({type(exc).__name__})"
                )
                pending.future.set_exception(failure)
            return
        self._next_id += len(batch)
        self._head = head
        self._commits.append((len(batch), time.perf_counter() - began))
        del self._commits[:-10_000]
        for audit_id, pending in zip(ids, batch, strict=True):
            pending.future.set_result(audit_id)
