"""Reading an index file's audit trail without loading the index: its entries, and the
chain's rows of its ``meta`` (the key is checked against them before a rewrite)."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel

from identmatch._exceptions import ConfigError
from identmatch._index.audit_chain import CHAIN_META, CHECK_KEY, find_key, key_check, missing_key
from identmatch._index.store import connect_index
from identmatch._types import AuditAction

__all__ = [
    "COLUMNS",
    "AuditEntry",
    "chain_meta_of",
    "check_key_of",
    "read_audit",
    "row_of",
    "select_entries",
]

COLUMNS = (
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


def row_of(entry: AuditEntry) -> tuple[Any, ...]:
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


def select_entries(
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
    picked = ", ".join(c if c in present else f"NULL AS {c}" for c in COLUMNS)
    result = cursor.execute(
        f"SELECT {picked} FROM audit "
        "WHERE (?::TIMESTAMP IS NULL OR logged_at >= ?::TIMESTAMP) AND audit_id > ? "
        "ORDER BY audit_id LIMIT ?",
        [since, since, after, limit if limit is not None else 2**62],
    ).fetchall()
    return [
        AuditEntry.model_validate(
            dict(zip(COLUMNS, row, strict=True))
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
        return select_entries(connection, since)
    finally:
        connection.close()


def check_key_of(path: Path, given: bytes | None, *, plain: bool = False) -> bytes | None:
    """The chain key of an index file's trail, checked against the file (see
    :func:`~identmatch._index.audit_chain.find_key`); None for an older release's trail.

    Raises:
        ConfigError: a chained trail and no key found, or another key.
    """
    meta = chain_meta_of(path, plain=plain)
    if CHECK_KEY not in meta:
        return given
    key, looked = find_key(meta, given)
    if key is None:
        raise ConfigError(missing_key(path.name, looked))
    if not hmac.compare_digest(meta[CHECK_KEY], key_check(key)):
        msg = f"{path.name}: that is not this audit trail's chain key ({looked})"
        raise ConfigError(msg)
    return key


def chain_meta_of(path: Path, *, plain: bool = False) -> dict[str, str]:
    """The chain's rows of an index file's ``meta``, read without loading the index."""
    if not path.is_file():
        msg = f"{path}: no such index file"
        raise ConfigError(msg)
    connection = connect_index(path, read_only=True, plain=plain)
    try:
        found = connection.execute(
            "SELECT key, value FROM meta WHERE key IN (?, ?, ?, ?)", list(CHAIN_META)
        ).fetchall()
    finally:
        connection.close()
    return {str(k): str(v) for k, v in found}
