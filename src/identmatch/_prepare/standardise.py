"""Pure, idempotent normalisers of single values: text, names, dates, postcodes, NHS numbers, sex.

Every function here takes one raw value, never raises, and maps missing input (``None``, float
NaN, ``pandas.NA``, ``pandas.NaT``, blank text) to a missing output. Feeding an output back in
gives the same output (idempotence), so values can be standardised more than once, for example
once when indexed and again when searched for.

The functions are mapped over the unique values of large columns, so the work for each distinct
text is cached (bounded LRU caches keyed on the text alone).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import lru_cache
from typing import Literal, NamedTuple

from identmatch._prepare.names import strip_titles_and_suffixes
from identmatch._prepare.values import is_missing, to_text
from identmatch._types import DateOrder

__all__ = [
    "DateStatus",
    "ParsedDate",
    "Postcode",
    "PostcodeStatus",
    "fold_text",
    "is_valid_nhs_number",
    "joined_name",
    "name_tokens",
    "parse_date",
    "standardise_dob",
    "standardise_name",
    "standardise_nhs_number",
    "standardise_postcode",
    "standardise_sex",
]

# Distinct texts remembered per function; bounded so a long-running service cannot grow forever.
_CACHE_SIZE = 1 << 17

DateStatus = Literal["missing", "valid", "partial", "placeholder", "invalid"]
"""What :func:`parse_date` made of a value."""

PostcodeStatus = Literal["missing", "valid", "other"]
"""``valid`` is a well-formed UK postcode; ``other`` is any other non-empty code (e.g. overseas)."""


# Text folding

_APOSTROPHES = "'’‘‛`´ʼʻ′"
# Letters that NFKD leaves whole, spelt as English records usually spell them.
_LETTERS = {
    **dict(zip("łŁøØđĐðÐıħĦŧŦ", "llooddddihhtt", strict=True)),
    **{"æ": "ae", "Æ": "ae", "ß": "ss", "ẞ": "ss", "œ": "oe", "Œ": "oe", "þ": "th", "Þ": "th"},
}
_FOLD_TABLE = str.maketrans({**dict.fromkeys(_APOSTROPHES, ""), **_LETTERS})
_ASCII_APOSTROPHES = str.maketrans(dict.fromkeys("'`", ""))
_ASCII_JUNK = re.compile(r"[^a-z0-9]+")


def _fold_round(text: str) -> str:
    """One round of folding: letter table, NFKD, drop marks, letter table again, casefold."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD_TABLE))
    unmarked = "".join(ch for ch in decomposed if not unicodedata.category(ch).startswith("M"))
    return unmarked.translate(_FOLD_TABLE).casefold()


@lru_cache(maxsize=1 << 14)
def _fold_char(char: str) -> str:
    """Fold one character to lowercase alphanumerics, ``""`` (apostrophes) or ``" "``.

    Folding is repeated until it settles (casefolding can produce letters that decompose
    further), which is what makes :func:`fold_text` idempotent.
    """
    out = char
    for _ in range(4):
        folded = _fold_round(out)
        if folded == out:
            break
        out = folded
    return "".join(ch if ch.isalnum() else " " for ch in out)


def _fold_slow(text: str) -> str:
    """Fold any text character by character; the reference for the ASCII fast path."""
    return " ".join("".join(_fold_char(ch) for ch in text).split())


@lru_cache(maxsize=_CACHE_SIZE)
def _fold_text(text: str) -> str | None:
    if text.isascii():
        # Fast path, equal to _fold_slow on ASCII (tested): no decomposition is needed.
        folded = _ASCII_JUNK.sub(" ", text.lower().translate(_ASCII_APOSTROPHES)).strip()
    else:
        folded = _fold_slow(text)
    return folded or None


def fold_text(value: object) -> str | None:
    """Fold text to lowercase ASCII-like words for comparison.

    Applies Unicode NFKD, drops combining marks, spells out letters NFKD keeps whole
    (``ł`` -> ``l``, ``æ`` -> ``ae``, ``ß`` -> ``ss``, ``þ`` -> ``th``, ...), casefolds, removes
    apostrophes without a gap (``O'Brien`` -> ``obrien``), turns every other
    non-alphanumeric character into a space and collapses spaces. Letters of other scripts
    are kept, lowercased. Returns ``None`` for missing values and when nothing alphanumeric
    is left.
    """
    text = to_text(value)
    return None if text is None else _fold_text(text)


# Names


@lru_cache(maxsize=_CACHE_SIZE)
def _standardise_name_text(text: str) -> str | None:
    folded = _fold_text(text)
    if folded is None:
        return None
    return " ".join(strip_titles_and_suffixes(folded.split())) or None


def standardise_name(value: object) -> str | None:
    """Standardise a name: fold it, split on spaces and hyphens, strip titles and suffixes.

    Leading titles (``Dr``, ``Mrs``, ...) and trailing suffixes (``Jnr``, ``III``, ...) are
    stripped repeatedly; :mod:`identmatch._prepare.names` says which are kept when they are the
    name.

    Returns the space-joined tokens, or ``None`` when missing or no name is left:
    ``"Dr. Mary-Jane O'Neil"`` -> ``"mary jane oneil"``; ``"Mr"`` -> ``None``.
    """
    text = to_text(value)
    return None if text is None else _standardise_name_text(text)


def name_tokens(std_name: object) -> tuple[str, ...]:
    """Split a name into its parts (e.g. both halves of a double-barrelled surname); may be empty.

    Meant for :func:`standardise_name` output; other text is only folded (titles are kept).
    """
    name = fold_text(std_name)
    return () if name is None else tuple(name.split())


def joined_name(std_name: object) -> str | None:
    """Join a name's parts with no space, so ``Smith-Jones`` and ``Smithjones`` agree.

    ``"smith jones"`` -> ``"smithjones"``; ``None`` when missing. Meant for
    :func:`standardise_name` output; other text is only folded, so the result is idempotent.
    """
    name = fold_text(std_name)
    return None if name is None else name.replace(" ", "")


# Dates


class ParsedDate(NamedTuple):
    """A date as read by :func:`parse_date`, with what could be read of it.

    ``date`` is set only when ``status`` is ``valid``; ``year``, ``month`` and ``day`` are set
    as far as they are known (all for ``valid``, year and maybe month for ``partial``,
    none otherwise).
    """

    date: dt.date | None
    year: int | None
    month: int | None
    day: int | None
    status: DateStatus


_MISSING_DATE = ParsedDate(None, None, None, None, "missing")
_INVALID_DATE = ParsedDate(None, None, None, None, "invalid")
_PLACEHOLDER_DATE = ParsedDate(None, None, None, None, "placeholder")

_EARLIEST_YEAR = 1000
"""Dates of birth before this year are treated as invalid. Deliberately early: historic
records (genealogy, the historical-figures benchmark) carry real old dates, and the known
placeholders (1800-01-01, 1900-01-01, ...) are caught by value, not by age."""

# Dates that systems write when the real one is unknown: epoch and range limits of common
# databases and spreadsheets, and "far future" sentinels. 1970-01-01 (Unix epoch) is left out
# on purpose: it is a plausible date of birth for living adults.
_PLACEHOLDERS = frozenset(
    dt.date(*ymd)
    for ymd in (
        (1, 1, 1),
        (1000, 1, 1),
        (1753, 1, 1),
        (1800, 1, 1),
        (1899, 12, 30),
        (1899, 12, 31),
        (1900, 1, 1),
        (1901, 1, 1),
        (2099, 12, 31),
        (2999, 12, 31),
        (9999, 1, 1),
        (9999, 12, 31),
    )
)

_MONTH_NAMES: tuple[str, ...] = ("january", "february", "march", "april", "may", "june", "july")
_MONTH_NAMES += ("august", "september", "october", "november", "december")
_MONTHS = {
    **{name: number for number, name in enumerate(_MONTH_NAMES, start=1)},
    **{name[:3]: number for number, name in enumerate(_MONTH_NAMES, start=1)},
    "sept": 9,
}

_SEP = r"[-/. ]"
# An optional time of day after a date, as written by databases and spreadsheets; it is ignored.
_TIME = (
    r"(?:[t ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?"
    r"\s*(?:[ap]m|z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_ORD = r"(?:st|nd|rd|th)?"
_GAP = r"[-/., ]*"
_ISO = re.compile(rf"([0-9]{{4}}){_SEP}([0-9]{{1,2}}){_SEP}([0-9]{{1,2}}){_TIME}", re.ASCII)
_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})", re.ASCII)
_NUMERIC = re.compile(
    rf"([0-9]{{1,2}}){_SEP}([0-9]{{1,2}}){_SEP}([0-9]{{4}}|[0-9]{{2}}){_TIME}", re.ASCII
)
_DAY_NAME = re.compile(
    rf"([0-9]{{1,2}}){_ORD}{_GAP}([a-z]+){_GAP}([0-9]{{4}}|[0-9]{{2}})", re.ASCII
)
_NAME_DAY = re.compile(rf"([a-z]+){_GAP}([0-9]{{1,2}}){_ORD}{_GAP}([0-9]{{4}})", re.ASCII)
_YEAR = re.compile(r"[0-9]{4}", re.ASCII)
_MONTH_YEAR = re.compile(rf"([0-9]{{1,2}}){_SEP}([0-9]{{4}})", re.ASCII)
_YEAR_MONTH = re.compile(rf"([0-9]{{4}}){_SEP}([0-9]{{1,2}})", re.ASCII)
_NAME_YEAR = re.compile(rf"([a-z]+){_GAP}([0-9]{{4}})", re.ASCII)


def _full_year(digits: str, today: dt.date) -> int:
    """Read a year; two digits above this year's last two are 19xx, the rest 20xx."""
    year = int(digits)
    if len(digits) == 2:
        year += 1900 if year > today.year % 100 else 2000
    return year


def _partial(year: int, month: int | None, today: dt.date) -> ParsedDate:
    """A year, or a year and month, checked against the plausible range."""
    if not _EARLIEST_YEAR <= year <= today.year:
        return _INVALID_DATE
    if month is not None and not (1 <= month <= 12 and (year, month) <= (today.year, today.month)):
        return _INVALID_DATE
    return ParsedDate(None, year, month, None, "partial")


def _checked(date: dt.date, today: dt.date) -> ParsedDate:
    """Classify a calendar date as placeholder, invalid (future or too early) or valid."""
    if date in _PLACEHOLDERS:
        return _PLACEHOLDER_DATE
    if date > today or date.year < _EARLIEST_YEAR:
        return _INVALID_DATE
    return ParsedDate(date, date.year, date.month, date.day, "valid")


def _from_parts(year: int, month: int, day: int, today: dt.date) -> ParsedDate:
    """Build a result from numbers; day 0 (and month 0) mean "unknown" and give a partial."""
    if day == 0:
        return _partial(year, None if month == 0 else month, today)
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return _INVALID_DATE
    return _checked(date, today)


def _numeric(first: str, second: str, year: str, order: DateOrder, today: dt.date) -> ParsedDate:
    """Read ``a/b/y`` (or ``yy/mm/dd`` under ``YMD``) using ``order`` for the ambiguous parts."""
    if order == "YMD" and len(year) == 2:
        return _from_parts(_full_year(first, today), int(second), int(year), today)
    # YMD with a four-digit trailing year cannot be year-first, so read it day-first.
    day, month = (int(second), int(first)) if order == "MDY" else (int(first), int(second))
    if month > 12 and 1 <= day <= 12:
        # The order was clearly the other way round (e.g. 03/25/1987 under DMY).
        day, month = month, day
    return _from_parts(_full_year(year, today), month, day, today)


@lru_cache(maxsize=_CACHE_SIZE)
def _parse_text(text: str, order: DateOrder, today: dt.date) -> ParsedDate:
    text = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    if not text:
        return _MISSING_DATE
    if m := _ISO.fullmatch(text) or _COMPACT.fullmatch(text):
        return _from_parts(int(m[1]), int(m[2]), int(m[3]), today)
    if m := _NUMERIC.fullmatch(text):
        return _numeric(m[1], m[2], m[3], order, today)
    if (m := _DAY_NAME.fullmatch(text)) and m[2] in _MONTHS:
        return _from_parts(_full_year(m[3], today), _MONTHS[m[2]], int(m[1]), today)
    if (m := _NAME_DAY.fullmatch(text)) and m[1] in _MONTHS:
        return _from_parts(int(m[3]), _MONTHS[m[1]], int(m[2]), today)
    if _YEAR.fullmatch(text):
        return _partial(int(text), None, today)
    if m := _MONTH_YEAR.fullmatch(text):
        return _partial(int(m[2]), int(m[1]), today)
    if m := _YEAR_MONTH.fullmatch(text):
        return _partial(int(m[1]), int(m[2]), today)
    if (m := _NAME_YEAR.fullmatch(text)) and m[1] in _MONTHS:
        return _partial(int(m[2]), _MONTHS[m[1]], today)
    return _INVALID_DATE


def parse_date(value: object, *, order: DateOrder = "DMY") -> ParsedDate:
    """Read a date of birth from text or a date object, saying how far it could be read.

    Accepted: ``1987-03-04``, ``1987/03/04``, ``19870304``, ``04/03/1987``, ``4-3-1987``,
    ``4.3.1987``, ``04/03/87``, ``4 March 1987``, ``4 Mar 1987``, ``March 4 1987``, ISO
    date-times (``1987-03-04T00:00:00``, ``1987-03-04 00:00:00``), and ``datetime.date``,
    ``datetime.datetime`` and ``pandas.Timestamp`` objects.

    Numeric ``a/b/y`` dates are read by ``order``. When that reading is impossible but the
    other way round works (``03/25/1987`` under ``DMY``: no month 25) the day and month are
    swapped instead of calling the date invalid. Year-first forms are year-month-day, as is
    ``87/03/04`` under ``YMD`` (which reads ``04/03/1987`` day-first). A two-digit year above
    this year's last two digits is 19xx, otherwise 20xx.

    Statuses: ``partial`` for a year (``1987``) or month and year (``03/1987``, or day ``00``),
    ``date`` unset; ``placeholder`` for sentinels such as ``1900-01-01`` and ``9999-12-31``;
    ``invalid`` for dates after today, before the year 1000, or unreadable.

    Args:
        value: the raw value; missing values and blank text give status ``missing``.
        order: how to read ambiguous numeric dates (UK day-first by default).
    """
    if is_missing(value):
        return _MISSING_DATE
    today = dt.date.today()
    if isinstance(value, dt.datetime):  # includes pandas.Timestamp
        return _checked(value.date(), today)
    if isinstance(value, dt.date):
        return _checked(value, today)
    text = to_text(value)
    return _MISSING_DATE if text is None else _parse_text(text, order, today)


def standardise_dob(value: object, *, order: DateOrder = "DMY") -> str | None:
    """Standardise a date of birth to ISO ``YYYY-MM-DD`` if :func:`parse_date` finds it valid.

    Returns ``None`` for every other status (missing, partial, placeholder, invalid).
    """
    parsed = parse_date(value, order=order)
    return None if parsed.date is None else parsed.date.isoformat()


# Postcodes


class Postcode(NamedTuple):
    """A postcode as read by :func:`standardise_postcode`.

    For a UK postcode, ``postcode`` is ``"OUTWARD INWARD"`` (``"SW1A 1AA"``), ``outward`` the
    district (``"SW1A"``) and ``sector`` the district plus the inward digit (``"SW1A 1"``).
    For other codes only ``postcode`` is set, to the uppercase alphanumerics.
    """

    postcode: str | None
    outward: str | None
    sector: str | None
    status: PostcodeStatus


_MISSING_POSTCODE = Postcode(None, None, None, "missing")
_OUTWARD = re.compile(r"[A-Z][0-9]{1,2}|[A-Z][0-9][A-Z]|[A-Z]{2}[0-9]{1,2}|[A-Z]{2}[0-9][A-Z]")
_INWARD = re.compile(r"[0-9][A-Z]{2}")
# The inward code starts with a digit, so a letter O or I there can only be a mistyped 0 or 1.
_INWARD_DIGIT_FIXES = {"O": "0", "I": "1"}


def _uk_postcode(outward: str, inward: str) -> Postcode | None:
    """The UK reading of a split code, or ``None`` when it is not UK-shaped."""
    inward = _INWARD_DIGIT_FIXES.get(inward[:1], inward[:1]) + inward[1:]
    is_uk = (outward, inward) == ("GIR", "0AA") or (
        _OUTWARD.fullmatch(outward) is not None and _INWARD.fullmatch(inward) is not None
    )
    if not is_uk:
        return None
    return Postcode(f"{outward} {inward}", outward, f"{outward} {inward[0]}", "valid")


@lru_cache(maxsize=_CACHE_SIZE)
def _postcode_text(text: str) -> Postcode:
    folded = _fold_text(text)
    code = "" if folded is None else folded.replace(" ", "").upper()
    if not code:
        return _MISSING_POSTCODE
    if code.isascii() and 5 <= len(code) <= 7 and (uk := _uk_postcode(code[:-3], code[-3:])):
        return uk
    return Postcode(code, None, None, "other")


def standardise_postcode(value: object) -> Postcode:
    """Standardise a postcode: uppercase, drop non-alphanumerics, split UK codes.

    UK postcodes (outward ``A9``, ``A99``, ``AA9``, ``AA99``, ``A9A`` or ``AA9A`` followed by
    inward ``9AA``, plus ``GIR 0AA``) come back as ``"SW1A 1AA"`` with status ``valid``. A
    letter ``O`` or ``I`` where the inward digit belongs is read as ``0`` or ``1``; nothing
    else is corrected. Other non-empty codes (e.g. the Australian ``2119``) are kept as their
    uppercase alphanumerics with status ``other``.

    Missing values and codes with no alphanumerics give status ``missing``.
    """
    text = to_text(value)
    return _MISSING_POSTCODE if text is None else _postcode_text(text)


# NHS numbers

_NHS_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015]+")
_TEN_DIGITS = re.compile(r"[0-9]{10}", re.ASCII)


@lru_cache(maxsize=_CACHE_SIZE)
def _nhs_number_text(text: str) -> str | None:
    digits = _NHS_SEPARATORS.sub("", text)
    if not _TEN_DIGITS.fullmatch(digits) or len(set(digits)) == 1:
        return None
    total = sum(
        int(digit) * weight for digit, weight in zip(digits[:9], range(10, 1, -1), strict=True)
    )
    check = 11 - total % 11
    if check == 10:
        return None
    return digits if int(digits[9]) == check % 11 else None


def standardise_nhs_number(value: object) -> str | None:
    """Standardise an NHS number to its ten digits, or ``None`` if it is not a valid one.

    Spaces and dashes are removed; the rest must be exactly ten digits whose last is the
    mod-11 check digit (weights 10 down to 2 over the first nine; a check of 11 is 0, a
    check of 10 means no valid number). Repeated-digit numbers such as ``0000000000`` all
    pass the check digit but are placeholders, so they are rejected. Test-range numbers
    (starting ``999``) are accepted, as synthetic data uses them.

    The value may be text, or an integer or whole float from a numeric column. Returns the
    ten digits, or ``None`` when missing or invalid.
    """
    text = to_text(value)
    return None if text is None else _nhs_number_text(text)


def is_valid_nhs_number(value: object) -> bool:
    """Tell whether a value is a valid NHS number once spaces and dashes are removed."""
    return standardise_nhs_number(value) is not None


# Sex

_SEXES: dict[str, Literal["M", "F"]] = {
    **dict.fromkeys(("m", "male", "man", "boy", "mr"), "M"),
    **dict.fromkeys(("f", "female", "woman", "girl", "mrs", "miss", "ms"), "F"),
}


def standardise_sex(value: object) -> Literal["M", "F"] | None:
    """Standardise a recorded sex to ``"M"`` or ``"F"``.

    ``m``, ``male``, ``man``, ``boy`` and ``mr`` give ``"M"``; ``f``, ``female``, ``woman``,
    ``girl``, ``mrs``, ``miss`` and ``ms`` give ``"F"`` (case and punctuation ignored).
    Everything else (``u``, ``unknown``, ``x``, ``not known``, numeric codes, blank) gives
    ``None``: numeric codes differ between systems, so they are mapped by the caller.

    """
    folded = fold_text(value)
    return None if folded is None else _SEXES.get(folded)
