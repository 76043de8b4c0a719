"""The service's request and reply bodies: what the API takes and gives, validated."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    TypeAdapter,
    field_serializer,
    model_validator,
)

import identmatch
from identmatch._types import RECORD_ID_CHARACTERS, RECORD_ID_MAX_LENGTH

Name = Annotated[str, StringConstraints(max_length=200)]
Short = Annotated[str, StringConstraints(max_length=40)]
DeclaredName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,62}$")]
Purpose = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500, pattern=r"\S")
]
RECORD_ID_PATTERN = f"^[{RECORD_ID_CHARACTERS}]+$"
"""A record id: letters, digits and ``. _ : -`` (no ``#``, ``/``, ``?``, ``%``: an id is the
same in a body and in a URL path)."""
RecordId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=RECORD_ID_MAX_LENGTH, pattern=RECORD_ID_PATTERN),
]
# Hard caps in the schema; the config's limits (never above these) are checked per request.
MAX_BATCH = 10_000
MAX_TOP = 100
PERSON_FIELDS = tuple(
    c for c in identmatch.STANDARD_COLUMNS if c not in ("record_id", "source", "aliases")
)
"""Text fields of a person (aliases, a list, are handled on their own)."""


# ------------------------------------------------------------------------------ models
class Person(BaseModel):
    """Who to search for; at least one field. Values are standardised as records are."""

    model_config = ConfigDict(extra="forbid")

    forename: Name | None = None
    middle_names: Name | None = None
    surname: Name | None = None
    aliases: list[Name] = Field(default_factory=list, max_length=20)
    """Other names the person is known by (full names)."""
    dob: Short | None = Field(default=None, examples=["1985-04-03"])
    """Date of birth; ISO (YYYY-MM-DD) is unambiguous, other forms follow the index's order."""
    sex: Short | None = None
    postcode: Short | None = None
    nhs_number: Short | None = None
    address: Name | None = None
    town: Name | None = None
    identifiers: dict[DeclaredName, Short | list[Short]] = Field(
        default_factory=dict, max_length=20, examples=[{"pnc": "2008/0012345P"}]
    )
    """The index's declared identifiers by column (a list for several values)."""
    attributes: dict[DeclaredName, Name] = Field(default_factory=dict, max_length=20)
    """The index's declared attributes by column (occupation, school, ...)."""

    @model_validator(mode="after")
    def _not_empty(self) -> Person:
        if not any(self.fields().values()):
            msg = "give at least one field: forename, surname, dob, ..."
            raise ValueError(msg)
        return self

    def fields(self) -> dict[str, Any]:
        """The fields given, as the Python API takes them."""
        values: dict[str, Any] = {
            k: v for k in PERSON_FIELDS if (v := getattr(self, k)) is not None and v.strip()
        }
        if self.aliases:
            values["aliases"] = [a for a in self.aliases if a.strip()]
        for name, value in (*self.identifiers.items(), *self.attributes.items()):
            given = [v for v in value if v.strip()] if isinstance(value, list) else value.strip()
            if given:
                values[name] = given
        return values


class RecordIn(Person):
    """A record to add (or to replace, when its ``record_id`` is already indexed)."""

    record_id: RecordId
    source: Short | None = None
    recorded: Short | None = Field(default=None, examples=["2024-03-03"])
    """The date the source made or last updated the record (read as ``dob`` is); kept and
    shown beside it, never compared."""


class SearchRequest(BaseModel):
    """One person (``person``) or a small batch (``people``), and why you are asking."""

    model_config = ConfigDict(extra="forbid")

    purpose: Purpose = Field(examples=["case 2026-0142: new partner in household"])
    """Why you are searching: a case reference or a reason. Audited with the search."""
    person: Person | None = None
    people: list[Person] | None = Field(default=None, min_length=1, max_length=MAX_BATCH)
    """Several people at once (at most the service's ``max_batch``)."""
    top: int = Field(default=5, ge=1, le=MAX_TOP)
    """At most this many entities per person (at most the service's ``max_top``)."""

    @model_validator(mode="after")
    def _one_of(self) -> SearchRequest:
        if (self.person is None) == (self.people is None):
            msg = "give exactly one of person or people"
            raise ValueError(msg)
        return self

    def persons(self) -> list[Person]:
        """The people asked for, in order."""
        return [self.person] if self.person is not None else list(self.people or ())


class RecordsRequest(BaseModel):
    """Records to add; a record whose id is already indexed replaces the earlier one."""

    model_config = ConfigDict(extra="forbid")

    records: list[RecordIn] = Field(min_length=1, max_length=MAX_BATCH)
    """At most the service's ``max_batch`` records."""
    purpose: Purpose | None = None
    """Why the records change (a feed name, a case reference). Audited."""

    @model_validator(mode="after")
    def _unique(self) -> RecordsRequest:
        ids = [r.record_id for r in self.records]
        if len(set(ids)) != len(ids):
            msg = "record_id must be unique within one request"
            raise ValueError(msg)
        return self


class SearchResult(BaseModel):
    """The ranked entities for one person, best first (empty: nobody at "possible"); the
    weak candidates below "possible", labelled and apart; and the fields not read."""

    hits: list[identmatch.Hit]
    weak: list[identmatch.WeakCandidate] = Field(default_factory=list)
    """Entities below "possible" worth a look, each labelled ``weak: ...`` with its reasons
    (same full name, same surname and date of birth, some evidence); never matches. At most
    5, and at most ``top`` entities in all with the hits."""
    unread: list[identmatch.UnreadField] = Field(default_factory=list)
    """The person's fields that were given but could not be read (named, never echoed), so
    the search went on without them."""
    notes: list[identmatch.UnreadField] = Field(default_factory=list)
    """The person's fields that were read but deserve a look (named, never echoed): a name
    mixing alphabets, its letters that look Latin read as the Latin letters."""

    @field_serializer("weak", mode="wrap")
    def _weak_shows_its_best_record(
        self, weak: list[identmatch.WeakCandidate], handler: SerializerFunctionWrapHandler
    ) -> Any:
        """A weak candidate carries only the record that scored best: enough to see why it
        is listed, not the person's every record (a hit carries those, and a weak candidate
        is never opened by id)."""
        shown = handler(weak)
        for candidate in shown:
            candidate["records"] = [
                r for r in candidate["records"] if r["record_id"] == candidate["best_record_id"]
            ]
        return shown


class SearchResponse(BaseModel):
    """Results in the order the people were given, and the audit entries made."""

    results: list[SearchResult]
    audit_ids: list[int]


SEARCH_REPLY = TypeAdapter(SearchResponse)
"""Serialises a search reply straight to JSON bytes."""


class RecordOutcome(BaseModel):
    """Which entity a record joined; ``replaced`` when it replaced an earlier version."""

    record_id: str
    entity_id: str
    action: Literal["joined", "new", "merged"]
    replaced: bool


class RecordsResponse(BaseModel):
    records: list[RecordOutcome]
    audit_id: int


class RecordMove(BaseModel):
    record_id: str
    entity_id: str


class RemoveResponse(BaseModel):
    """The removed record, the entity it left, and records moved to split-off entities."""

    record_id: str
    entity_id: str
    split: list[RecordMove]
    audit_id: int


class DecisionRequest(BaseModel):
    """A person's decision about two records, with the reason and the purpose."""

    model_config = ConfigDict(extra="forbid")

    record_ids: Annotated[list[RecordId], Field(min_length=2, max_length=2)]
    decision: Literal["same", "different", "unsure"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    purpose: Purpose


class UndoRequest(BaseModel):
    """The two records the decision is about, why it is undone, and the purpose (audited)."""

    model_config = ConfigDict(extra="forbid")

    record_ids: tuple[RecordId, RecordId]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]
    purpose: Purpose


class DecisionResponse(BaseModel):
    """The decision's id, each record's entity afterwards, and every record moved."""

    decision_id: int
    decision: Literal["same", "different", "unsure"]
    record_ids: list[str]
    entity_ids: list[str]
    split: list[RecordMove]
    audit_id: int


class QueueResponse(identmatch.ReviewQueue, frozen=True):
    """The review queue, and the audit entry its reading made."""

    audit_id: int


class StoredDecision(BaseModel):
    record_id_l: str
    record_id_r: str
    decision: str
    reason: str
    decided_at: str
    decided_by: str
    purpose: str


class DecisionsPage(BaseModel):
    """Every decision the index holds, oldest first."""

    decisions: list[StoredDecision]
    audit_id: int


class EntityRecord(BaseModel):
    record_id: str
    source: str | None
    forename: str | None
    middle_names: str | None
    surname: str | None
    dob: str | None
    """Date of birth, standardised (YYYY-MM-DD) when it could be read."""
    dob_given: str | None
    """Date of birth as it was given."""
    aliases: list[str]
    postcode: str | None = None
    """Postcode, standardised (``SW1A 1AA``)."""
    address: str | None = None
    """Address line, standardised as the index compares it (lower case, no punctuation)."""
    town: str | None = None
    """Town, standardised as the index compares it."""
    recorded: str | None = None
    """The date the source made or last updated the record (YYYY-MM-DD), when given."""


class HouseholdMember(BaseModel):
    """Another person known at one of the entity's postcodes (see ``Index.household``)."""

    entity_id: str
    basis: Literal["address", "postcode"]
    """``address``: a record gives the same postcode and address line; ``postcode``: the
    same postcode only (a street or a block: neighbours at most)."""
    records: int
    name: str | None
    dob: str | None
    sources: list[str]
    postcode: str | None


class EntityResponse(BaseModel):
    entity_id: str
    names: list[str]
    dates_of_birth: list[str]
    records: list[EntityRecord]
    household: list[HouseholdMember]
    """The others known at the same addresses, same address first (at most 20)."""
    audit_id: int


class ModelLevel(BaseModel):
    label: str
    kind: str
    m: float
    u: float
    weight: float | None
    """``log2(m / u)`` in bits; None for the level of a missing value (it weighs nothing)."""
    term_frequencies: bool
    """The weight of an exact match is adjusted for how common the value is."""


class ModelComparison(BaseModel):
    name: str
    levels: list[ModelLevel]


class WeightBin(BaseModel):
    lower: float
    upper: float
    count: int


class ModelResponse(BaseModel):
    """The model the index scores with, and the distribution of the build's match weights.

    Holds no record values: the page's model screen draws it.
    """

    prior_weight: float
    threshold: float
    threshold_weight: float
    possible: float
    review_band: tuple[float, float]
    comparisons: list[ModelComparison]
    histogram: list[WeightBin]
    identifiers: list[str]
    """Declared identifier columns a search may give, by name."""
    attributes: list[str]
    """Declared attribute columns a search may give, by name."""


class SessionResponse(BaseModel):
    """Who the key is: its id, name and role (what the page may offer), and the names of
    the record sources in plain words (the config's ``[sources]``)."""

    key_id: str
    name: str
    role: str
    expires: str
    sources: dict[str, str] = Field(default_factory=dict)
    """Each source's label by its code; a source missing here is shown as its code in words."""


class ExportedRecord(BaseModel):
    record_id: str
    entity_id: str
    source: str | None
    recorded: str | None = None
    """The date the source made or last updated the record (YYYY-MM-DD), when given."""


class ExportResponse(BaseModel):
    """Every record's id, entity, source and date recorded, in the order added."""

    records: list[ExportedRecord]
    audit_id: int


class AuditPage(BaseModel):
    """Audit entries, oldest first; ask again with ``after`` = ``next_after`` for more."""

    entries: list[identmatch.AuditEntry]
    next_after: int | None


class Status(BaseModel):
    status: str


class Problem(BaseModel):
    detail: Any


class DecisionConflict(BaseModel):
    """A decision refused (409): it contradicts the standing decisions named."""

    detail: str
    decision_ids: list[int]
    """The decisions to revisit (``GET /v1/decisions`` lists them)."""


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or wrong API key"},
    403: {"model": Problem, "description": "The key's role does not allow this"},
    413: {"model": Problem, "description": "Request body too large"},
    422: {"model": Problem, "description": "Validation error, naming the field that failed"},
}
