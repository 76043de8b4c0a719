"""The audit trail's hash chain: each entry sealed to the one before under a key kept elsewhere.

An entry's ``chain`` is the HMAC-SHA256, under the chain key, of the previous entry's
``chain`` and the entry itself (every field, in a fixed JSON form). Whoever can write the
index file can change, insert or remove entries, but without the key cannot make the chain
agree again: :func:`verify_chain` finds the first entry that does not.

The key lives in a file of its own (64 hex characters, owner-only), never in the index
file, so a copy of the index does not carry the means to forge its trail. Removing the
*newest* entries leaves a shorter chain that still agrees; keep the head that
``identmatch audit --verify`` prints somewhere else (a ticket, a log) to catch that.

After a purge, the chain starts from an *anchor* (the id and ``chain`` of the last entry
removed), kept in the index's ``meta`` table and sealed into the chain by the ``purge``
entry that records it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from identmatch._exceptions import ConfigError

__all__ = [
    "ANCHOR_KEY",
    "CHECK_KEY",
    "ChainReport",
    "chain_hash",
    "key_check",
    "new_chain_key",
    "read_chain_key",
    "read_key_file",
    "verify_chain",
]

CHECK_KEY = "audit_chain_check"
"""``meta`` key: an HMAC of a constant under the chain key, so a wrong key is refused."""
ANCHOR_KEY = "audit_anchor"
"""``meta`` key: ``ID:CHAIN`` of the last entry a purge removed."""


def read_chain_key(path: str | Path) -> bytes:
    """The chain key in ``path`` (64 hex characters), which only its owner may read.

    Raises:
        ConfigError: the file is missing, readable by others, or not a key.
    """
    return read_key_file(path, what="audit key", maker="identmatch audit new-key")


def read_key_file(path: str | Path, *, what: str, maker: str) -> bytes:
    """A 32-byte key kept as 64 hex characters in an owner-only file.

    Raises:
        ConfigError: the file is missing (the message names ``maker``, the command that
            makes one), readable by others, or not a key.
    """
    target = Path(path)
    try:
        mode = target.stat().st_mode
        text = target.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        msg = f"{target}: no such {what} file; make one with '{maker}'"
        raise ConfigError(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{target}: cannot read the {what} ({type(exc).__name__})"
        raise ConfigError(msg) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        msg = f"{target}: the {what} must be readable by its owner only (chmod 600)"
        raise ConfigError(msg)
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        msg = f"{target}: not an {what} (expected 64 hex characters)"
        raise ConfigError(msg)
    return key


def new_chain_key(path: str | Path) -> None:
    """Write a new random 32-byte key to ``path`` (64 hex characters), created exclusively
    and owner-only: the audit chain key, and the index encryption key.

    Raises:
        ConfigError: ``path`` already exists (a key is never overwritten).
    """
    target = Path(path)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        msg = f"{target}: already exists; a key is never overwritten"
        raise ConfigError(msg) from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        if hasattr(os, "fchmod"):  # whatever the umask
            os.fchmod(handle.fileno(), 0o600)
        handle.write(secrets.token_hex(32) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def key_check(key: bytes) -> str:
    """What ``meta`` keeps to recognise the chain key (not the key, nor enough to forge)."""
    return hmac.new(key, b"identmatch audit chain key", hashlib.sha256).hexdigest()


def _canonical(audit_id: int, row: Sequence[Any]) -> bytes:
    """An entry's fields in a fixed form: ``row`` is (logged_at, key_id, action, purpose,
    fingerprint, entity_ids, record_ids, detail)."""
    logged_at, key_id, action, purpose, fingerprint, entity_ids, record_ids, detail = row
    stamp = logged_at.isoformat(timespec="microseconds") if logged_at is not None else None
    fields = [
        audit_id,
        stamp,
        key_id,
        action,
        purpose,
        fingerprint,
        list(entity_ids or ()),
        list(record_ids or ()),
        detail,
    ]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def chain_hash(key: bytes, previous: str, audit_id: int, row: Sequence[Any]) -> str:
    """The ``chain`` of an entry following one whose ``chain`` is ``previous``."""
    message = previous.encode("ascii") + b"\n" + _canonical(audit_id, row)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class ChainReport(NamedTuple):
    """What :func:`verify_chain` found."""

    entries: int
    chained: int
    """Entries whose chain was checked (those written with the key)."""
    head: str
    """The newest entry's ``chain``: keep it elsewhere to detect removal of newer entries."""
    problems: tuple[str, ...]
    """Empty when the trail is intact: otherwise one line per entry that does not agree."""

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(
    key: bytes,
    meta: dict[str, str],
    entries: Sequence[tuple[int, datetime, Sequence[Any], str | None]],
) -> ChainReport:
    """Check ``entries`` (``(audit_id, logged_at, row, chain)``, oldest first) against the key.

    ``row`` is the entry as :func:`chain_hash` takes it. An entry written without the key
    (``chain`` NULL) is a problem once a chained entry exists before it.
    """
    problems: list[str] = []
    if meta.get(CHECK_KEY) not in (None, key_check(key)):
        problems.append("the key is not this audit trail's chain key")
        return ChainReport(len(entries), 0, "", tuple(problems))
    anchor = meta.get(ANCHOR_KEY)
    previous = anchor.split(":", 1)[1] if anchor else ""
    if anchor and not any(
        row[2] == "purge" and str(row[7] or "").endswith(f"anchor {anchor}")
        for _, _, row, chain in entries
        if chain is not None
    ):
        problems.append(f"the chain's starting point ({anchor}) is not the one a purge recorded")
    chained = 0
    seen_chain = False
    last_id: int | None = int(anchor.split(":", 1)[0]) if anchor else None
    for audit_id, _, row, chain in entries:
        if last_id is not None and audit_id != last_id + 1:
            problems.append(f"entries {last_id + 1}-{audit_id - 1} are missing")
        last_id = audit_id
        if chain is None:
            if seen_chain:
                problems.append(f"entry {audit_id}: not chained (written without the key)")
            continue
        seen_chain = True
        chained += 1
        if not hmac.compare_digest(chain_hash(key, previous, audit_id, row), chain):
            problems.append(
                f"entry {audit_id}: does not agree with the chain (changed, or an entry "
                "before it was removed or inserted)"
            )
        previous = chain
    return ChainReport(len(entries), chained, previous, tuple(problems))
