"""The audit trail's hash chain: each entry sealed to the one before under a key kept elsewhere.

An entry's ``chain`` is the HMAC-SHA256, under the chain key, of the previous entry's
``chain`` and the entry itself (every field, in a fixed JSON form). Whoever can write the
index file can change, insert or remove entries, but without the key cannot make the chain
agree again: :func:`verify_chain` finds the first entry that does not.

The chain is on from an index's first entry (its build). The key lives in a file of its own
(64 hex characters, owner-only), never in the index file, so a copy of the index does not
carry the means to forge its trail: by default ``<id>.key`` in the user's key directory
(:func:`key_dir`), where ``<id>`` is the trail's random id kept in ``meta``; or a file the
operator names (``IDENTMATCH_AUDIT_KEY_FILE``, ``--audit-key-file``). Removing the *newest*
entries leaves a shorter chain that still agrees; export the head (``identmatch audit
--verify --seal-to FILE``) somewhere else to catch that (:mod:`identmatch._index.audit_seal`).

A trail written by an older release (no chain mark in ``meta``) is chained from its next
entry on the first writable open: the first chained id is kept in ``meta`` under an HMAC,
so the older entries before it are reported as such and any unchained entry after it is a
break.

After a purge, the chain starts from an *anchor* (the id and ``chain`` of the last entry
removed), kept in the index's ``meta`` table and sealed into the chain by the ``purge``
entry that records it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import stat
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from identmatch._exceptions import ConfigError

__all__ = [
    "ANCHOR_KEY",
    "CHAIN_META",
    "CHECK_KEY",
    "FROM_KEY",
    "ID_KEY",
    "KEY_DIR_ENV",
    "KEY_FILE_ENV",
    "ChainReport",
    "chain_hash",
    "default_key_path",
    "find_key",
    "from_mark",
    "key_check",
    "key_dir",
    "missing_key",
    "new_chain_key",
    "open_chain",
    "read_chain_key",
    "read_key_file",
    "verify_chain",
]

CHECK_KEY = "audit_chain_check"
"""``meta`` key: an HMAC of a constant under the chain key, so a wrong key is refused."""
ANCHOR_KEY = "audit_anchor"
"""``meta`` key: ``ID:CHAIN`` of the last entry a purge removed."""
ID_KEY = "audit_chain_id"
"""``meta`` key: the trail's random id (32 hex), naming its key file in :func:`key_dir`."""
FROM_KEY = "audit_chain_from"
"""``meta`` key: ``ID:HMAC`` of the first chained entry (1 unless an older release wrote
entries before the chain was on)."""
CHAIN_META = (CHECK_KEY, ANCHOR_KEY, ID_KEY, FROM_KEY)
KEY_FILE_ENV = "IDENTMATCH_AUDIT_KEY_FILE"
"""The environment variable naming the chain key's file (every command and the service)."""
KEY_DIR_ENV = "IDENTMATCH_AUDIT_KEY_DIR"
"""The environment variable naming the directory of the keys made at build."""
NEWER_ACTIONS = frozenset({"build", "compact", "chain"})
"""Actions only a release that chains writes: one of them unchained is a break, whatever
the chain's starting point says."""
_CHAIN_ID = re.compile(r"[0-9a-f]{32}")
_logger = logging.getLogger("identmatch")


def key_dir() -> Path:
    """Where keys made at build are kept: ``IDENTMATCH_AUDIT_KEY_DIR``, else
    ``$XDG_CONFIG_HOME/identmatch/audit-keys`` (``~/.config/identmatch/audit-keys``)."""
    given = os.environ.get(KEY_DIR_ENV, "").strip()
    if given:
        return Path(given)
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".config") / "identmatch" / "audit-keys"


def default_key_path(chain_id: str) -> Path:
    """The key file of the trail with id ``chain_id`` in :func:`key_dir`."""
    if not _CHAIN_ID.fullmatch(chain_id):  # read from the file: never trusted as a path
        msg = "the index's audit chain id is not 32 hex characters (the file was altered)"
        raise ConfigError(msg)
    return key_dir() / f"{chain_id}.key"


def find_key(meta: dict[str, str], given: bytes | None) -> tuple[bytes | None, str]:
    """The chain key: ``given``, else ``IDENTMATCH_AUDIT_KEY_FILE``'s, else the trail's key
    in :func:`key_dir`; with where it was looked for (for messages)."""
    if given is not None:
        return given, "the key given"
    named = os.environ.get(KEY_FILE_ENV, "").strip()
    if named:
        return read_chain_key(named), named
    chain_id = meta.get(ID_KEY)
    if chain_id is None:
        return None, str(key_dir())
    path = default_key_path(chain_id)
    if path.exists():
        return read_chain_key(path), str(path)
    return None, str(path)


def from_mark(key: bytes, first_id: int) -> str:
    """What ``meta`` keeps as the first chained entry: its id and an HMAC of it."""
    mac = hmac.new(key, f"identmatch audit chain from {first_id}".encode(), hashlib.sha256)
    return f"{first_id}:{mac.hexdigest()}"


def missing_key(name: str, looked: str) -> str:
    """The one line for a chained trail whose key was not found."""
    return (
        f"{name}: its audit trail is chained and its key was not found ({looked}); pass "
        f"--audit-key-file FILE or set {KEY_FILE_ENV} (serve: or audit_key_file in service.toml)"
    )


def open_chain(
    cursor: Any, name: str, given: bytes | None, next_id: int
) -> tuple[bytes, str, int | None]:
    """Check or start the chain of a trail opened for writing.

    Returns the key, the head (where the next entry links) and, when this call started the
    chain of an older release's trail, the first chained id (else None).

    Raises:
        ConfigError: a chained trail without its key or with another; a trail whose chain
            mark was removed.
    """
    meta = _chain_meta(cursor)
    check = meta.get(CHECK_KEY)
    if check is None:
        if meta.get(ID_KEY) is not None or meta.get(FROM_KEY) is not None:
            msg = (
                f"{name}: its audit trail has an id but no chain mark: the trail was "
                "altered; check it with 'identmatch audit --verify' before writing to it"
            )
            raise ConfigError(msg)
        return _start_chain(cursor, name, given, next_id)
    key, looked = find_key(meta, given)
    if key is None:
        raise ConfigError(missing_key(name, looked))
    if not hmac.compare_digest(str(check), key_check(key)):
        msg = f"{name}: that is not this audit trail's chain key ({looked})"
        raise ConfigError(msg)
    if meta.get(FROM_KEY) is None:  # chained by a release before the mark: keep where it began
        found = cursor.execute("SELECT min(audit_id) FROM audit WHERE chain IS NOT NULL")
        first = found.fetchall()[0][0]
        mark = from_mark(key, int(first) if first is not None else next_id)
        cursor.execute("INSERT INTO meta VALUES (?, ?)", [FROM_KEY, mark])
    last = cursor.execute(
        "SELECT chain FROM audit WHERE chain IS NOT NULL ORDER BY audit_id DESC LIMIT 1"
    ).fetchall()
    if last:
        return key, str(last[0][0]), None
    anchor = meta.get(ANCHOR_KEY)
    return key, (str(anchor).split(":", 1)[1] if anchor else ""), None


def _chain_meta(cursor: Any) -> dict[str, str]:
    found = cursor.execute(
        "SELECT key, value FROM meta WHERE key IN (?, ?, ?, ?)", list(CHAIN_META)
    ).fetchall()
    return {str(k): str(v) for k, v in found}


def _start_chain(
    cursor: Any, name: str, given: bytes | None, next_id: int
) -> tuple[bytes, str, int | None]:
    """Chain a trail that never was (a new build, or an older release's file) from
    ``next_id``: with the key given or named, else a new key in :func:`key_dir`."""
    chain_id = secrets.token_hex(16)
    key, _ = find_key({}, given)
    made: Path | None = None
    if key is None:
        made = default_key_path(chain_id)
        try:
            made.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            msg = (
                f"{name}: cannot make the audit chain key in {made.parent} ({exc.strerror}); "
                f"pass --audit-key-file FILE or set {KEY_FILE_ENV} or {KEY_DIR_ENV}"
            )
            raise ConfigError(msg) from None
        new_chain_key(made)
        key = read_chain_key(made)
    cursor.execute("BEGIN TRANSACTION")
    try:
        for item, value in (
            (ID_KEY, chain_id),
            (CHECK_KEY, key_check(key)),
            (FROM_KEY, from_mark(key, next_id)),
        ):
            cursor.execute("INSERT INTO meta VALUES (?, ?)", [item, value])
        cursor.execute("COMMIT")
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    if made is not None and next_id > 1:
        _logger.warning(
            "%s: audit chain started at entry %d with a new key in %s (the %d entries before "
            "it were written by an older release, unchained)",
            name,
            next_id,
            made,
            next_id - 1,
        )
    anchor = _chain_meta(cursor).get(ANCHOR_KEY)
    head = anchor.split(":", 1)[1] if anchor else ""
    return key, head, (next_id if next_id > 1 else None)


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
    older: int = 0
    """Unchained entries before the chain's first entry, written by an older release."""
    first: int = 1
    """The id of the first entry that must be chained."""
    last_id: int = 0
    """The newest entry's id (0 when there is none)."""

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(
    key: bytes,
    meta: dict[str, str],
    entries: Sequence[tuple[int, datetime, Sequence[Any], str | None]],
) -> ChainReport:
    """Check ``entries`` (``(audit_id, logged_at, row, chain)``, oldest first) against the key.

    ``row`` is the entry as :func:`chain_hash` takes it. Broken: a trail without the key's
    mark or with another key's, an empty trail (every trail starts with its build), a gap
    in the ids, an entry that does not agree with the chain, and an unchained entry from the
    chain's first entry on (older entries before it are counted in ``older``).
    """
    problems: list[str] = []
    check = meta.get(CHECK_KEY)
    if check is None:
        problems.append(
            "the trail carries no chain mark: never chained (an older release's file: open "
            "it writable once to start its chain), or the mark was removed"
        )
        return ChainReport(len(entries), 0, "", tuple(problems))
    if not hmac.compare_digest(check, key_check(key)):
        problems.append("the key is not this audit trail's chain key")
        return ChainReport(len(entries), 0, "", tuple(problems))
    anchor = meta.get(ANCHOR_KEY)
    last_id, previous = 0, ""
    if anchor:
        start, _, previous = anchor.partition(":")
        last_id = int(start) if start.isdigit() else 0
    if (
        anchor
        and previous
        and not any(
            row[2] == "purge" and str(row[7] or "").endswith(f"anchor {anchor}")
            for _, _, row, chain in entries
            if chain is not None
        )
    ):
        problems.append(f"the chain's starting point ({anchor}) is not the one a purge recorded")
    first = _first_chained(key, meta, entries, problems)
    if not entries:
        problems.append("the trail is empty, yet every trail starts with its build's entry")
    chained = older = 0
    for audit_id, _, row, chain in entries:
        if audit_id != last_id + 1:
            gap = f"{last_id + 1}-{audit_id - 1}" if audit_id > last_id else f"{audit_id}"
            problems.append(f"entries {gap} are missing, repeated or out of order")
        last_id = audit_id
        if chain is None:
            if audit_id >= first or row[2] in NEWER_ACTIONS:
                problems.append(f"entry {audit_id}: not chained (written without the key)")
            else:
                older += 1
            continue
        chained += 1
        if not hmac.compare_digest(chain_hash(key, previous, audit_id, row), chain):
            problems.append(
                f"entry {audit_id}: does not agree with the chain (changed, or an entry "
                "before it was removed or inserted)"
            )
        previous = chain
    return ChainReport(len(entries), chained, previous, tuple(problems), older, first, last_id)


def _first_chained(
    key: bytes,
    meta: dict[str, str],
    entries: Sequence[tuple[int, datetime, Sequence[Any], str | None]],
    problems: list[str],
) -> int:
    """The first id that must be chained: the signed mark, else (a trail chained by a
    release before the mark) the first chained entry."""
    mark = meta.get(FROM_KEY)
    if mark is None:
        return next((audit_id for audit_id, _, _, chain in entries if chain is not None), 1)
    start = mark.split(":", 1)[0]
    if not start.isdigit() or not hmac.compare_digest(mark, from_mark(key, int(start))):
        problems.append("the chain's first entry, kept in the index, was altered")
        return 1
    return int(start)
