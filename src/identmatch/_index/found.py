"""What a search gives back: ranked hits, weak candidates and the query fields not read.

:class:`Hits` is the list of ranked :class:`Hit` (match or possible, best first) that
``Index.search`` has always returned, carrying two more things a practitioner needs: the
:class:`WeakCandidate` entities below "possible" that are still worth a look, labelled with
why they are listed, and the :class:`UnreadField` fields of the query that could not be read
(so the search went on without them). Weak candidates are never among the hits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from identmatch._model.explain import Explanation
from identmatch._types import Verdict, WeakReason

__all__ = ["Hit", "Hits", "KnownRecord", "UnreadField", "WeakCandidate", "known_records"]


class KnownRecord(BaseModel, frozen=True, extra="forbid"):
    """One record of an entity, as the index knows it."""

    record_id: str
    source: str | None
    name: str | None
    dob: str | None
    dob_given: str | None
    aliases: tuple[str, ...] = ()


def known_records(entity_id: str, members: Iterable[Mapping[str, Any]]) -> tuple[KnownRecord, ...]:
    """The entity's records among ``members`` (rows of the index's records table)."""
    records = []
    for row in members:
        if row["entity_id"] != entity_id:
            continue
        parts = [row.get("forename"), row.get("middle_names"), row.get("surname")]
        name = " ".join(str(p) for p in parts if p) or None
        records.append(
            KnownRecord.model_construct(
                record_id=str(row["record_id"]),
                source=row.get("source"),
                name=name,
                dob=row.get("dob"),
                dob_given=row.get("dob_given"),
                aliases=tuple(row.get("aliases") or ()),
            )
        )
    return tuple(records)


class Hit(BaseModel, frozen=True, extra="forbid"):
    """One entity found by a search."""

    entity_id: str
    match_probability: float
    match_weight: float
    verdict: Verdict
    best_record_id: str
    """The entity's record that scored best against the query."""
    explanation: Explanation
    records: tuple[KnownRecord, ...] = ()

    def with_records(self, members: list[dict[str, Any]]) -> Hit:
        """A copy carrying the entity's records (rows of the index's records table)."""
        return self.model_copy(update={"records": known_records(self.entity_id, members)})


class WeakCandidate(BaseModel, frozen=True, extra="forbid"):
    """An entity scoring below "possible" that a person may still want to look at.

    It is not a match and not a possible match: ``label`` says so and why it is listed
    (``"weak: same full name"``). It shows what a hit shows, no more.
    """

    entity_id: str
    label: str
    """``weak:`` and the reasons, e.g. ``weak: same surname and date of birth``."""
    reasons: tuple[WeakReason, ...]
    match_probability: float
    match_weight: float
    best_record_id: str
    explanation: Explanation
    records: tuple[KnownRecord, ...] = ()

    def with_records(self, members: list[dict[str, Any]]) -> WeakCandidate:
        """A copy carrying the entity's records (rows of the index's records table)."""
        return self.model_copy(update={"records": known_records(self.entity_id, members)})


class UnreadField(BaseModel, frozen=True, extra="forbid"):
    """A field the query gave (not blank) that could not be read, so the search went without
    it. Names the field and the reason, never the value."""

    field: str
    """The query's field: ``dob``, ``nhs_number``, ``postcode``, a declared column, ..."""
    reason: str
    """Why, in a few words: ``fails its check digit``."""
    message: str
    """Field and reason in words: ``NHS number not read: fails its check digit``."""


class Hits(list[Hit]):
    """The ranked hits of one search (a list, best first), with ``weak`` and ``unread``.

    Attributes:
        weak: entities below "possible" worth a look, labelled, best first; never hits.
        unread: the query's fields that were given but could not be read.
        notes: the query's fields that were read but deserve a look (a name mixing
            alphabets, its lookalike letters read as Latin ones); same shape as ``unread``.

    Two ``Hits`` are equal when their hits, weak candidates, unread fields and notes are; a
    plain list compares with the hits alone.
    """

    def __init__(
        self,
        hits: Iterable[Hit] = (),
        *,
        weak: Iterable[WeakCandidate] = (),
        unread: Iterable[UnreadField] = (),
        notes: Iterable[UnreadField] = (),
    ) -> None:
        super().__init__(hits)
        self.weak: tuple[WeakCandidate, ...] = tuple(weak)
        self.unread: tuple[UnreadField, ...] = tuple(unread)
        self.notes: tuple[UnreadField, ...] = tuple(notes)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Hits):
            same = (self.weak, self.unread, self.notes) == (other.weak, other.unread, other.notes)
            return same and list.__eq__(self, other)
        return list.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # a list: mutable, so unhashable

    def __repr__(self) -> str:
        return (
            f"Hits({list.__repr__(self)}, weak={self.weak!r}, unread={self.unread!r}, "
            f"notes={self.notes!r})"
        )

    @property
    def entity_ids(self) -> list[str]:
        """Every entity the search shows: the hits', then the weak candidates'."""
        return [hit.entity_id for hit in self] + [weak.entity_id for weak in self.weak]
