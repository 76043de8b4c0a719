"""Seals of the audit trail's head, kept outside the index file, so truncation is caught.

The chain shows an entry changed, inserted or removed in the middle, but removing the
*newest* entries leaves a shorter chain that still agrees. A seal is one JSON line
recording, at a moment, the trail's id, how many entries it held, the newest entry's id and
its ``chain``::

    {"index":"known.duckdb","trail":"c511...","sealed_at":"2026-12-08T00:41:07Z",
     "entries":1042,"last_id":1042,"head":"9b1d..."}

Appended to a file the index's writers cannot rewrite (another volume, a log shipper, a
ticket), by ``identmatch audit --verify --seal-to FILE`` or by the service every minute
(``audit_seal_file``). ``identmatch audit --verify --against FILE`` then checks every seal of
the trail in the file: the sealed entry must still be there with the same ``chain`` (or be
the purge anchor), and the trail must reach at least that far.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from identmatch._exceptions import ConfigError

__all__ = ["append_seal", "seal_problems", "seal_record"]


def seal_record(name: str, trail: str, entries: int, last_id: int, head: str) -> dict[str, Any]:
    """One seal: the trail's id, its size and head now."""
    return {
        "index": name,
        "trail": trail,
        "sealed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "entries": entries,
        "last_id": last_id,
        "head": head,
    }


def append_seal(target: str | Path, record: Mapping[str, Any]) -> None:
    """Append one seal line to ``target`` (created owner-only), flushed to disk."""
    line = json.dumps(dict(record), separators=(",", ":"), ensure_ascii=True) + "\n"
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags, 0o600)
    except OSError as exc:
        msg = f"{target}: cannot append the audit seal ({exc.strerror})"
        raise ConfigError(msg) from None
    with os.fdopen(fd, "a", encoding="ascii") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def _seals(target: Path, trail: str) -> list[dict[str, Any]]:
    try:
        lines = target.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        msg = f"{target}: cannot read the audit seals ({exc.strerror})"
        raise ConfigError(msg) from None
    found = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            ok = isinstance(record, dict) and isinstance(record.get("last_id"), int)
        except ValueError:
            ok = False
        if not ok:
            msg = f"{target}: line {number} is not an audit seal"
            raise ConfigError(msg)
        if record.get("trail") == trail:
            found.append(record)
    return found


def seal_problems(
    target: Path, trail: str, chains: Mapping[int, str | None], anchor: str | None
) -> tuple[list[str], int]:
    """What the seals of ``trail`` in ``target`` find wrong with the trail now.

    ``chains`` maps each entry's id to its ``chain``; ``anchor`` is ``ID:CHAIN`` of the last
    entry a purge removed. Returns the problems and how many seals were checked.
    """
    seals = _seals(target, trail)
    if not seals:
        return [f"{target} holds no seal of this trail ({trail or 'no id'})"], 0
    newest = max(chains, default=0)
    anchor_id, _, anchor_chain = (anchor or "0:").partition(":")
    problems: list[str] = []
    for seal in seals:
        last, head, when = int(seal["last_id"]), str(seal.get("head", "")), seal.get("sealed_at")
        if last > newest:
            problems.append(
                f"the seal of {when} saw entries up to {last}, the trail ends at {newest}: "
                "newer entries were removed"
            )
        elif last in chains:
            if chains[last] != head:
                problems.append(f"entry {last} is not the one sealed at {when}")
        elif anchor_id.isdigit() and last == int(anchor_id):
            if anchor_chain != head:
                problems.append(f"the purge anchor is not the entry {last} sealed at {when}")
        elif not (anchor_id.isdigit() and last < int(anchor_id)):
            problems.append(f"entry {last}, sealed at {when}, is missing")
    return problems, len(seals)
