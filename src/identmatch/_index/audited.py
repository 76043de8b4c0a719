"""Reads of an index through the Python API that each need a purpose and leave an audit entry.

``Index`` itself reads without asking why: batch jobs and the service (which audits its own
calls) use it. A program that shows people's data to a person, or reads it on someone's
behalf, should read through :class:`AuditedIndex` instead, so its reads are in the same
trail as the service's and the command line's, under a caller name of its own::

    with identmatch.Index.open("known.duckdb") as index:
        with index.audited(caller="api:casework") as reads:
            hits = reads.search({"surname": "Smyth"}, purpose="case 2026-0142")

The trail holds no record values: the ids read, the purpose and a keyed fingerprint of what
was searched for. Anyone who can open the file can also read it without this class: it
makes honest programs accountable, it does not stop a dishonest one (see docs/service.md).
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from identmatch._exceptions import ConfigError
from identmatch._index.audit import AuditLog

if TYPE_CHECKING:
    from identmatch._batch.decisions import Decisions
    from identmatch._index.found import Hits
    from identmatch._index.index import Index
    from identmatch._index.queue import ReviewQueue
    from identmatch._index.review import DecisionOutcome

__all__ = [
    "AuditedIndex",
    "audit_change",
    "audit_decision",
    "compact_audited",
    "default_caller",
    "start_trail",
]

_CALLER = re.compile(r"[A-Za-z0-9 ._@:-]{1,100}")


def default_caller(prefix: str = "api") -> str:
    """``prefix:`` and the operating-system user (its uid when it has no name)."""
    try:
        return f"{prefix}:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid
        return f"{prefix}:{os.getuid()}"


def _purpose(purpose: str) -> str:
    text = purpose.strip() if isinstance(purpose, str) else ""
    if not 3 <= len(text) <= 500:
        msg = "purpose must be 3 to 500 characters: a case reference or a reason"
        raise ConfigError(msg)
    return text


class AuditedIndex:
    """An index's reads, each with a stated purpose and an audit entry committed before it
    returns. Make one with :meth:`Index.audited`; close it (or use ``with``) when done.

    Raises:
        ConfigError: the index is read-only, the chain key is missing or wrong for a chained
            trail, or ``caller`` is not 1-100 letters, digits, space or ``. _ @ : -``.
    """

    def __init__(
        self, index: Index, *, caller: str | None = None, chain_key: bytes | None = None
    ) -> None:
        name = caller if caller is not None else default_caller()
        if not _CALLER.fullmatch(name):
            msg = "caller must be 1-100 letters, digits, spaces or . _ @ : -"
            raise ConfigError(msg)
        self.index = index
        self.caller = name
        """The key id written in each entry."""
        self.log = index.audit_log(chain_key)

    def __enter__(self) -> AuditedIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Commit what is queued (every read has already waited for its own entry)."""
        self.log.close()

    def search(self, person: Mapping[str, Any], *, purpose: str, top: int = 5) -> Hits:
        """:meth:`Index.search`, audited as ``search`` with the query's fingerprint."""
        why = _purpose(purpose)
        hits = self.index.search(person, top=top)
        self.log.write(
            key_id=self.caller,
            action="search",
            purpose=why,
            fingerprint=self.log.fingerprint(dict(person)),
            entity_ids=hits.entity_ids,  # the weak candidates' too: every entity shown
        )
        return hits

    def search_many(
        self,
        queries: Any,
        *,
        purpose: str,
        columns: Mapping[str, str] | None = None,
        top: int = 5,
    ) -> pd.DataFrame:
        """:meth:`Index.search_many`, audited as one ``search`` naming every entity found."""
        why = _purpose(purpose)
        found = self.index.search_many(queries, columns=columns, top=top)
        returned = found["entity_id"].dropna().astype(str)
        self.log.write(
            key_id=self.caller,
            action="search",
            purpose=why,
            entity_ids=list(dict.fromkeys(e for e in returned if e)),
            detail=f"{found['record_id'].nunique()} queries from a file",
        )
        return found

    def entity(self, entity_id: str, *, purpose: str) -> pd.DataFrame:
        """:meth:`Index.entity`, audited as ``entity`` with the records read."""
        why = _purpose(purpose)
        frame = self.index.entity(entity_id)
        self.log.write(
            key_id=self.caller,
            action="entity",
            purpose=why,
            entity_ids=[entity_id],
            record_ids=frame["record_id"].astype(str).tolist(),
        )
        return frame

    def household(self, entity_id: str, *, purpose: str, limit: int = 20) -> pd.DataFrame:
        """:meth:`Index.household`, audited as ``entity`` naming everyone listed."""
        why = _purpose(purpose)
        frame = self.index.household(entity_id, limit=limit)
        self.log.write(
            key_id=self.caller,
            action="entity",
            purpose=why,
            entity_ids=[entity_id, *frame["entity_id"].astype(str)],
            detail="household",
        )
        return frame

    def export(self, *, purpose: str) -> pd.DataFrame:
        """:meth:`Index.export`, audited as ``export`` with the count."""
        why = _purpose(purpose)
        frame = self.index.export()
        self.log.write(
            key_id=self.caller, action="export", purpose=why, detail=f"{len(frame)} records"
        )
        return frame

    def review_queue(self, *, purpose: str, limit: int = 50) -> ReviewQueue:
        """:meth:`Index.review_queue`, audited as ``queue`` with every entity and record shown."""
        why = _purpose(purpose)
        queue = self.index.review_queue(limit=limit)
        entities, records = queue.shown()
        self.log.write(
            key_id=self.caller,
            action="queue",
            purpose=why,
            entity_ids=entities,
            record_ids=records,
        )
        return queue

    def decisions(self, *, purpose: str) -> Decisions:
        """:meth:`Index.decisions`, audited as ``export`` with the count."""
        why = _purpose(purpose)
        found = self.index.decisions()
        self.log.write(
            key_id=self.caller,
            action="export",
            purpose=why,
            detail=f"{len(found.frame)} decisions",
        )
        return found


# ---------------------------------------------------------------- the index's own writes
def audit_change(
    log: AuditLog, outcome: pd.DataFrame, action: Any, by: str | None, purpose: str | None
) -> pd.DataFrame:
    """Audit an add, update or removal by its outcome (records and the entities they are in
    or left); the entry's id goes in ``outcome.attrs["audit_id"]``."""
    entities = [str(e) for e in outcome["entity_id"] if isinstance(e, str)]
    if "left" in outcome.columns:
        entities += [str(e) for e in outcome["left"] if isinstance(e, str)]
    replaced = int(outcome["replaced"].fillna(False).sum()) if "replaced" in outcome else 0
    outcome.attrs["audit_id"] = log.write(
        key_id=by or default_caller(),
        action=action,
        purpose=purpose,
        entity_ids=list(dict.fromkeys(entities)),
        record_ids=list(dict.fromkeys(str(r) for r in outcome["record_id"])),
        detail=f"update: {replaced} replaced" if replaced else None,
    )
    return outcome


def audit_decision(
    log: AuditLog, outcome: DecisionOutcome, by: str, purpose: str, *, detail: str | None = None
) -> DecisionOutcome:
    """Audit a decision (or an undo, with its own ``detail``); the outcome with the entry's
    id."""
    audit_id = log.write(
        key_id=by or default_caller(),
        action="decision",
        purpose=purpose or None,
        entity_ids=list(dict.fromkeys(outcome.entity_ids)),
        record_ids=list(outcome.record_ids),
        detail=detail or f"{outcome.decision} (decision {outcome.decision_id})",
    )
    return outcome.model_copy(update={"audit_id": audit_id})


def start_trail(built: Index, chain_key: bytes | None, by: str | None) -> None:
    """Chain a new index's trail and write its first entry, the build; then close it."""
    try:
        log = AuditLog(built, chain_key=chain_key)
        log.write(key_id=by or default_caller(), action="build", detail=f"{len(built)} records")
        log.close()
    finally:
        built.close()


def compact_audited(
    index_class: type[Index], path: Path, *, encrypt: bool, chain_key: bytes | None, by: str | None
) -> tuple[int, int]:
    """``Index.compact``: the chain key checked first, the compaction audited after."""
    from identmatch._index.audit_read import check_key_of
    from identmatch._index.store import compact_file

    key = check_key_of(path, chain_key, plain=encrypt)
    before, after = compact_file(path, encrypt=encrypt)
    with index_class(path) as opened:
        log = AuditLog(opened, chain_key=key)
        log.write(
            key_id=by or default_caller(),
            action="compact",
            detail=f"{before} -> {after} bytes" + (", encrypted" if encrypt else ""),
        )
        log.close()
    return before, after
