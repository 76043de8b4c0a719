"""A persistent known-person index in one DuckDB file: resolve once, then search and add.

The file holds the model, the standardised records with their entity ids, every record's
blocking keys, term-frequency counts, the entities and a log of merges. Opening it needs
nothing else. Adds run in one transaction: a crash leaves the index as it was before the
add or after it. Searches read through their own cursor, so they see a consistent state
while an add is in progress in another thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
from pydantic import ValidationError

from identmatch._batch.decisions import Decisions, read_decisions
from identmatch._candidates.blocking import BlockingReport
from identmatch._config import ModelConfig
from identmatch._exceptions import ConfigError, SchemaError, invalid_fields
from identmatch._index.charts import IndexCharts
from identmatch._index.reads import IndexReads
from identmatch._index.reviewing import IndexReview
from identmatch._index.schema import FORMAT_VERSION, has_recorded, upgrade
from identmatch._index.search import Hits, Searcher, search_settings
from identmatch._index.snapshot import Change, FileTables, Loader, Snapshot
from identmatch._index.store import connect_index, cursor, owner_only, transaction
from identmatch._index.write import build_file, date_orders_in
from identmatch._model.explain import Explanation, explanation_from_score
from identmatch._model.model import Model
from identmatch._model.scoring import score_pair
from identmatch._prepare.declared import AttributeSpec, Identifiers, declared_schema
from identmatch._prepare.quality import DataQuality
from identmatch._types import DateOrder

if TYPE_CHECKING:
    from identmatch._index.audit import AuditLog
    from identmatch._index.audited import AuditedIndex

__all__ = ["Index", "rows"]

_logger = logging.getLogger("identmatch.index")


class Index(IndexCharts, IndexReview, IndexReads):
    """A known-person index: records resolved into entities, searchable in milliseconds.

    Example::

        index = identmatch.Index.build(records, "known.duckdb")
        hits = index.search({"forename": "Bill", "surname": "Smyth", "dob": "1985-04-03"})
        hits[0].entity_id, hits[0].verdict, hits[0].explanation
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            msg = f"{self.path}: no such index file; build one with Index.build"
            raise ConfigError(msg)
        self._connection = connect_index(self.path, read_only=read_only)
        self._write_lock = threading.RLock()  # upsert holds it across a removal and an add
        meta = dict(self._connection.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format_version") != FORMAT_VERSION:
            msg = f"{self.path.name}: not an identmatch index of format {FORMAT_VERSION}"
            raise ConfigError(msg)
        if not read_only:
            owner_only(self.path)
            upgrade(self._connection)
        try:
            self.model = Model.model_validate_json(meta["model"])
            self.config = ModelConfig.model_validate_json(meta["config"])
        except (ValidationError, KeyError) as exc:
            self._connection.close()
            why = invalid_fields(exc) if isinstance(exc, ValidationError) else "missing"
            msg = f"{self.path.name}: the model or settings kept in the index are unusable ({why})"
            raise ConfigError(msg) from None
        self.date_order, self.date_orders, self.search_order = date_orders_in(meta)
        self.built_quality: DataQuality | None = None
        """After :meth:`build`: what the build read (its data-quality summary)."""
        self.built_blocking: BlockingReport | None = None
        """After :meth:`build`: the pairs the build compared, per candidate rule."""
        self._loaded: Snapshot | None = None
        self._load_lock = threading.Lock()
        self._followers: list[Callable[[Change], None]] = []
        self._audit: AuditLog | None = None  # set by AuditLog: the one trail writer

    # ----------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        records: Any,
        path: str | Path,
        *,
        columns: Mapping[str, str] | None = None,
        date_order: DateOrder = "auto",
        model: Model | str | Path | None = None,
        config: ModelConfig | None = None,
        identifiers: Identifiers | None = None,
        attributes: Sequence[str | AttributeSpec] | None = None,
        decisions: Decisions | str | Path | pd.DataFrame | None = None,
        progress: Callable[[str], None] | None = None,
        chain_key: bytes | None = None,
        by: str | None = None,
    ) -> Index:
        """Resolve ``records`` with :func:`identmatch.dedupe` and store everything in ``path``.

        The file is written beside ``path`` and renamed into place, so a failed build never
        leaves a half-written index. ``identifiers`` and ``attributes`` are declared as for
        :func:`identmatch.dedupe`; searches and adds then take them as fields too. Under
        ``date_order="auto"`` adds and searches read dates as the build did (``docs/index.md``).
        ``decisions`` (e.g. a file from ``identmatch decisions export``) are obeyed by the
        build and kept in the index, so every later add obeys them too. ``progress`` is
        called with a short message as each stage starts. The index returned holds what the
        build read and compared in ``built_quality`` and ``built_blocking``.

        The audit trail is chained from its first entry, the build (``by``: its key id,
        default ``api:`` and the OS user): under ``chain_key``, else
        ``IDENTMATCH_AUDIT_KEY_FILE``'s key, else a new key made in the key directory
        (:meth:`AuditLog.key_file`, ``docs/service.md``).

        Raises:
            ConfigError: ``path`` already exists.
        """
        target = Path(path)
        if target.exists():
            msg = f"{target}: already exists; remove it or add records to it instead"
            raise ConfigError(msg)
        tmp = target.with_name(target.name + ".building")
        tmp.unlink(missing_ok=True)
        try:
            result = build_file(
                records,
                tmp,
                columns=columns,
                date_order=date_order,
                model=model,
                config=config or ModelConfig(),
                schema=declared_schema(identifiers, attributes),
                decisions=read_decisions(decisions),
                progress=progress,
            )
            from identmatch._index.audited import start_trail

            start_trail(cls(tmp), chain_key, by)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        owner_only(tmp)
        tmp.replace(target)
        built = cls(target)
        built.built_quality, built.built_blocking = result.quality, result.blocking
        return built

    @classmethod
    def compact(
        cls,
        path: str | Path,
        *,
        encrypt: bool = False,
        chain_key: bytes | None = None,
        by: str | None = None,
    ) -> tuple[int, int]:
        """Rewrite an index file so that what was removed is gone from its bytes too.

        DuckDB reuses the space of deleted rows but does not wipe it: after
        :meth:`remove` (and a checkpoint) a removed person's values can still be read from
        the file with a byte editor. This copies every table into a new file, which holds
        only live rows, and renames it over ``path``. Run it with no service holding the
        file, and after every removal whose erasure must be complete; backups taken before
        it still hold the values.

        With an index key set (``IDENTMATCH_INDEX_KEY_FILE``) the copy is encrypted under
        it; ``encrypt=True`` reads a file that is not encrypted yet, to encrypt it. The trail's
        chain key is checked first and the compaction audited (as :meth:`add` is).

        Returns:
            The file's size in bytes before and after.

        Raises:
            ConfigError: ``path`` is not an index, another process holds it, or
                ``encrypt`` is asked without an index key.
        """
        from identmatch._index.audited import compact_audited

        return compact_audited(cls, Path(path), encrypt=encrypt, chain_key=chain_key, by=by)

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False) -> Index:
        """Open an index file written by :meth:`build`."""
        return cls(path, read_only=read_only)

    def close(self) -> None:
        """Close the file."""
        self._followers.clear()
        self._connection.close()

    def follow(self, load: Loader, change: Callable[[Change], None]) -> Callable[[], None]:
        """Keep a copy of the search state elsewhere (a search worker process) in step.

        ``load`` is given the index's tables as they are now; then ``change`` is given every later
        committed change, in commit order, before the write that made it returns. Both are
        called with writes held off, so they must only hand the data on (to a queue).
        Returns the function that stops following.
        """
        with self._write_lock, self._cursor() as cursor:
            load(FileTables(cursor))
            self._followers.append(change)

        def stop() -> None:
            with self._write_lock, contextlib.suppress(ValueError):
                self._followers.remove(change)

        return stop

    def _changed(self, change: Change) -> None:
        """Apply a committed change to the loaded snapshot and hand it to the followers."""
        loaded = self._loaded
        if loaded is not None:
            self._snapshot = loaded.applied(change)
        for follower in list(self._followers):
            try:
                follower(change)
            except Exception as exc:  # the change is committed: never fail the write now
                _logger.error("a follower of the index failed: %s", type(exc).__name__)

    def checkpoint(self) -> None:
        """Write every committed change into the index file itself (out of its ``.wal``).

        DuckDB does this on :meth:`close`; a process that may be ended before it closes
        (a service stopped by a signal) calls this first. Waits for a change in progress.
        """
        with self._write_lock, self._cursor() as cursor:
            cursor.execute("CHECKPOINT")

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ reading
    def _cursor(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        return cursor(self._connection)

    def warm(self) -> Index:
        """Load the in-memory search state now; otherwise the first search loads it.

        On a million records this takes some tens of seconds and about 1.45 GiB.
        """
        _ = self._snapshot
        return self

    @property
    def loaded(self) -> bool:
        """Whether the in-memory search state is loaded (see :meth:`warm`)."""
        return self._loaded is not None

    @property
    def _snapshot(self) -> Snapshot:
        snapshot = self._loaded
        if snapshot is None:
            with self._load_lock:
                if self._loaded is None:
                    self._refresh()
                snapshot = self._loaded
        assert snapshot is not None
        return snapshot

    @_snapshot.setter
    def _snapshot(self, snapshot: Snapshot) -> None:
        self._loaded = snapshot  # one assignment: searches see the old or the new state

    def _refresh(self) -> None:
        """Reload the in-memory snapshot (records, keys, term frequencies) from the file."""
        with self._cursor() as cursor:
            snapshot = Snapshot.load(cursor)
        self._snapshot = snapshot

    def _view(self, hashes: list[int], record_ids: list[str] | None = None) -> Snapshot:
        """The loaded snapshot; or, before :meth:`warm`, just the part these keys reach
        (with the whole index's number of entities, for the search prior)."""
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._cursor() as cursor:
            return Snapshot.around(
                cursor,
                hashes,
                record_ids or (),
                max_block_size=self.model.candidates.max_block_size,
                count_entities=True,
            )

    def __len__(self) -> int:
        if self._loaded is not None:
            return len(self._loaded)
        with self._cursor() as cursor:
            return int(cursor.execute("SELECT count(*) FROM records").fetchall()[0][0])

    def __contains__(self, record_id: object) -> bool:
        loaded = self._loaded
        if loaded is not None:
            return loaded.row_of(str(record_id)) is not None
        with self._cursor() as cursor:
            found = cursor.execute(
                "SELECT 1 FROM records WHERE record_id = ?", [str(record_id)]
            ).fetchall()
        return bool(found)

    def search(self, person: Mapping[str, Any], *, top: int = 5) -> Hits:
        """Rank the index's entities against one person, best first.

        Args:
            person: standard fields (``forename``, ``surname``, ``dob``, ``postcode``,
                ``aliases``, ...). Standardised exactly as records are.
            top: at most this many entities, weak candidates included.

        Returns:
            A list of hits with ``entity_id``, ``match_probability``, ``verdict``,
            ``explanation`` and ``records``; empty when no candidate scores at the
            "possible" level (0.5) or above. Its ``weak`` lists entities below that worth a
            look, labelled (``weak: same full name``), and ``unread`` the fields given that
            could not be read. Probabilities start from the search prior (``docs/index.md``).
        """
        searcher = self._searcher
        query = searcher.query(person)
        snapshot = self._view([hashed for _, hashed in query.keys])
        return searcher.search(snapshot, query, top=top)

    def search_many(
        self, queries: Any, *, columns: Mapping[str, str] | None = None, top: int = 5
    ) -> pd.DataFrame:
        """Search every record of ``queries`` (a file or DataFrame with ``record_id``).

        Returns:
            One row per (query ``record_id``, ``rank``) with ``entity_id``,
            ``match_probability``, ``verdict`` and ``unread`` (the query's fields given but
            not read, e.g. ``dob; nhs_number``); a query with no hit at the possible level
            gets one row with an empty ``entity_id`` and verdict ``no match``.
        """
        from identmatch._index.queries import search_queries

        return search_queries(self, queries, columns=columns, top=top)

    def score(self, person: Mapping[str, Any], record_id: str) -> Explanation:
        """Why ``person`` scores as it does against one indexed record (weights in bits),
        from the search prior, as :meth:`search` scores it.

        Raises:
            SchemaError: the record id is not in the index.
        """
        searcher = self._searcher
        query = searcher.prepare(person)
        snapshot = self._view([], [record_id])
        row = snapshot.row_of(record_id)
        if row is None:
            msg = f"record_id {record_id} is not in the index"
            raise SchemaError(msg)
        prior = searcher.prior_weight(snapshot)
        scored = score_pair(
            self.model, query, snapshot.record(row), snapshot.tf, prior_weight=prior
        )
        return explanation_from_score(self.model, scored, "query", record_id, prior_weight=prior)

    @property
    def _searcher(self) -> Searcher:
        return Searcher(self.model, self.search_order, search_settings(self.config))

    def export(self) -> pd.DataFrame:
        """``record_id``, ``entity_id``, ``source`` and ``recorded`` (the date the source made
        or last updated the record, ISO, or missing) for every record, in the order added."""
        with self._cursor() as cursor:
            return cursor.execute(
                f"SELECT record_id, entity_id, source, {_recorded(cursor)} FROM records "
                "ORDER BY seq"
            ).fetch_df()

    def entity(self, entity_id: str) -> pd.DataFrame:
        """One entity's records (empty if none), with standardised postcode, address, town,
        and ``recorded``: the date the source made or last updated each (ISO, or missing)."""
        with self._cursor() as cursor:
            return cursor.execute(
                "SELECT record_id, source, forename, middle_names, surname, dob_given, dob, "
                f"aliases, postcode_std, address_std, town_std, {_recorded(cursor)} "
                "FROM records WHERE entity_id = ? ORDER BY seq",
                [entity_id],
            ).fetch_df()

    def audited(self, *, caller: str | None = None, chain_key: bytes | None = None) -> AuditedIndex:
        """This index's reads, each needing a purpose and leaving an audit entry.

        Use it wherever people's data is read for a person (a case system, a notebook
        answering a request): the entries join the service's and the command line's in the
        index's trail. ``caller`` is the key id written (default ``api:`` and the OS user);
        ``chain_key`` the audit chain key (:meth:`AuditLog.read_key`; default: as
        :class:`AuditLog` finds it). The index must be open writable.
        """
        from identmatch._index.audited import AuditedIndex

        return AuditedIndex(self, caller=caller, chain_key=chain_key)

    def audit_log(self, chain_key: bytes | None = None) -> AuditLog:
        """The index's audit trail writer (made on first use; every write is audited in it).

        Raises:
            ConfigError: read-only; or the chain key is missing, or not this trail's.
        """
        from identmatch._index.audit import AuditLog
        from identmatch._index.audit_chain import key_check

        log = self._audit
        if log is None:
            return AuditLog(self, chain_key=chain_key)
        if chain_key is not None and key_check(chain_key) != key_check(log._chain_key):
            msg = f"{self.path.name}: that is not this audit trail's chain key"
            raise ConfigError(msg)
        return log

    # ------------------------------------------------------------------ writing
    def add(
        self,
        records: Any,
        *,
        columns: Mapping[str, str] | None = None,
        by: str | None = None,
        purpose: str | None = None,
    ) -> pd.DataFrame:
        """Add records; each joins the entity it matches, or starts a new one.

        A record matching several entities joins the oldest, and the others are merged into
        it (recorded in the index's merge log); existing entity ids are never renamed.
        All of it happens in one transaction. Audited (``by``: the key id, default ``api:``
        and the OS user; ``purpose``); the entry's id is in the result's
        ``attrs["audit_id"]``. Without the trail's chain key nothing is added.

        Returns:
            One row per added record: ``record_id``, ``entity_id``, ``action`` (``joined``,
            ``new`` or ``merged``).

        Raises:
            SchemaError: a record id is already in the index.
        """
        from identmatch._index.add import add_records
        from identmatch._index.audited import audit_change

        log = self.audit_log()  # no key, no change
        with self._write_lock:
            outcome, written = add_records(
                self, records, columns=columns, connection=self._connection, loaded=self._loaded
            )
            self._extended(written)
            return audit_change(log, outcome, "add", by, purpose)

    def _extended(self, written: Any) -> None:
        """Hand the rows an add wrote (``written``; None: nothing) to the in-memory search
        state and the followers, if either is there."""
        if written is not None and (self._loaded is not None or self._followers):
            with self._cursor() as cursor:
                change = Change.extend(cursor, *written)
            self._changed(change)

    def remove(
        self, record_ids: Iterable[str], *, by: str | None = None, purpose: str | None = None
    ) -> pd.DataFrame:
        """Remove records (data retention); their entities are re-resolved without them.

        If a removed record was the only link between parts of its entity, the entity
        splits: the largest part (the oldest on a tie) keeps its id and each other part gets
        a new one (logged in the index's ``splits`` table). All in one transaction.

        Returns:
            One row per removed record (``action`` ``removed``, with the entity it left) and
            one per record moved to a split-off entity (``action`` ``split``, new entity).

        Raises:
            SchemaError: a record id is not in the index (nothing is removed).

        The removed values leave every table at once, but their bytes stay in the file's
        free space until :meth:`compact` rewrites it. Audited as :meth:`add` is.
        """
        from identmatch._index.audited import audit_change
        from identmatch._index.remove import remove_records

        log = self.audit_log()
        with self._write_lock:
            outcome, change = remove_records(self, record_ids, connection=self._connection)
            self._changed(change)
            return audit_change(log, outcome, "remove", by, purpose)

    def upsert(
        self,
        records: Any,
        *,
        columns: Mapping[str, str] | None = None,
        by: str | None = None,
        purpose: str | None = None,
    ) -> pd.DataFrame:
        """Add records, replacing any whose ``record_id`` is already indexed (an update).

        The earlier versions are removed first, as :meth:`remove` does (their entities are
        re-resolved without them, and may split), then every record is added as :meth:`add`
        does, all in one transaction: a crash at any point leaves either the earlier
        versions or the new ones, never neither. Audited as one ``add``, as :meth:`add` is.

        Returns:
            One row per record given: ``record_id``, ``entity_id``, ``action`` (``joined``,
            ``new`` or ``merged``), ``replaced`` and ``left`` (the entity its earlier version
            was in; missing when it is new); then one row per record the removals moved to a
            split-off entity (``action`` ``split``, its new entity).
        """
        from identmatch._index.add import add_in, read_new
        from identmatch._index.audited import audit_change
        from identmatch._index.remove import remove_in

        log = self.audit_log()  # no key, no change
        raw, prepared = read_new(self, records, columns)
        ids = prepared["unique_id"].astype(str).tolist()
        left: dict[str, str] = {}
        split = pd.DataFrame()
        removal: Change | None = None
        with self._write_lock:
            with transaction(self._connection) as cursor:
                known = [
                    str(row[0])
                    for row in cursor.execute(
                        "SELECT record_id FROM records WHERE record_id IN (SELECT unnest(?))",
                        [ids],
                    ).fetchall()
                ]
                if known:
                    removed, removal = remove_in(self, known, cursor)
                    gone = removed[removed["action"] == "removed"]
                    left = dict(
                        zip(
                            gone["record_id"].astype(str),
                            gone["entity_id"].astype(str),
                            strict=True,
                        )
                    )
                    split = removed[removed["action"] == "split"].assign(replaced=False, left=None)
                # After a removal the in-memory snapshot is behind this transaction: the
                # add reads what its records can reach from the transaction instead.
                added, written = add_in(
                    self, raw, prepared, cursor, self._loaded if removal is None else None
                )
            if removal is not None:
                self._changed(removal)
            self._extended(written)
            added["replaced"] = added["record_id"].astype(str).isin(left)
            added["left"] = [left.get(str(r)) for r in added["record_id"]]
            outcome = pd.concat([added, split], ignore_index=True) if len(split) else added
            return audit_change(log, outcome, "add", by, purpose)


def rows(cursor: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """Run a query with bound parameters; every row as a dict (lists stay lists)."""
    result = cursor.execute(sql, params)
    names = [str(d[0]) for d in result.description or ()]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _recorded(cursor: duckdb.DuckDBPyConnection) -> str:
    """The select term of each record's date recorded: empty in a file written before dates
    recorded were kept and opened read-only (opened writable, :func:`upgrade` adds them)."""
    return "recorded" if has_recorded(cursor) else "CAST(NULL AS VARCHAR) AS recorded"
