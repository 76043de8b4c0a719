"""Dates of birth as people write them, one value at a time.

Every function here takes one raw value and never raises; missing input (``None``, NaN,
``pandas.NA``, ``pandas.NaT``, blank text) reads as missing. Each value is read on its own:
which order a whole column is written in is decided by :mod:`identmatch._prepare.date_columns`
from the values that show it (:func:`date_order_hint`).

How a value is read, in turn:

1. Numbers: ISO ``1987-03-04`` and other year-first forms, ``a/b/yyyy`` (and ``a/b/yy``) in the
   date order, eight digits as ``YYYYMMDD`` or in the date order (``DDMMYYYY``, ``MMDDYYYY``).
   An impossible month with a possible one in the day's place is read the other way round
   (``1971-25-06`` and ``19712506`` are 25 June 1971; ``03/25/1987`` under ``DMY`` is 25 March).
2. A month's name with numbers in the usual places (``4 March 1987``, ``March 4 1987``).
3. Other text naming a month (``3rd of July 95``, ``the 3rd of July 1995``, ``Monday 3 July
   1995``), read by dateutil's parser; only a reading in which the text itself gives the day,
   the month and the year counts, so nothing is made up from a default.

Two-digit years are in the past: above this year's last two digits they are 19xx, otherwise
20xx (a date of birth is never in the future).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import lru_cache
from typing import Literal, NamedTuple

from dateutil import parser as dateutil_parser

from identmatch._prepare.values import is_missing, to_text
from identmatch._types import DateOrder, ExplicitDateOrder

__all__ = [
    "DateStatus",
    "ParsedDate",
    "date_order_hint",
    "explicit_order",
    "parse_date",
    "standardise_dob",
]

# Distinct texts remembered per function; bounded so a long-running service cannot grow forever.
_CACHE_SIZE = 1 << 17

DateStatus = Literal["missing", "valid", "partial", "placeholder", "invalid"]
"""What :func:`parse_date` made of a value."""


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

_PLAUSIBLE_AGE = 150
"""Years back from today in which a year is plausible for a date of birth. Used only to
choose between two valid readings of eight digits (see :func:`_eight_digits`)."""

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
_COMPACT = re.compile(r"[0-9]{8}", re.ASCII)
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


def explicit_order(order: DateOrder) -> ExplicitDateOrder:
    """The order one value is read in: ``auto`` has nothing to detect from, so reads day-first."""
    return "DMY" if order == "auto" else order


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


def _year_first(year: int, month: int, day: int, today: dt.date) -> ParsedDate:
    """Year, month, day; an impossible month with a possible one as the day is read swapped.

    ``1971-25-06`` has no month 25, and 25 June 1971 is the only date it can be.
    """
    if month > 12 and 1 <= day <= 12:
        month, day = day, month
    return _from_parts(year, month, day, today)


def _numeric(
    first: str, second: str, year: str, order: ExplicitDateOrder, today: dt.date
) -> ParsedDate:
    """Read ``a/b/y`` (or ``yy/mm/dd`` under ``YMD``) using ``order`` for the ambiguous parts."""
    if order == "YMD" and len(year) == 2:
        return _year_first(_full_year(first, today), int(second), int(year), today)
    # YMD with a four-digit trailing year cannot be year-first, so read it day-first.
    day, month = (int(second), int(first)) if order == "MDY" else (int(first), int(second))
    if month > 12 and 1 <= day <= 12:
        # The order was clearly the other way round (e.g. 03/25/1987 under DMY).
        day, month = month, day
    return _from_parts(_full_year(year, today), month, day, today)


_RANK = {"valid": 0, "placeholder": 1, "partial": 1, "invalid": 2, "missing": 2}


def _eight_digits(digits: str, order: ExplicitDateOrder, today: dt.date) -> ParsedDate:
    """Read eight digits as ``YYYYMMDD`` or in ``order`` (``DDMMYYYY``, ``MMDDYYYY``).

    The reading that is a valid date wins (``19780127`` is year-first, ``10032019`` is not).
    Both are valid only when one of the two years is in 1000-1299 (``20101112``: 12 November
    2010 or 20 October 1112): ``YYYYMMDD`` is kept unless only the other reading's year is
    within the last 150 years. When neither is valid, a placeholder or partial reading is
    kept (``19000101``, ``19870300``), ``YYYYMMDD`` first.
    """
    year_first = _year_first(int(digits[:4]), int(digits[4:6]), int(digits[6:]), today)
    ordered = _numeric(digits[:2], digits[2:4], digits[4:], order, today)
    if year_first.status == ordered.status == "valid":
        plausible_from = today.year - _PLAUSIBLE_AGE
        if (year_first.year or 0) < plausible_from <= (ordered.year or 0):
            return ordered
        return year_first
    return min((year_first, ordered), key=lambda reading: _RANK[reading.status])


class _WrittenDates(dateutil_parser.parserinfo):
    """dateutil's English words, with "the" skipped, and two-digit years in the past."""

    def __init__(self, order: ExplicitDateOrder, today: dt.date) -> None:
        self.JUMP = [*self.JUMP, "the"]  # read by the base class's __init__
        super().__init__(dayfirst=order != "MDY")
        self._today = today

    def convertyear(self, year: int, century_specified: bool = False) -> int:
        if year < 100 and not century_specified:
            return _full_year(f"{year:02d}", self._today)
        return year


_WEEKDAYS = frozenset(
    [day + "day" for day in ("mon", "tues", "wednes", "thurs", "fri", "satur", "sun")]
    + ["mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun"]
)
_FILLERS = frozenset({"the", "of"})
_DEFAULT = dt.datetime(2000, 1, 1)
"""dateutil's date to take missing parts from; unused, as a reading must give them all."""
_WRITTEN_SPLIT = re.compile(r"[\s,./'-]+")
_WRITTEN_NUMBER = re.compile(r"([0-9]{1,4})(st|nd|rd|th)?", re.ASCII)


def _written(text: str, order: ExplicitDateOrder, today: dt.date) -> ParsedDate:
    """A date written out with a month's name in other words ("3rd of July 95"), by dateutil.

    dateutil reads widely (times, and parts filled from a default date), so only text of these
    words is given to it: one month's name, two numbers (a day, possibly with st/nd/rd/th, and
    a year of two or four digits), at most a weekday's name, "the" and "of". Its reading counts
    only when its day and year are those two numbers: nothing is made up.
    """
    numbers: list[re.Match[str]] = []
    months = weekdays = 0
    for token in _WRITTEN_SPLIT.split(text):
        if token in _MONTHS:
            months += 1
        elif token in _WEEKDAYS:
            weekdays += 1
        elif m := _WRITTEN_NUMBER.fullmatch(token):
            numbers.append(m)
        elif token and token not in _FILLERS:
            return _INVALID_DATE
    if months != 1 or weekdays > 1 or len(numbers) != 2:
        return _INVALID_DATE
    try:
        read = dateutil_parser.parse(
            text, parserinfo=_WrittenDates(order, today), default=_DEFAULT, ignoretz=True
        )
    except (ValueError, OverflowError):
        return _INVALID_DATE
    date = read.date()
    day_then_year = (
        len(day[1]) <= 2
        and int(day[1]) == date.day
        and not year[2]
        and len(year[1]) in {2, 4}
        and _full_year(year[1], today) == date.year
        for day, year in (numbers, numbers[::-1])
    )
    return _checked(date, today) if any(day_then_year) else _INVALID_DATE


def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


@lru_cache(maxsize=_CACHE_SIZE)
def _parse_text(text: str, order: ExplicitDateOrder, today: dt.date) -> ParsedDate:
    text = _normal(text)
    if not text:
        return _MISSING_DATE
    if m := _ISO.fullmatch(text):
        return _year_first(int(m[1]), int(m[2]), int(m[3]), today)
    if _COMPACT.fullmatch(text):
        return _eight_digits(text, order, today)
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
    return _written(text, order, today)


def parse_date(value: object, *, order: DateOrder = "DMY") -> ParsedDate:
    """Read a date of birth from text or a date object, saying how far it could be read.

    Accepted: ``1987-03-04``, ``1987/03/04``, ``19870304``, ``04031987``, ``04/03/1987``,
    ``4-3-1987``, ``4.3.1987``, ``04/03/87``, ``4 March 1987``, ``4 Mar 1987``, ``March 4
    1987``, ``March 4th, 1987``, ``4th of March 87``, ``the 4th of March 1987``, ISO date-times
    (``1987-03-04T00:00:00``, ``1987-03-04 00:00:00``), and ``datetime.date``,
    ``datetime.datetime`` and ``pandas.Timestamp`` objects.

    Numeric ``a/b/y`` dates are read by ``order``. When that reading is impossible but the
    other way round works (``03/25/1987`` under ``DMY``: no month 25) the day and month are
    swapped instead of calling the date invalid; so are year-first dates with an impossible
    month (``1971-25-06``, ``19712506``: 25 June 1971). Eight digits are ``YYYYMMDD`` or
    ``order``'s (``DDMMYYYY`` for ``DMY``, ``MMDDYYYY`` for ``MDY``), whichever is a valid
    date; when both are, ``YYYYMMDD`` unless only the other's year is within the last 150
    years. Year-first forms are year-month-day, as is ``87/03/04`` under ``YMD`` (which reads
    ``04/03/1987`` day-first). A two-digit year above this year's last two digits is 19xx,
    otherwise 20xx.

    Statuses: ``partial`` for a year (``1987``) or month and year (``03/1987``, or day ``00``),
    ``date`` unset; ``placeholder`` for sentinels such as ``1900-01-01`` and ``9999-12-31``;
    ``invalid`` for dates after today, before the year 1000, or unreadable.

    Args:
        value: the raw value; missing values and blank text give status ``missing``.
        order: how to read ambiguous numeric dates (UK day-first by default). ``auto`` reads
            one value day-first: an order is detected from a column, never from one value.
    """
    if is_missing(value):
        return _MISSING_DATE
    today = dt.date.today()
    if isinstance(value, dt.datetime):  # includes pandas.Timestamp
        return _checked(value.date(), today)
    if isinstance(value, dt.date):
        return _checked(value, today)
    text = to_text(value)
    return _MISSING_DATE if text is None else _parse_text(text, explicit_order(order), today)


def standardise_dob(value: object, *, order: DateOrder = "DMY") -> str | None:
    """Standardise a date of birth to ISO ``YYYY-MM-DD`` if :func:`parse_date` finds it valid.

    Returns ``None`` for every other status (missing, partial, placeholder, invalid).
    """
    parsed = parse_date(value, order=order)
    return None if parsed.date is None else parsed.date.isoformat()


@lru_cache(maxsize=_CACHE_SIZE)
def _hint_text(text: str, today: dt.date) -> Literal["DMY", "MDY"] | None:
    text = _normal(text)
    if m := _NUMERIC.fullmatch(text):
        first, second, year = m[1], m[2], m[3]
    elif _COMPACT.fullmatch(text) and (
        _year_first(int(text[:4]), int(text[4:6]), int(text[6:]), today).status == "invalid"
    ):
        first, second, year = text[:2], text[2:4], text[4:]
    else:
        return None
    a, b = int(first), int(second)
    if a > 12 and 1 <= b <= 12:
        order: Literal["DMY", "MDY"] = "DMY"
    elif b > 12 and 1 <= a <= 12:
        order = "MDY"
    else:
        return None
    return order if _numeric(first, second, year, order, today).status == "valid" else None


def date_order_hint(value: object) -> Literal["DMY", "MDY"] | None:
    """The order a numeric date shows by itself, or ``None`` when it shows none.

    ``DMY`` when only the first part can be the day (``25/12/1980``, ``25121980``), ``MDY``
    when only the second can (``12/25/1980``), in a valid date. ``None`` for ambiguous values
    (``03/04/1980``, ``10032019``), year-first ones (``19780127``), impossible ones and
    anything else.
    """
    if is_missing(value) or isinstance(value, dt.date):
        return None
    text = to_text(value)
    return None if text is None else _hint_text(text, dt.date.today())
