"""Standardise every record once, before any pair is formed.

Each standardiser runs over the distinct values of a column, not over rows, and its results
are mapped back: a million-row column of a few thousand distinct names costs a few thousand
calls. The output columns are what blocking rules and comparisons read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from identmatch._prepare.date_columns import order_for, read_dob_column, source_keys
from identmatch._prepare.declared import (
    DeclaredSchema,
    is_declared_column,
    is_declared_list_column,
    prepare_attribute,
    prepare_identifier,
)
from identmatch._prepare.identifiers import IdentifierKind
from identmatch._prepare.lookalikes import mixes_alphabets
from identmatch._prepare.nicknames import related_forenames
from identmatch._prepare.phonetic import phonetic_code
from identmatch._prepare.quality import ColumnQuality, DataQuality
from identmatch._prepare.standardise import (
    joined_name,
    name_tokens,
    parse_date,
    standardise_name,
    standardise_nhs_number,
    standardise_postcode,
    standardise_sex,
)
from identmatch._prepare.unused import unread_by_source, unused_columns
from identmatch._prepare.values import map_unique as _map_unique
from identmatch._types import DateOrder, ExplicitDateOrder

__all__ = [
    "LIST_COLUMNS",
    "PREPARED_COLUMNS",
    "is_list_column",
    "is_prepared_column",
    "prepare_one",
    "prepare_records",
]

PREPARED_COLUMNS: tuple[str, ...] = (
    "unique_id",
    "forename_std",
    "forename_ph",
    "forename_first",
    "forename_nicks",
    "forename_initial",
    "forename_initial_only",
    "middle_std",
    "middle_first",
    "surname_std",
    "surname_joined",
    "surname_ph",
    "surname_parts",
    "surname_aliases",
    "name_keys",
    "alias_keys",
    "dob",
    "dob_year",
    "dob_md",
    "dob_year_swapped",
    "sex_std",
    "postcode_std",
    "postcode_outward",
    "postcode_sector",
    "nhs_std",
    "address_std",
    "town_std",
    "forename_variants",
    "name_tokens",
    "name_ph_sorted",
    "dob_unordered",
)
"""Columns of a prepared frame, in order. Missing values are ``None``."""

LIST_COLUMNS: frozenset[str] = frozenset(
    {
        "surname_parts",
        "forename_nicks",
        "name_keys",
        "alias_keys",
        "surname_aliases",
        "forename_variants",
        "name_tokens",
    }
)
"""The prepared columns holding a list of text (the others hold text)."""

_NO_SCHEMA = DeclaredSchema()


def is_prepared_column(name: str) -> bool:
    """Tell whether ``name`` is a prepared column: a standard one or one a schema declares."""
    return name in PREPARED_COLUMNS or is_declared_column(name)


def is_list_column(name: str) -> bool:
    """Tell whether the prepared column ``name`` holds a list of text."""
    return name in LIST_COLUMNS or is_declared_list_column(name)


def _each(series: pd.Series[Any], func: Callable[[Any], Any]) -> pd.Series[Any]:
    """``func`` on every value (NaN read as None), as an object Series that keeps None."""
    values = [None if isinstance(v, float) and v != v else v for v in series.astype(object)]
    return pd.Series([func(v) for v in values], index=series.index, dtype=object)


def _missing(series: pd.Series[Any]) -> pd.Series[bool]:
    text = series.astype("string")
    return series.isna() | (text.str.strip() == "")


def _absent(n: int) -> pd.Series[Any]:
    return pd.Series([None] * n, dtype=object)


_PERSON_NAMES = frozenset({"forename", "middle_names", "surname"})


def _person_name(value: Any) -> str | None:
    """A forename, middle name or surname standardised; a value with no letter (a number
    such as ``1.5``) is not a name, and is read as missing."""
    return _with_letter(standardise_name(value))


def _with_letter(std: str | None) -> str | None:
    """A standardised name, or None when it holds no letter."""
    return std if std is not None and any(c.isalpha() for c in std) else None


def _first_token(value: str | None) -> str | None:
    return value.split(" ", 1)[0] if value else None


def _swap_last_two(year: str | None) -> str | None:
    """1987 -> 1978; None when the last two digits are equal (nothing to transpose)."""
    if not year or len(year) != 4 or year[2] == year[3]:
        return None
    return year[:2] + year[3] + year[2]


def _variants(first: str | None) -> list[str] | None:
    """The first forename with its nicknames and short forms ("bill" -> bill, william, ...)."""
    if not first:
        return None
    return sorted({first, *related_forenames(first)})


def _skeleton(std_name: str | None) -> str | None:
    """A name's Metaphone code without a leading vowel: Usman and Osman both give ``SMN``.

    Metaphone keeps a name's first letter when it is a vowel, so transliterations that differ
    only there (Usman/Osman, Ibrahim/Ebrahim) would get different codes.
    """
    code = phonetic_code(std_name)
    if code and code[0] in "AEIOU" and len(code) > 1:
        return code[1:]
    return code


def _sorted_pair(first: str | None, second: str | None) -> str | None:
    """Two name codes in sorted order, so a forename and surname swapped give one key."""
    if not first or not second:
        return None
    return " ".join(sorted((first, second)))


def _all_tokens(*names: str | None, aliases: tuple[Any, ...] = ()) -> list[str] | None:
    """Every name token of a record (forenames, middle names, surname parts, aliases)."""
    tokens: set[str] = set()
    for name in names:
        if name:
            tokens.update(name.split(" "))
    for first, surname, _ in aliases:
        tokens.update(t for t in (first, surname) if t)
    return sorted(tokens) or None


def _unordered_dob(dob: str | None) -> str | None:
    """A full ISO date with day and month in sorted order: 1985-04-03 and 1985-03-04 agree."""
    if not dob or len(dob) != 10:
        return None
    low, high = sorted((dob[5:7], dob[8:10]))
    return f"{dob[:4]}-{low}-{high}"


def _name_key(first: str | None, joined_surname: str | None) -> str | None:
    """A whole-name key: first forename token and joined surname ("john smithjones")."""
    if not first or not joined_surname:
        return None
    return f"{first} {joined_surname}"


def _alias_names(aliases: tuple[str, ...]) -> tuple[tuple[str, str | None, str | None], ...]:
    """Each alias "Forename [Middle] Surname" as (first forename, joined surname, key)."""
    names = []
    for alias in aliases:
        std = standardise_name(alias)
        if not std:
            continue
        tokens = std.split(" ")
        first, surname = tokens[0], (tokens[-1] if len(tokens) > 1 else None)
        names.append((first, surname, _name_key(first, surname)))
    return tuple(names)


def prepare_records(
    records: pd.DataFrame,
    *,
    date_order: DateOrder = "auto",
    schema: DeclaredSchema | None = None,
    known_orders: Mapping[str, ExplicitDateOrder] | None = None,
    name: str = "input",
    first_row: int = 1,
) -> tuple[pd.DataFrame, DataQuality]:
    """Standardise ``records`` (as returned by ``read_records``) for matching.

    Args:
        records: the records read.
        date_order: how to read ambiguous numeric dates: an explicit order, or ``auto`` to
            detect one per source (``identmatch._prepare.date_columns``).
        schema: declared identifiers and attributes; their columns must be in ``records``.
        known_orders: under ``auto``, the order per source to fall back on when a source's
            own dates show none (e.g. the orders an index detected when it was built).
        name: the input's name in the quality summary.
        first_row: the input's data row number of the first record (for a chunk of a file),
            for the row numbers of unread dates in the quality summary.

    Returns:
        The prepared frame (``PREPARED_COLUMNS``, then the schema's prepared columns, one row
        per input row, same order) and a data-quality summary counting missing and unusable
        values per standard or declared column (for an identifier, ``invalid`` counts values
        failing its kind's format or check character; they are treated as missing; for
        ``dob``, ``sources`` gives per source the date order and the unread rows). An input
        with a ``recorded`` column (the date each record was made or last updated) gets it
        last, as an ISO date, counted in the summary like ``dob``; it is not a prepared
        column, so no comparison or candidate key reads it.
    """
    n = len(records)
    records = records.reset_index(drop=True)
    out: dict[str, pd.Series[Any]] = {"unique_id": records["record_id"].astype(object)}
    quality: dict[str, ColumnQuality] = {}

    def column(name: str) -> pd.Series[Any] | None:
        return records[name] if name in records.columns else None

    keys = source_keys(column("source"), n)

    def counted(raw: pd.Series[Any], std: pd.Series[Any], **extra: Any) -> ColumnQuality:
        missing = _missing(raw)
        unread = (~missing & std.isna()).to_numpy()
        return ColumnQuality(
            missing=int(missing.sum()),
            invalid=int(unread.sum()),
            unread=unread_by_source(unread, keys, name=name, first_row=first_row),
            **extra,
        )

    for field, std_name in (
        ("forename", "forename_std"),
        ("middle_names", "middle_std"),
        ("surname", "surname_std"),
        ("address", "address_std"),
        ("town", "town_std"),
    ):
        raw = column(field)
        if raw is None:
            out[std_name] = _absent(n)
            continue
        if field in _PERSON_NAMES:
            read = _map_unique(raw, standardise_name)
            std = _map_unique(read, _with_letter)
            numbers = read.notna() & std.isna()
            quality[field] = counted(
                raw, std, wrong_type=int(numbers.sum()), mixed_alphabets=_mixed_alphabets(raw)
            )
        else:
            std = _map_unique(raw, standardise_name)
            quality[field] = counted(raw, std, mixed_alphabets=_mixed_alphabets(raw))
        out[std_name] = std

    out["forename_ph"] = _map_unique(out["forename_std"], phonetic_code)
    out["surname_ph"] = _map_unique(out["surname_std"], phonetic_code)
    out["surname_joined"] = _map_unique(out["surname_std"], joined_name)
    out["surname_parts"] = _map_unique(
        out["surname_std"], lambda v: list(name_tokens(v)) if v else None
    )
    out["forename_first"] = _map_unique(out["forename_std"], _first_token)
    out["forename_nicks"] = _map_unique(
        out["forename_first"], lambda v: sorted(related_forenames(v)) or None if v else None
    )
    out["forename_initial"] = _each(out["forename_std"], lambda v: v[0] if v else None)
    out["forename_initial_only"] = _each(
        out["forename_std"], lambda v: v if v and len(v) == 1 else None
    )
    out["middle_first"] = _map_unique(out["middle_std"], _first_token)
    aliases = column("aliases")
    parsed_aliases = (
        _map_unique(aliases.map(tuple), _alias_names) if aliases is not None else _absent(n)
    )
    if aliases is not None:
        quality["aliases"] = ColumnQuality(missing=int(aliases.map(len).eq(0).sum()))
    primary_keys = [
        _name_key(first, joined)
        for first, joined in zip(out["forename_first"], out["surname_joined"], strict=True)
    ]
    alias_keys = [
        sorted({key for _, _, key in names if key}) or None if names else None
        for names in parsed_aliases
    ]
    out["alias_keys"] = pd.Series(alias_keys, dtype=object)
    out["name_keys"] = pd.Series(
        [
            sorted({k for k in [primary, *(extra or [])] if k}) or None
            for primary, extra in zip(primary_keys, alias_keys, strict=True)
        ],
        dtype=object,
    )
    out["surname_aliases"] = pd.Series(
        [
            sorted({surname for _, surname, _ in names if surname}) or None if names else None
            for names in parsed_aliases
        ],
        dtype=object,
    )

    out["forename_variants"] = _map_unique(out["forename_first"], _variants)
    skeleton_first = _map_unique(out["forename_first"], _skeleton)
    skeleton_surname = _map_unique(out["surname_joined"], _skeleton)
    out["name_ph_sorted"] = pd.Series(
        [_sorted_pair(a, b) for a, b in zip(skeleton_first, skeleton_surname, strict=True)],
        dtype=object,
    )
    out["name_tokens"] = pd.Series(
        [
            _all_tokens(f, m, s, aliases=names or ())
            for f, m, s, names in zip(
                out["forename_std"],
                out["middle_std"],
                out["surname_std"],
                parsed_aliases,
                strict=True,
            )
        ],
        dtype=object,
    )

    raw_dob = column("dob")
    if raw_dob is None:
        for dob_column in ("dob", "dob_year", "dob_md", "dob_year_swapped", "dob_unordered"):
            out[dob_column] = _absent(n)
    else:
        parsed, quality["dob"] = read_dob_column(
            raw_dob,
            column("source"),
            date_order=date_order,
            known=known_orders,
            name=name,
            first_row=first_row,
        )
        out["dob"] = _each(parsed, lambda p: p.date.isoformat() if p.date else None)
        out["dob_year"] = _each(parsed, lambda p: str(p.year) if p.year else None)
        out["dob_md"] = _each(out["dob"], lambda d: d[5:] if d else None)
        out["dob_year_swapped"] = _each(out["dob_year"], _swap_last_two)
        out["dob_unordered"] = _each(out["dob"], _unordered_dob)

    raw_recorded = column("recorded")
    if raw_recorded is not None:
        out["recorded"], quality["recorded"] = _recorded(
            raw_recorded,
            column("source"),
            date_order=date_order,
            known=_orders_of(quality.get("dob"), known_orders),
            name=name,
            first_row=first_row,
        )

    raw_postcode = column("postcode")
    if raw_postcode is None:
        for postcode_column in ("postcode_std", "postcode_outward", "postcode_sector"):
            out[postcode_column] = _absent(n)
    else:
        postcodes = _map_unique(raw_postcode, standardise_postcode)
        out["postcode_std"] = _each(postcodes, lambda p: p.postcode)
        out["postcode_outward"] = _each(postcodes, lambda p: p.outward)
        out["postcode_sector"] = _each(postcodes, lambda p: p.sector)
        quality["postcode"] = counted(raw_postcode, out["postcode_std"])

    for field, std_name, func in (
        ("sex", "sex_std", standardise_sex),
        ("nhs_number", "nhs_std", standardise_nhs_number),
    ):
        raw = column(field)
        if raw is None:
            out[std_name] = _absent(n)
            continue
        std = _map_unique(raw, func)
        out[std_name] = std
        quality[field] = counted(raw, std)

    declared = schema or _NO_SCHEMA
    declared.check_columns(records.columns, name="input")
    for spec in declared.identifiers:
        first, every, swaps, invalid, blank = _declared_cells(
            records[spec.column], functools.partial(_prepare_identifier, kind=spec.kind)
        )
        out[spec.prepared], out[spec.prepared_all], out[spec.prepared_swaps] = first, every, swaps
        unread = np.asarray(invalid, dtype=bool)
        quality[spec.column] = ColumnQuality(
            missing=int(sum(blank)),
            invalid=int(unread.sum()),
            unread=unread_by_source(unread, keys, name=name, first_row=first_row),
        )
    for attribute in declared.attributes:
        raw = records[attribute.column]
        out[attribute.prepared] = _map_unique(raw, prepare_attribute)
        quality[attribute.column] = counted(raw, out[attribute.prepared])

    names = (*PREPARED_COLUMNS, *declared.prepared_columns)
    if raw_recorded is not None:
        names += ("recorded",)
    prepared = pd.DataFrame({col: out[col] for col in names})
    unused = unused_columns(records.columns, declared=declared.columns)
    return prepared, DataQuality(rows=n, columns=quality, unused_columns=unused)


def _orders_of(
    dob: ColumnQuality | None, known: Mapping[str, ExplicitDateOrder] | None
) -> dict[str, ExplicitDateOrder]:
    """The order each source's dates of birth were read in, over ``known``: what a source's
    dates recorded fall back on when they show no order of their own."""
    orders = dict(known or {})
    if dob is not None:
        orders.update({entry.source: entry.date_order for entry in dob.sources})
    return orders


def _recorded(
    raw: pd.Series[Any],
    source: pd.Series[Any] | None,
    *,
    date_order: DateOrder,
    known: Mapping[str, ExplicitDateOrder],
    name: str,
    first_row: int,
) -> tuple[pd.Series[Any], ColumnQuality]:
    """The dates records were made or last updated (ISO ``YYYY-MM-DD``; None unless a full
    date, not in the future, could be read), read as dates of birth are, and their quality.

    Under ``auto`` a source's own dates recorded give its order, else the order its dates of
    birth were read in (``known``), else day-first. The column is kept with the record and
    shown beside it; nothing compares it.
    """
    parsed, quality = read_dob_column(
        raw, source, date_order=date_order, known=known, name=name, first_row=first_row
    )
    return _each(parsed, lambda p: p.date.isoformat() if p.date else None), quality


def _prepare_identifier(value: Any, kind: IdentifierKind) -> tuple[Any, ...]:
    return prepare_identifier(value, kind)


def _declared_cells(
    series: pd.Series[Any], func: Callable[[Any], tuple[Any, ...]]
) -> list[pd.Series[Any]]:
    """``func`` on each cell, once per distinct text or number, its results as columns."""
    cache: dict[Any, tuple[Any, ...]] = {}
    results = []
    for value in series.astype(object):
        if isinstance(value, str | int | float) or value is None:
            done = cache.get(value)
            if done is None:
                done = cache[value] = func(value)
        else:  # a list (or array) of values: not hashable
            done = func(value)
        results.append(done)
    columns = list(zip(*results, strict=True)) if results else [()] * 5
    return [pd.Series(list(c), index=series.index, dtype=object) for c in columns]


def prepare_one(
    fields: Mapping[str, Any],
    *,
    date_order: DateOrder = "auto",
    alias_separator: str = ";",
    schema: DeclaredSchema | None = None,
    known_orders: Mapping[str, ExplicitDateOrder] | None = None,
) -> dict[str, Any]:
    """Standardise one record (a search query) without pandas; the twin of prepare_records.

    Gives the same prepared values as :func:`prepare_records` for a one-row input, which a
    property test checks, so a search query is prepared exactly as batch records are. One
    value shows no date order, so under ``auto`` its source's ``known_orders`` entry is used
    (else the one order they all share, else ``DMY``; see ``date_columns.order_for``).
    """
    from identmatch._prepare.read import _alias_list, read_text

    def name(field: str) -> str | None:
        read = _person_name if field in _PERSON_NAMES else standardise_name
        return read(read_text(fields.get(field)))

    out: dict[str, Any] = {"unique_id": read_text(fields.get("record_id")) or "query"}
    forename, middle, surname = name("forename"), name("middle_names"), name("surname")
    out["forename_std"], out["middle_std"], out["surname_std"] = forename, middle, surname
    out["address_std"], out["town_std"] = name("address"), name("town")
    out["forename_ph"], out["surname_ph"] = phonetic_code(forename), phonetic_code(surname)
    out["surname_joined"] = joined_name(surname)
    out["surname_parts"] = list(name_tokens(surname)) if surname else None
    first = _first_token(forename)
    out["forename_first"] = first
    out["forename_nicks"] = sorted(related_forenames(first)) or None if first else None
    out["forename_initial"] = forename[0] if forename else None
    out["forename_initial_only"] = forename if forename and len(forename) == 1 else None
    out["middle_first"] = _first_token(middle)
    names = _alias_names(tuple(_alias_list(fields.get("aliases"), alias_separator)))
    alias_keys = sorted({key for _, _, key in names if key}) or None if names else None
    primary = _name_key(first, out["surname_joined"])
    out["alias_keys"] = alias_keys
    out["name_keys"] = sorted({k for k in [primary, *(alias_keys or [])] if k}) or None
    out["surname_aliases"] = sorted({s for _, s, _ in names if s}) or None if names else None
    out["forename_variants"] = _variants(first)
    out["name_ph_sorted"] = _sorted_pair(_skeleton(first), _skeleton(out["surname_joined"]))
    out["name_tokens"] = _all_tokens(forename, middle, surname, aliases=names)
    raw_dob = fields.get("dob")
    source = read_text(fields.get("source")) or ""
    order = order_for(source, date_order, known_orders)
    parsed = parse_date(None if raw_dob == "" else raw_dob, order=order)
    out["dob"] = parsed.date.isoformat() if parsed.date else None
    out["dob_year"] = str(parsed.year) if parsed.year else None
    out["dob_md"] = out["dob"][5:] if out["dob"] else None
    out["dob_year_swapped"] = _swap_last_two(out["dob_year"])
    out["dob_unordered"] = _unordered_dob(out["dob"])
    postcode = standardise_postcode(read_text(fields.get("postcode")))
    out["postcode_std"], out["postcode_outward"] = postcode.postcode, postcode.outward
    out["postcode_sector"] = postcode.sector
    out["sex_std"] = standardise_sex(read_text(fields.get("sex")))
    out["nhs_std"] = standardise_nhs_number(read_text(fields.get("nhs_number")))
    declared = schema or _NO_SCHEMA
    for spec in declared.identifiers:
        first, every, swaps, _, _ = prepare_identifier(fields.get(spec.column), spec.kind)
        out[spec.prepared], out[spec.prepared_all], out[spec.prepared_swaps] = first, every, swaps
    for attribute in declared.attributes:
        out[attribute.prepared] = prepare_attribute(fields.get(attribute.column))
    return {column: out[column] for column in (*PREPARED_COLUMNS, *declared.prepared_columns)}


def _mixed_alphabets(raw: pd.Series[Any]) -> int:
    """How many values have a word mixing alphabets, checked once per distinct value (only
    text that is not all ASCII can; most names are ASCII)."""
    counts = raw.value_counts(dropna=True)
    return int(
        sum(
            int(n)
            for value, n in counts.items()
            if isinstance(value, str) and not value.isascii() and mixes_alphabets(value)
        )
    )
