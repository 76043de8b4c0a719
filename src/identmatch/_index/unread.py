"""The fields of a search query that were given but could not be read, and why.

A query field whose value is not blank but standardises to nothing (a date of birth in no
form the date reader knows, an NHS number failing its check digit, a postcode with no letter
or digit) would otherwise drop out of the search silently: the explanation would only say
"missing on one side". :func:`unread_fields` compares the raw query with the prepared one and
names each such field with the reason, never the value. :func:`field_notes` names the fields
that were read but deserve a look: a name that mixes alphabets (Cyrillic letters among Latin
ones), whose lookalike letters were read as the Latin ones.

It reads around the standardisers, not inside them: whatever they come to accept is read,
and only what they still leave missing is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from identmatch._index.found import UnreadField
from identmatch._prepare.declared import DeclaredSchema, identifier_values
from identmatch._prepare.lookalikes import mixes_alphabets
from identmatch._prepare.read import _alias_list, read_text
from identmatch._prepare.standardise import parse_date, standardise_name
from identmatch._types import DateOrder

__all__ = ["field_notes", "unread_fields"]

_NAMES = {
    "forename": "forename_std",
    "middle_names": "middle_std",
    "surname": "surname_std",
    "address": "address_std",
    "town": "town_std",
}
_LABELS = {"middle_names": "middle names", "dob": "date of birth", "nhs_number": "NHS number"}
_DATE_REASONS = {
    "invalid": "not a date in a form that can be read, or impossible, or after today",
    "placeholder": "a placeholder date that systems write when the real one is unknown",
}
_NO_NAME = "no name left once titles and punctuation are taken out"
_NHS_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]+")


def _label(field: str) -> str:
    return _LABELS.get(field, field.replace("_", " "))


def _unread(field: str, reason: str, *, part: bool = False) -> UnreadField:
    verb = "not read in full" if part else "not read"
    return UnreadField(field=field, reason=reason, message=f"{_label(field)} {verb}: {reason}")


def _nhs_reason(text: str) -> str:
    digits = _NHS_SEPARATORS.sub("", text)
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return "not ten digits"
    if len(set(digits)) == 1:
        return "a placeholder (one digit repeated)"
    return "fails its check digit"


def _date(raw: Any, prepared: Mapping[str, Any], order: DateOrder) -> UnreadField | None:
    if prepared.get("dob") is not None:
        return None
    parsed = parse_date(raw, order=order)
    if parsed.status == "missing":
        return None  # blank: not given
    if parsed.status == "partial":
        what = "the year" if parsed.month is None else "the year and month"
        return _unread("dob", f"only {what} could be read", part=True)
    return _unread("dob", _DATE_REASONS.get(parsed.status, "it could not be read"))


def _found(
    person: Mapping[str, Any], query: Mapping[str, Any], order: DateOrder, schema: DeclaredSchema
) -> Iterator[UnreadField]:
    for field, column in _NAMES.items():
        text = read_text(person.get(field))
        if text is not None and query.get(column) is None:
            number = field in ("forename", "middle_names", "surname") and standardise_name(text)
            reason = "no letter in it: a number, not a name" if number else _NO_NAME
            yield _unread(field, reason)
    aliases = _alias_list(person.get("aliases"), ";")
    if any(not standardise_name(alias) for alias in aliases):
        yield _unread("aliases", "an alias with no name left once titles are taken out")
    if "dob" in person and (found := _date(person["dob"], query, order)) is not None:
        yield found
    if read_text(person.get("sex")) is not None and query.get("sex_std") is None:
        yield _unread("sex", "only male and female (M, F, man, woman, ...) are read")
    postcode = read_text(person.get("postcode"))
    if postcode is not None and query.get("postcode_std") is None:
        yield _unread("postcode", "no letter or digit in it")
    nhs = read_text(person.get("nhs_number"))
    if nhs is not None and query.get("nhs_std") is None:
        yield _unread("nhs_number", _nhs_reason(nhs))
    for spec in schema.identifiers:
        values, invalid = identifier_values(person.get(spec.column), spec.kind)
        if invalid:
            some = "one or more values" if values else "no value"
            yield _unread(spec.column, f"{some} read as a valid {spec.kind.replace('_', ' ')}")
    for attribute in schema.attributes:
        given = read_text(person.get(attribute.column)) is not None
        if given and query.get(attribute.prepared) is None:
            yield _unread(attribute.column, "no letter or digit in it")


def unread_fields(
    person: Mapping[str, Any],
    query: Mapping[str, Any],
    *,
    date_order: DateOrder,
    schema: DeclaredSchema,
) -> tuple[UnreadField, ...]:
    """Each field ``person`` gives (not blank) that ``query``, its prepared form, lacks.

    Args:
        person: the query as given (standard fields and the index's declared columns).
        query: ``person`` prepared (:func:`identmatch._prepare.records.prepare_one`).
        date_order: the order the query's dates were read in.
        schema: the index's declared identifiers and attributes.

    Returns:
        One :class:`UnreadField` per field, in the order of the standard columns, then the
        declared ones; empty when every field given was read.
    """
    return tuple(_found(person, query, date_order, schema))


def field_notes(person: Mapping[str, Any]) -> tuple[UnreadField, ...]:
    """The name fields of ``person`` that mix alphabets in a word (read, lookalike letters as
    Latin ones, but worth checking at the source): field and reason, never the value."""
    reason = "mixes alphabets; letters that look Latin were read as the Latin letters"
    notes = []
    for field in (*_NAMES, "aliases"):
        values = _alias_list(person.get(field), ";") if field == "aliases" else [person.get(field)]
        if any((text := read_text(v)) is not None and mixes_alphabets(text) for v in values):
            message = f"{_label(field)} {reason} (check how it is written at the source)"
            notes.append(UnreadField(field=field, reason=reason, message=message))
    return tuple(notes)
