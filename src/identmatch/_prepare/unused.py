"""What a run could not use: input columns that look like standard ones, values left unread.

A file with ``given_name`` and ``date_of_birth`` and no mapping runs without a forename or a
date of birth; these helpers find such columns (a table of common synonyms, then a close
spelling) so that a run can say "did you mean --map given_name=forename". Unread values are
counted per input and source with their first row numbers. Column names, counts and row
numbers only: never a value.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from identmatch._config import INPUT_COLUMNS
from identmatch._prepare.quality import ROWS_SHOWN, Unread

__all__ = ["close_column", "looks_like", "unread_by_source", "unused_columns"]

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "forename": (
        "given_name",
        "given_names",
        "first_name",
        "first_names",
        "firstname",
        "givenname",
        "forenames",
        "fname",
        "christian_name",
        "first",
    ),
    "middle_names": ("middle_name", "middlename", "middle", "second_name", "other_forenames"),
    "surname": ("last_name", "lastname", "family_name", "familyname", "lname", "last", "sname"),
    "dob": (
        "date_of_birth",
        "dateofbirth",
        "birth_date",
        "birthdate",
        "birthday",
        "d_o_b",
        "date_birth",
        "born",
    ),
    "sex": ("gender", "sex_code", "gender_code"),
    "postcode": ("post_code", "postal_code", "zip", "zip_code", "zipcode", "pcode"),
    "nhs_number": ("nhs", "nhs_no", "nhsno", "nhs_num", "nhsnumber", "nhs_id"),
    "address": (
        "address_1",
        "address1",
        "address_line_1",
        "address_line1",
        "street",
        "street_address",
        "addr",
    ),
    "town": ("city", "suburb", "locality", "town_city"),
    "aliases": ("alias", "aka", "other_names", "known_as", "also_known_as"),
    "source": ("source_system", "data_source", "system"),
    "recorded": (
        "date_recorded",
        "recorded_date",
        "recorded_on",
        "record_date",
        "last_updated",
        "updated",
        "updated_on",
        "date_updated",
        "last_modified",
        "modified",
        "date_modified",
        "entered",
        "date_entered",
        "created",
        "date_created",
        "created_on",
    ),
}
"""Standard column -> common names of it in other systems (lower case, ``_`` between words)."""

_KNOWN: dict[str, str] = {
    synonym: standard for standard, names in _SYNONYMS.items() for synonym in names
} | {standard: standard for standard in INPUT_COLUMNS}
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def _normal(name: str) -> str:
    return _NOT_WORD.sub("_", name.strip().lower()).strip("_")


def looks_like(column: str) -> str | None:
    """The standard column ``column`` looks like: a known synonym, or a close spelling of one.

    ``Given Name`` -> ``forename``; ``surnme`` -> ``surname``; ``occupation`` -> None.
    """
    name = _normal(column)
    if not name:
        return None
    if name in _KNOWN:
        return _KNOWN[name]
    close = difflib.get_close_matches(name, list(_KNOWN), n=1, cutoff=0.8)
    return _KNOWN[close[0]] if close else None


def unused_columns(columns: Iterable[Any], *, declared: Iterable[str] = ()) -> dict[str, str]:
    """The input columns left unused that look like a standard column the input lacks.

    Args:
        columns: the input's columns after mapping (standard ones under their names).
        declared: declared identifier and attribute columns (used, so never listed).

    Returns:
        Input column -> the standard column it looks like, in input order.
    """
    names = [str(c) for c in columns]
    present = set(names)
    used = present & set(INPUT_COLUMNS) | set(declared)
    found: dict[str, str] = {}
    for name in names:
        if name in used:
            continue
        standard = looks_like(name)
        if standard is not None and standard not in present and standard not in found.values():
            found[name] = standard
    return found


def close_column(wanted: str, columns: Sequence[str]) -> str | None:
    """The input column closest in spelling to ``wanted`` (a mistyped ``--map``), if any."""
    by_normal = {_normal(c): c for c in columns}
    close = difflib.get_close_matches(_normal(wanted), list(by_normal), n=1, cutoff=0.6)
    return by_normal[close[0]] if close else None


def unread_by_source(
    unread: np.ndarray[Any, np.dtype[np.bool_]],
    keys: pd.Series[str],
    *,
    name: str,
    first_row: int,
) -> tuple[Unread, ...]:
    """Per source, the values not read: how many, and the first rows' numbers (1-based)."""
    at = np.flatnonzero(unread)
    if not len(at):
        return ()
    sources = keys.to_numpy()[at]
    found: dict[str, list[int]] = {}
    counts: dict[str, int] = {}
    for source, row in zip(sources, at + first_row, strict=True):
        counts[source] = counts.get(source, 0) + 1
        rows = found.setdefault(source, [])
        if len(rows) < ROWS_SHOWN:
            rows.append(int(row))
    return tuple(
        Unread(input=name, source=source, count=counts[source], rows=tuple(found[source]))
        for source in sorted(counts, key=lambda s: (-counts[s], s))
    )
