"""Tests for identmatch._prepare.dates: dates of birth as people write them, one value at a time.

The forms here come from independent data sets where each was read as missing: eight digits
in two orders in one file, a year-first date with day and month swapped, and dates written
out in words.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identmatch._prepare.dates import date_order_hint, parse_date, standardise_dob

TODAY = dt.date.today()
ORDERS = ("DMY", "MDY", "YMD", "auto")


class TestAsWritten:
    @pytest.mark.parametrize(
        ("value", "order", "expected"),
        [
            ("19780127", "DMY", dt.date(1978, 1, 27)),
            ("10032019", "DMY", dt.date(2019, 3, 10)),
            ("10032019", "MDY", dt.date(2019, 10, 3)),
            ("10032019", "auto", dt.date(2019, 3, 10)),
            ("19712506", "DMY", dt.date(1971, 6, 25)),
            ("19712506", "MDY", dt.date(1971, 6, 25)),
            ("1971-25-06", "DMY", dt.date(1971, 6, 25)),
            ("1971/25/06", "MDY", dt.date(1971, 6, 25)),
            ("71/25/06", "YMD", dt.date(1971, 6, 25)),
            ("25121980", "DMY", dt.date(1980, 12, 25)),
            ("12251980", "DMY", dt.date(1980, 12, 25)),
            ("12251980", "MDY", dt.date(1980, 12, 25)),
            ("20101112", "DMY", dt.date(2010, 11, 12)),
            ("3rd of July 95", "DMY", dt.date(1995, 7, 3)),
            ("3rd of July 95", "MDY", dt.date(1995, 7, 3)),
            ("July 3rd, 1995", "DMY", dt.date(1995, 7, 3)),
            ("3 Jul 1995", "DMY", dt.date(1995, 7, 3)),
            ("the 3rd of July 1995", "DMY", dt.date(1995, 7, 3)),
            ("The 3rd of July, 1995", "auto", dt.date(1995, 7, 3)),
            ("Monday, 3 July 1995", "DMY", dt.date(1995, 7, 3)),
            ("July 3rd '95", "DMY", dt.date(1995, 7, 3)),
            ("21st Sept 1961", "DMY", dt.date(1961, 9, 21)),
        ],
        ids=[
            "yyyymmdd",
            "ddmmyyyy-dmy",
            "mmddyyyy-mdy",
            "ddmmyyyy-auto-one-value-is-day-first",
            "yyyyddmm-swapped",
            "yyyyddmm-swapped-mdy",
            "iso-impossible-month-swapped",
            "year-first-slashes-swapped",
            "ymd-two-digit-swapped",
            "ddmmyyyy-day-over-12",
            "mmddyyyy-under-dmy-swapped",
            "mmddyyyy-month-first",
            "both-readings-valid-year-first-wins",
            "ordinal-of-month-two-digit-year",
            "ordinal-of-month-under-mdy",
            "month-ordinal-comma-year",
            "day-month-abbreviation",
            "the-ordinal-of-month",
            "capitalised-with-comma-auto",
            "weekday-first",
            "apostrophe-year",
            "sept-abbreviation",
        ],
    )
    def test_read_right(self, value: str, order: str, expected: dt.date) -> None:
        """Each written form reads as the date its writer meant."""
        parsed = parse_date(value, order=order)  # type: ignore[arg-type]
        assert parsed.date == expected
        assert parsed.status == "valid"

    @pytest.mark.parametrize(
        "value",
        [
            "N/A",
            "unknown",
            "1.5",
            "not known",
            "hello world",
            "May",
            "July 3rd",
            "3rd of July",
            "July 1995 July",
            "0 12 jan",
            "12 jan 0",
            "3.5 july 1995",
            "3 july 1995 4",
            "3 july august 1995",
            "3rd of Julyy 1995",
            "3 july 95 10:30",
            "3rd of July 2095",
            "13/25/1980",
            "99999999",
            "19711313",
            "the the",
            "born 3 July 1995",
            "3 july 1995 monday tuesday",
        ],
        ids=[
            "n-a",
            "unknown",
            "decimal",
            "words",
            "random-words",
            "month-alone",
            "no-year",
            "no-year-ordinal",
            "month-twice",
            "day-zero-year-one-digit",
            "one-digit-year",
            "decimal-day",
            "three-numbers",
            "two-months",
            "misspelt-month",
            "time-of-day",
            "future",
            "impossible-both-ways",
            "eight-nines",
            "month-13-both-ways",
            "fillers-only",
            "unknown-word",
            "two-weekdays",
        ],
    )
    def test_junk_stays_unread(self, value: str) -> None:
        """Text that is not a whole date of birth is invalid, never a date made up."""
        for order in ORDERS:
            assert parse_date(value, order=order).status == "invalid", order  # type: ignore[arg-type]

    def test_eight_digit_placeholder_and_partial(self) -> None:
        """Eight digits keep a placeholder or partial reading when no reading is a date."""
        assert parse_date("19000101").status == "placeholder"
        assert parse_date("01011900").status == "placeholder"
        partial = parse_date("19870300")
        assert (partial.status, partial.year, partial.month) == ("partial", 1987, 3)

    def test_written_two_digit_year_is_in_the_past(self) -> None:
        """A written two-digit year above this year's last two is 19xx; up to it, 20xx."""
        this = TODAY.year % 100
        assert parse_date(f"1st of January {this:02d}").year == 2000 + this
        if this < 99:
            assert parse_date(f"1st of January {this + 1:02d}").year == 1901 + this


class TestDateOrderHint:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("25/12/1980", "DMY"),
            ("25-12-80", "DMY"),
            ("25121980", "DMY"),
            ("12/25/1980", "MDY"),
            ("12251980", "MDY"),
            ("03/04/1980", None),
            ("10032019", None),
            ("19780127", None),
            ("19712506", None),
            ("1980-12-25", None),
            ("31/02/1980", None),
            ("25/13/1980", None),
            ("3rd of July 95", None),
            (None, None),
            (dt.date(1980, 12, 25), None),
        ],
    )
    def test_cases(self, value: object, expected: str | None) -> None:
        """Only a valid numeric date whose day can be told from its month shows an order."""
        assert date_order_hint(value) == expected


FORMATS = (
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%Y-%m-%d",
    "%Y-%d-%m",
    "%Y%m%d",
    "%Y%d%m",
    "%d%m%Y",
    "%m%d%Y",
    "%d %B %Y",
    "%d %b %y",
    "%B %d, %Y",
    "the %d of %B %Y",
    "%A %d %B %Y",
    "%d/%m/%y",
)
written_dates = st.builds(
    lambda date, fmt: date.strftime(fmt),
    st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(2300, 12, 31)),
    st.sampled_from(FORMATS),
)
any_dates = written_dates | st.text(max_size=30)


class TestProperties:
    @given(any_dates, st.sampled_from(ORDERS))
    def test_idempotent(self, value: str, order: str) -> None:
        """standardise_dob of its own output returns that output, in every order."""
        once = standardise_dob(value, order=order)  # type: ignore[arg-type]
        assert standardise_dob(once, order=order) == once  # type: ignore[arg-type]

    @given(any_dates, st.sampled_from(ORDERS))
    def test_never_in_the_future(self, value: str, order: str) -> None:
        """No reading is after today, whatever was written."""
        once = standardise_dob(value, order=order)  # type: ignore[arg-type]
        assert once is None or dt.date.fromisoformat(once) <= TODAY

    @given(
        st.dates(min_value=dt.date(1000, 1, 1), max_value=TODAY),
        st.sampled_from(["%d %B %Y", "%B %d, %Y", "the %d of %B %Y", "%A %d %B %Y", "%Y%m%d"]),
        st.sampled_from(ORDERS),
    )
    def test_unambiguous_forms_round_trip(self, date: dt.date, fmt: str, order: str) -> None:
        """A date written with its month's name, or as YYYYMMDD, reads back as itself."""
        parsed = parse_date(date.strftime(fmt), order=order)  # type: ignore[arg-type]
        assert parsed.date in {date, None}
        assert parsed.date == date or parsed.status == "placeholder"
