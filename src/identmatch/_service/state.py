"""The index, its audit log, the config and the budgets the routes share."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from fastapi.concurrency import run_in_threadpool

import identmatch
from identmatch._service.guard import RateLimiter
from identmatch._service.refusals import Refusals
from identmatch._service.schemas import RecordIn, RecordMove, RecordOutcome
from identmatch._service.shown import Shown
from identmatch._service.workers import Found, WorkerGone, WorkerPool, results_json

__all__ = ["ServiceState"]

_logger = logging.getLogger("identmatch.server")


class ServiceState:
    """The index, its audit log and the config, shared by the routes."""

    def __init__(
        self,
        index: identmatch.Index,
        config: identmatch.ServiceConfig,
        audit_key_file: str | Path | None = None,
    ) -> None:
        """Raises ConfigError when the audit chain key is missing or not the trail's: the
        key file given (``serve --audit-key-file``), else the config's, else the index's own."""
        self.index = index
        self.config = config
        named = audit_key_file if audit_key_file is not None else config.audit_key_file
        chain_key = identmatch.AuditLog.read_key(named) if named is not None else None
        self.audit = identmatch.AuditLog(index, chain_key=chain_key)  # the index writes through it
        self.changes = threading.Lock()  # an update is remove + add: one change at a time
        limits = config.limits

        def budgets(*spans: tuple[str, float]) -> RateLimiter:
            # Read from the config at each take: a SIGHUP's new key budgets apply at once.
            return RateLimiter(
                [(getattr(limits, name), period) for name, period in spans],
                per_key=lambda key_id: [
                    (self.config.budget(key_id, name), period) for name, period in spans
                ],
            )

        self.lookups = budgets(("lookups_per_minute", 60.0), ("lookups_per_day", 86_400.0))
        self.entity_reads = budgets(("entity_reads_per_hour", 3_600.0))
        self.decisions = budgets(("decisions_per_minute", 60.0), ("decisions_per_day", 86_400.0))
        self.shown = Shown(limits.entity_read_hours * 3_600.0)
        self.refusals = Refusals(self.audit)
        self.pool: WorkerPool | None = None  # search workers, when the service has them

    async def search(self, people: list[dict[str, Any]], top: int) -> Found:
        """Search for each person: in a worker when one is ready, else in this process."""
        pool = self.pool
        if pool is not None and (future := pool.search(people, top)) is not None:
            try:
                return await future
            except WorkerGone:  # it ended with the search in hand: answer it here
                pass
        if len(people) == 1:
            # About a millisecond of CPU: cheaper inline than a hop to a worker thread.
            return results_json(self._search(people, top))
        return results_json(await run_in_threadpool(self._search, people, top))

    def _search(self, people: list[dict[str, Any]], top: int) -> list[identmatch.Hits]:
        return [self.index.search(person, top=top) for person in people]

    def upsert(
        self, records: list[RecordIn], key_id: str, purpose: str | None
    ) -> tuple[list[RecordOutcome], int]:
        """Add or replace the records, audited under the key; the outcomes and the entry."""
        import pandas as pd

        rows = []
        for record in records:
            row = record.fields()
            row["record_id"] = record.record_id
            if record.source is not None:
                row["source"] = record.source
            if record.recorded is not None and record.recorded.strip():
                row["recorded"] = record.recorded
            rows.append(row)
        frame = pd.DataFrame(rows)
        for column in self.index.model.declared.columns:  # a record may leave one out
            if column not in frame.columns:
                frame[column] = None
        with self.changes:
            outcome = self.index.upsert(frame, by=key_id, purpose=purpose)
        given = outcome[outcome["action"] != "split"]
        outcomes = [
            RecordOutcome(
                record_id=str(row["record_id"]),
                entity_id=str(row["entity_id"]),
                action=row["action"],
                replaced=bool(row["replaced"]),
            )
            for row in given.to_dict("records")
        ]
        return outcomes, int(outcome.attrs["audit_id"])

    def decide(
        self, pair: tuple[str, str], decision: Any, reason: str, purpose: str, key_id: str
    ) -> identmatch.DecisionOutcome:
        with self.changes:
            return self.index.decide(
                pair, decision, reason=reason, purpose=purpose, decided_by=key_id
            )

    def undo(
        self, decision_id: int, pair: tuple[str, str], reason: str, purpose: str, key_id: str
    ) -> identmatch.DecisionOutcome:
        with self.changes:
            return self.index.undo_decision(
                decision_id, record_ids=pair, reason=reason, purpose=purpose, decided_by=key_id
            )

    def shutdown(self) -> None:
        """Commit the queued audit entries, then fold the write-ahead log into the file.

        After this the index file alone (without its ``.wal``) holds every change and every
        audit entry, so a copy or a backup of it is complete.
        """
        if self.pool is not None:
            self.pool.close()
        self.refusals.flush(everything=True)
        self.audit.close()
        if self.config.audit_seal_file is not None:
            try:
                self.audit.seal_to(self.config.audit_seal_file)
            except identmatch.ConfigError as exc:
                _logger.error("audit seal not written: %s", exc)
        with self.changes:
            self.index.checkpoint()
        stats = self.audit.commit_stats()
        _logger.info("audit commits: %s", ", ".join(f"{k} {v}" for k, v in stats.items()))
        _logger.info("index checkpointed; shut down cleanly")

    def remove(
        self, record_id: str, key_id: str, purpose: str | None
    ) -> tuple[str, list[RecordMove], int]:
        """Remove a record, audited under the key: the entity it left, who moved, the entry."""
        with self.changes:
            outcome = self.index.remove([record_id], by=key_id, purpose=purpose)
        left = str(outcome.loc[outcome["action"] == "removed", "entity_id"].iloc[0])
        moved = [
            RecordMove(record_id=str(r.record_id), entity_id=str(r.entity_id))
            for r in outcome[outcome["action"] == "split"].itertuples()
        ]
        return left, moved, int(outcome.attrs["audit_id"])
