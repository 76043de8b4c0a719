"""Shared type aliases and the literals for closed option sets. Nothing executable."""

from __future__ import annotations

from typing import Literal, TypeAlias

__all__ = [
    "AuditAction",
    "Backend",
    "DateOrder",
    "RECORD_ID_CHARACTERS",
    "RECORD_ID_MAX_LENGTH",
    "ExplicitDateOrder",
    "LinkType",
    "Probability",
    "RecordId",
    "Role",
    "SyntheticProfile",
    "Verdict",
    "WeakReason",
]

RecordId: TypeAlias = str
"""A record's id as given in the input's ``record_id`` column, always held as text."""

RECORD_ID_CHARACTERS = "A-Za-z0-9._:-"
"""The characters a record id may hold (a regular expression class): letters, digits and
``. _ : -``, so an id is the same in a file, a URL path and a log line (no ``#``, ``/``,
``?``, ``%`` or spaces)."""

RECORD_ID_MAX_LENGTH = 200
"""The longest record id accepted."""

Probability: TypeAlias = float
"""A probability in [0, 1]."""

Backend = Literal["duckdb", "spark"]
"""Where pairs are formed and scored: DuckDB in process, or Splink's Spark backend."""

ExplicitDateOrder = Literal["DMY", "MDY", "YMD"]
"""An order to read ambiguous numeric dates such as ``04/03/1987`` in (UK day-first is ``DMY``)."""

DateOrder = Literal["auto", "DMY", "MDY", "YMD"]
"""How to read ambiguous numeric dates: an explicit order, or ``auto``: the order each source's
unambiguous values show (``25/12/1980`` is day-first), day-first when they show none."""

LinkType = Literal["dedupe", "link"]
"""``dedupe`` finds duplicates within one input; ``link`` finds the same people across two."""

Verdict = Literal["match", "possible", "no match"]
"""A plain-words reading of a match probability against the configured thresholds."""

WeakReason = Literal["same full name", "same surname and date of birth", "some evidence"]
"""Why a search lists an entity below "possible" as a weak candidate: a name shared whole
(forename and surname, or an alias), the surname and date of birth shared, or a match
probability from the index's weak floor (``ModelConfig.search_weak_floor``) up."""

AuditAction = Literal[
    "search",
    "entity",
    "add",
    "remove",
    "export",
    "denied",
    "purge",
    "queue",
    "decision",
    "build",
    "compact",
    "chain",
]
"""What an audit entry records: a search, an entity read, an add (or update), a removal,
a read of the review queue, a decision about two records; the index's build, a compaction,
and the start of the chain in a trail an older release wrote."""

Role = Literal["search", "review", "write", "audit"]
"""An API key's role: ``search`` reads (search, entity); ``review`` also reads the review
queue and decides about pairs; ``write`` does all of that and adds and removes."""

SyntheticProfile = Literal["default", "hard"]
"""The synthetic generator's rates: the default, or ``hard`` (as often as in others' data)."""
