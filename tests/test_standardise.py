"""Tests for identmatch._prepare.standardise: per-value normalisers of text, names, dates and
codes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from identmatch._prepare.lookalikes import mixes_alphabets
from identmatch._prepare.standardise import (
    ParsedDate,
    Postcode,
    _fold_slow,
    fold_text,
    is_valid_nhs_number,
    joined_name,
    name_tokens,
    parse_date,
    standardise_dob,
    standardise_name,
    standardise_nhs_number,
    standardise_postcode,
    standardise_sex,
)
from identmatch._prepare.values import is_missing

from _support import disguised

TODAY = dt.date.today()
LATIN_AND_LOOKALIKES = "aeoBTHrgnsГгИиВвЕеАаОоСсТтΑαΒβΡρΟοΝν-' 'ʼ.1"
"""Latin letters, Cyrillic and Greek letters that look like them (in one case or both), and
some of their own, with separators: the mixes lookalike folding has to settle on."""
MARCH_4_1987 = ParsedDate(dt.date(1987, 3, 4), 1987, 3, 4, "valid")
INVALID = ParsedDate(None, None, None, None, "invalid")
PLACEHOLDER = ParsedDate(None, None, None, None, "placeholder")
MISSING = ParsedDate(None, None, None, None, "missing")

STANDARDISERS: list[Callable[[object], object]] = [
    fold_text,
    standardise_name,
    name_tokens,
    joined_name,
    parse_date,
    standardise_dob,
    standardise_postcode,
    standardise_nhs_number,
    is_valid_nhs_number,
    standardise_sex,
]


def _with_check_digit(nine: str) -> str | None:
    """Append the NHS mod-11 check digit to nine digits, or None when no digit fits."""
    check = 11 - sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True)) % 11
    return None if check == 10 else nine + str(check % 11)


class TestIsMissing:
    @pytest.mark.parametrize(
        "value",
        [None, float("nan"), np.nan, np.float32("nan"), pd.NA, pd.NaT, np.datetime64("NaT")],
        ids=["none", "nan", "np-nan", "np-float32-nan", "pd-na", "pd-nat", "np-nat"],
    )
    def test_missing_values(self, value: object) -> None:
        """None, NaN of any float type, pandas NA and NaT all count as missing."""
        assert is_missing(value)

    @pytest.mark.parametrize(
        "value",
        ["", " ", "nan", 0, 0.0, False],
        ids=["empty", "blank", "nan-text", "0", "0.0", "f"],
    )
    def test_present_values(self, value: object) -> None:
        """Empty text, zero and the word 'nan' are values, not missing markers."""
        assert not is_missing(value)


class TestFoldText:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("O'Brien", "obrien"),
            ("O’Brien", "obrien"),
            ("O`Brien", "obrien"),
            ("O´Brien", "obrien"),
            ("Mary-Jane", "mary jane"),
            ("  SMITH   JONES ", "smith jones"),
            ("Wójcik", "wojcik"),
            ("Łukasz", "lukasz"),
            ("Søren", "soren"),
            ("Æsa", "aesa"),
            ("Straße", "strasse"),
            ("Đurić", "duric"),
            ("Işık", "isik"),
            ("Œdipa", "oedipa"),
            ("Þóra", "thora"),
            ("Guðrún", "gudrun"),
            ("Ｓｍｉｔｈ", "smith"),
            ("ann\tlee\n", "ann lee"),
            ("a.b,c/d", "a b c d"),
            ("Flat 3b", "flat 3b"),
            ("Иван", "иван"),
            ("", None),
            ("  -- ", None),
            (None, None),
            (float("nan"), None),
            (pd.NA, None),
        ],
        ids=[
            "apostrophe",
            "curly-apostrophe",
            "backtick",
            "acute-accent-as-apostrophe",
            "hyphen",
            "case-and-spaces",
            "acute",
            "l-stroke",
            "o-slash",
            "ae-ligature",
            "sharp-s",
            "d-stroke",
            "dotless-i",
            "oe-ligature",
            "thorn",
            "eth",
            "fullwidth",
            "control-whitespace",
            "punctuation",
            "digits-kept",
            "other-script-kept",
            "empty",
            "only-punctuation",
            "none",
            "nan",
            "pd-na",
        ],
    )
    def test_cases(self, value: object, expected: str | None) -> None:
        """Text is folded to lowercase alphanumeric words separated by single spaces."""
        assert fold_text(value) == expected

    @given(st.text())
    def test_idempotent(self, text: str) -> None:
        """Folding folded text changes nothing."""
        once = fold_text(text)
        assert fold_text(once) == once

    @given(st.text())
    def test_output_shape(self, text: str) -> None:
        """Output is None or alphanumeric words joined by single spaces, all lowercase."""
        out = fold_text(text)
        assert out is None or (out.split() == out.split(" ") and out.replace(" ", "").isalnum())
        assert out is None or out == out.casefold()

    @given(st.text(alphabet=st.characters(max_codepoint=127)))
    def test_ascii_fast_path_matches_reference(self, text: str) -> None:
        """The ASCII fast path agrees with the character-by-character reference folding."""
        assert fold_text(text) == (_fold_slow(text) or None)

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (disguised("Benedict"), "benedict"),
            ("Dr " + disguised("Benedict") + " Cumberbatch", "dr benedict cumberbatch"),
            (disguised("TOM"), "tom"),  # wholly Cyrillic, but every letter looks Latin
            ("Гenedict", "renedict"),  # Г has no Latin twin; lowercased it looks like r
            ("Иван", "иван"),  # a Cyrillic name with letters of its own: kept
            ("Αλέξανδρος", "αλεξανδροσ"),
            ("Сергей Ivanov", "сергеи ivanov"),  # words are told apart
            ("Wójcik", "wojcik"),
        ],
        ids=[
            "mixed",
            "mixed-among-latin",
            "whole-word-lookalike",
            "lookalike-once-lowercased",
            "cyrillic-kept",
            "greek-kept",
            "word-by-word",
            "latin-untouched",
        ],
    )
    def test_lookalike_letters(self, value: str, expected: str) -> None:
        """Letters of other alphabets that look Latin, in a word mixing alphabets or made only
        of them, fold to the Latin letters; names written in another alphabet are kept."""
        assert fold_text(value) == expected

    @given(st.text(alphabet=LATIN_AND_LOOKALIKES))
    def test_idempotent_across_alphabets(self, text: str) -> None:
        """Folding settles in one call however Latin, Cyrillic and Greek letters are mixed."""
        once = fold_text(text)
        assert fold_text(once) == once
        assert standardise_name(standardise_name(text)) == standardise_name(text)

    @given(st.text(alphabet=st.characters(codec="latin-1") | st.sampled_from("łŁøđıœæßþ-' ")))
    def test_latin_text_folds_as_before(self, text: str) -> None:
        """Text of Latin letters (accented or not), digits and punctuation folds exactly as the
        character-by-character reference did before lookalikes were folded."""
        assert fold_text(text) == (" ".join(_fold_slow(text).split()) or None)

    @pytest.mark.parametrize(
        ("value", "mixed"),
        [
            (disguised("Benedict"), True),
            ("О'Brien", True),  # a Cyrillic O in O'Brien: one word
            ("Иван Smith", False),
            ("Wójcik", False),
            ("やまだ山田", False),  # Japanese scripts count as one
            ("Smith", False),
        ],
    )
    def test_mixes_alphabets(self, value: str, mixed: bool) -> None:
        assert mixes_alphabets(value) is mixed


class TestStandardiseName:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("Dr. Mary-Jane O'Neil", "mary jane oneil"),
            ("  SMITH-JONES ", "smith jones"),
            ("Wójcik", "wojcik"),
            ("Mr", None),
            ("Mrs. Dr. Ann Lee", "ann lee"),
            ("Ann Lee Jnr.", "ann lee"),
            ("Prof Ann Lee PhD", "ann lee"),
            ("Ann Lee III", "ann lee"),
            ("Lady Ann", "ann"),
            ("Lord", "lord"),
            ("Junior", "junior"),
            ("Md Ali", "md ali"),
            ("", None),
            (None, None),
            (float("nan"), None),
        ],
        ids=[
            "title-hyphen-apostrophe",
            "double-barrelled",
            "accent",
            "title-only",
            "repeated-titles",
            "suffix-with-dot",
            "title-and-postnominal",
            "roman-numeral",
            "guarded-title",
            "guarded-title-alone",
            "suffix-as-name",
            "md-as-name",
            "empty",
            "none",
            "nan",
        ],
    )
    def test_cases(self, value: object, expected: str | None) -> None:
        """Names are folded, split on hyphens, and lose leading titles and trailing suffixes."""
        assert standardise_name(value) == expected

    @given(st.text())
    def test_idempotent(self, text: str) -> None:
        """Standardising a standardised name changes nothing."""
        once = standardise_name(text)
        assert standardise_name(once) == once


class TestNameParts:
    @pytest.mark.parametrize(
        ("value", "tokens", "joined"),
        [
            ("smith jones", ("smith", "jones"), "smithjones"),
            ("Smith-Jones", ("smith", "jones"), "smithjones"),
            ("Smithjones", ("smithjones",), "smithjones"),
            ("Mr", ("mr",), "mr"),
            (None, (), None),
            ("--", (), None),
        ],
        ids=["standardised", "raw-hyphenated", "already-joined", "titles-kept", "missing", "empty"],
    )
    def test_tokens_and_joined(
        self, value: object, tokens: tuple[str, ...], joined: str | None
    ) -> None:
        """name_tokens splits a name and joined_name glues it, so both spellings agree."""
        assert name_tokens(value) == tokens
        assert joined_name(value) == joined

    @given(st.text())
    def test_joined_is_idempotent(self, text: str) -> None:
        """Joining an already joined name changes nothing."""
        once = joined_name(text)
        assert joined_name(once) == once


class TestParseDate:
    @pytest.mark.parametrize(
        "value",
        [
            "1987-03-04",
            "1987/03/04",
            "1987.3.4",
            "19870304",
            "04/03/1987",
            "4-3-1987",
            "4.3.1987",
            "04/03/87",
            "4 March 1987",
            "4 Mar 1987",
            "4th march, 1987",
            "04-MAR-87",
            "March 4 1987",
            "Mar. 4, 1987",
            "1987-03-04T00:00:00",
            "1987-03-04 00:00:00",
            "1987-03-04T10:20:30.5+01:00",
            "04/03/1987 00:00",
            " 04/03/1987 ",
            dt.date(1987, 3, 4),
            dt.datetime(1987, 3, 4, 23, 59),
            pd.Timestamp("1987-03-04"),
            19870304,
            19870304.0,
        ],
        ids=[
            "iso",
            "iso-slashes",
            "iso-dots-unpadded",
            "compact",
            "dmy-slashes",
            "dmy-dashes",
            "dmy-dots",
            "two-digit-year",
            "day-month-name",
            "day-month-abbrev",
            "ordinal-comma",
            "oracle-style",
            "month-name-day",
            "month-abbrev-dot-comma",
            "iso-datetime-t",
            "iso-datetime-space",
            "iso-datetime-fraction-offset",
            "dmy-with-time",
            "padded",
            "date",
            "datetime",
            "timestamp",
            "int-compact",
            "float-compact",
        ],
    )
    def test_formats_read_as_4_march_1987(self, value: object) -> None:
        """Every supported format of 4 March 1987 reads as that date under the default DMY."""
        assert parse_date(value) == MARCH_4_1987

    @pytest.mark.parametrize(
        ("value", "order", "expected"),
        [
            ("03/04/1987", "MDY", dt.date(1987, 3, 4)),
            ("04/03/1987", "DMY", dt.date(1987, 3, 4)),
            ("87/03/04", "YMD", dt.date(1987, 3, 4)),
            ("04/03/1987", "YMD", dt.date(1987, 3, 4)),
            ("1987-03-04", "MDY", dt.date(1987, 3, 4)),
            ("25/03/1987", "DMY", dt.date(1987, 3, 25)),
            ("03/25/1987", "DMY", dt.date(1987, 3, 25)),
            ("25/03/1987", "MDY", dt.date(1987, 3, 25)),
        ],
        ids=[
            "mdy",
            "dmy",
            "ymd-two-digit",
            "ymd-falls-back-to-day-first",
            "iso-ignores-order",
            "dmy-day-over-12",
            "dmy-clearly-mdy-is-swapped",
            "mdy-clearly-dmy-is-swapped",
        ],
    )
    def test_order(self, value: str, order: str, expected: dt.date) -> None:
        """Ambiguous numeric dates follow ``order``; impossible readings are swapped round."""
        assert parse_date(value, order=order).date == expected  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("1987", ParsedDate(None, 1987, None, None, "partial")),
            ("03/1987", ParsedDate(None, 1987, 3, None, "partial")),
            ("1987-03", ParsedDate(None, 1987, 3, None, "partial")),
            ("March 1987", ParsedDate(None, 1987, 3, None, "partial")),
            ("00/03/1987", ParsedDate(None, 1987, 3, None, "partial")),
            ("1987-00-00", ParsedDate(None, 1987, None, None, "partial")),
            (1987, ParsedDate(None, 1987, None, None, "partial")),
            ("13/1987", INVALID),
            ("0850", INVALID),
        ],
        ids=[
            "year",
            "month-year",
            "year-month",
            "month-name-year",
            "day-zero",
            "month-and-day-zero",
            "int-year",
            "month-13",
            "year-too-early",
        ],
    )
    def test_partial(self, value: object, expected: ParsedDate) -> None:
        """A year, or a month and year, is partial with the known parts set and no date."""
        assert parse_date(value) == expected

    @pytest.mark.parametrize(
        "value",
        [
            "1900-01-01",
            "01/01/1900",
            "1800-01-01",
            "0001-01-01",
            "9999-12-31",
            "1901-01-01",
            "2099-12-31",
            "1899-12-30",
            dt.date(1900, 1, 1),
        ],
        ids=[
            "1900",
            "1900-dmy",
            "1800",
            "year-one",
            "9999",
            "1901",
            "2099",
            "excel-epoch",
            "date-object",
        ],
    )
    def test_placeholders(self, value: object) -> None:
        """Sentinel dates are placeholders, with no date or parts."""
        assert parse_date(value) == PLACEHOLDER

    @pytest.mark.parametrize(
        "value",
        [
            "garbage",
            "31/02/1987",
            "29/02/1987",
            "13/13/1987",
            "0999-12-31",
            (TODAY + dt.timedelta(days=1)).isoformat(),
            TODAY + dt.timedelta(days=1),
            "2300-01-01",
            "4 Marchember 1987",
            "1987-03-04-05",
            "0000-00-00",
        ],
        ids=[
            "text",
            "no-31-feb",
            "not-leap-year",
            "month-13",
            "before-1000",
            "tomorrow",
            "tomorrow-date-object",
            "far-future",
            "bad-month-name",
            "too-many-parts",
            "zeros",
        ],
    )
    def test_invalid(self, value: object) -> None:
        """Unreadable, impossible, future and too-early dates are invalid."""
        assert parse_date(value) == INVALID

    @pytest.mark.parametrize(
        "value",
        [None, float("nan"), pd.NA, pd.NaT, "", "   "],
        ids=["none", "nan", "na", "nat", "empty", "blank"],
    )
    def test_missing(self, value: object) -> None:
        """Missing values and blank text have status missing."""
        assert parse_date(value) == MISSING

    def test_two_digit_year_pivot(self) -> None:
        """Two-digit years up to this year's are 20xx; later ones are 19xx."""
        this = TODAY.year % 100
        assert parse_date(f"01/01/{this:02d}").year == 2000 + this
        if this < 99:
            assert parse_date(f"01/01/{this + 1:02d}").year == 1901 + this

    def test_leap_day(self) -> None:
        """29 February is valid in a leap year."""
        assert parse_date("29/02/1988").date == dt.date(1988, 2, 29)

    @given(st.dates(min_value=dt.date(1880, 1, 1), max_value=TODAY))
    def test_iso_form_round_trips(self, date: dt.date) -> None:
        """The ISO string of a parsed date parses to the same result as the date itself."""
        parsed = parse_date(date)
        assert parse_date(date.isoformat()) == parsed
        assert parsed.status in {"valid", "placeholder"}

    @given(st.text())
    def test_never_raises_and_is_consistent(self, text: str) -> None:
        """Any text parses without error, and a date is set exactly when status is valid."""
        parsed = parse_date(text)
        assert (parsed.date is not None) == (parsed.status == "valid")


class TestStandardiseDob:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("04/03/1987", "1987-03-04"),
            ("March 4 1987", "1987-03-04"),
            ("1987", None),
            ("1900-01-01", None),
            ("garbage", None),
            (None, None),
        ],
        ids=["valid", "month-name", "partial", "placeholder", "invalid", "missing"],
    )
    def test_cases(self, value: object, expected: str | None) -> None:
        """Only valid dates standardise, to ISO YYYY-MM-DD."""
        assert standardise_dob(value) == expected

    def test_order_is_passed_on(self) -> None:
        """The date order reaches the parser."""
        assert standardise_dob("03/04/1987", order="MDY") == "1987-03-04"

    @given(
        st.dates(min_value=dt.date(1880, 1, 1), max_value=TODAY),
        st.sampled_from(["%d/%m/%Y", "%Y-%m-%d", "%d %B %Y", "%Y%m%d", "%d.%m.%Y", "%B %d %Y"]),
    )
    def test_idempotent_on_formatted_dates(self, date: dt.date, fmt: str) -> None:
        """Standardising a standardised date of birth changes nothing."""
        once = standardise_dob(date.strftime(fmt))
        assert once in {None, date.isoformat()}
        assert standardise_dob(once) == once

    @given(st.text())
    def test_idempotent_on_any_text(self, text: str) -> None:
        """Standardising the output again gives the output, whatever the input."""
        once = standardise_dob(text)
        assert standardise_dob(once) == once


class TestStandardisePostcode:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("sw1a1aa", Postcode("SW1A 1AA", "SW1A", "SW1A 1", "valid")),
            (" SW1A 1AA ", Postcode("SW1A 1AA", "SW1A", "SW1A 1", "valid")),
            ("m1 1ae", Postcode("M1 1AE", "M1", "M1 1", "valid")),
            ("B33-8TH", Postcode("B33 8TH", "B33", "B33 8", "valid")),
            ("CR2 6XH", Postcode("CR2 6XH", "CR2", "CR2 6", "valid")),
            ("DN55 1PT", Postcode("DN55 1PT", "DN55", "DN55 1", "valid")),
            ("W1A 0AX", Postcode("W1A 0AX", "W1A", "W1A 0", "valid")),
            ("EC1A 1BB", Postcode("EC1A 1BB", "EC1A", "EC1A 1", "valid")),
            ("gir 0aa", Postcode("GIR 0AA", "GIR", "GIR 0", "valid")),
            ("LS6 OAB", Postcode("LS6 0AB", "LS6", "LS6 0", "valid")),
            ("LS6 IAB", Postcode("LS6 1AB", "LS6", "LS6 1", "valid")),
            ("2119", Postcode("2119", None, None, "other")),
            ("SW1A", Postcode("SW1A", None, None, "other")),
            ("12345-6789", Postcode("123456789", None, None, "other")),
            ("", Postcode(None, None, None, "missing")),
            ("--", Postcode(None, None, None, "missing")),
            (None, Postcode(None, None, None, "missing")),
        ],
        ids=[
            "compact-lower",
            "padded",
            "a9",
            "a99-dash",
            "aa9",
            "aa99",
            "a9a",
            "aa9a",
            "girobank",
            "letter-o-for-zero",
            "letter-i-for-one",
            "australian",
            "outward-only",
            "us-zip",
            "empty",
            "punctuation",
            "none",
        ],
    )
    def test_cases(self, value: object, expected: Postcode) -> None:
        """UK postcodes are split and spaced; other codes keep their uppercase alphanumerics."""
        assert standardise_postcode(value) == expected

    @given(
        st.one_of(st.text(), st.from_regex(r"[A-Za-z]{1,2}[0-9][0-9A-Za-z]? ?[0-9OI][A-Za-z]{2}"))
    )
    def test_idempotent(self, text: str) -> None:
        """Standardising a standardised postcode gives the same result."""
        once = standardise_postcode(text)
        assert standardise_postcode(once.postcode) == once


class TestNhsNumber:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("9434765919", "9434765919"),
            ("943 476 5919", "9434765919"),
            ("943-476-5919", "9434765919"),
            (9434765919, "9434765919"),
            (9434765919.0, "9434765919"),
            ("401 023 2137", "4010232137"),
            ("9434765918", None),
            ("943476591", None),
            ("94347659190", None),
            ("943476591O", None),
            ("943.476.5919", None),
            ("0000000000", None),
            ("4444444444", None),
            ("", None),
            (None, None),
        ],
        ids=[
            "plain",
            "spaced",
            "dashed",
            "int",
            "whole-float",
            "second-example",
            "wrong-check-digit",
            "nine-digits",
            "eleven-digits",
            "letter",
            "dots",
            "all-zeros",
            "repeated-digit",
            "empty",
            "none",
        ],
    )
    def test_cases(self, value: object, expected: str | None) -> None:
        """Ten digits with a correct mod-11 check digit are kept; anything else is None."""
        assert standardise_nhs_number(value) == expected
        assert is_valid_nhs_number(value) == (expected is not None)

    def test_check_digit_ten_is_invalid(self) -> None:
        """Nine digits whose check works out at 10 have no valid NHS number."""
        nine = next(
            f"{n:09d}" for n in range(10**8, 10**9) if _with_check_digit(f"{n:09d}") is None
        )
        assert all(standardise_nhs_number(f"{nine}{d}") is None for d in range(10))

    @given(st.from_regex(r"[0-9]{9}", fullmatch=True))
    def test_generated_numbers_are_valid(self, nine: str) -> None:
        """A number built with the mod-11 rule validates, in plain or spaced form."""
        number = _with_check_digit(nine)
        if number is None or len(set(number)) == 1:
            assert standardise_nhs_number(number) is None
        else:
            assert standardise_nhs_number(f"{number[:3]} {number[3:6]} {number[6:]}") == number

    @given(st.from_regex(r"[0-9]{9}", fullmatch=True), st.integers(0, 9), st.integers(1, 9))
    def test_single_digit_errors_are_caught(self, nine: str, position: int, shift: int) -> None:
        """Changing any one digit of a valid number makes it invalid."""
        number = _with_check_digit(nine)
        if number is None:
            return
        digit = (int(number[position]) + shift) % 10
        typo = number[:position] + str(digit) + number[position + 1 :]
        assert standardise_nhs_number(typo) is None

    @given(st.text())
    def test_idempotent(self, text: str) -> None:
        """Standardising a standardised NHS number changes nothing."""
        once = standardise_nhs_number(text)
        assert standardise_nhs_number(once) == once


class TestStandardiseSex:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("m", "M"),
            ("Male", "M"),
            ("MAN", "M"),
            ("boy", "M"),
            ("Mr.", "M"),
            ("F", "F"),
            ("female", "F"),
            ("Woman", "F"),
            ("girl", "F"),
            ("Mrs", "F"),
            ("u", None),
            ("unknown", None),
            ("x", None),
            ("Not Known", None),
            ("1", None),
            ("", None),
            (None, None),
        ],
        ids=[
            "m",
            "male",
            "man",
            "boy",
            "mr",
            "f",
            "female",
            "woman",
            "girl",
            "mrs",
            "u",
            "unknown",
            "x",
            "not-known",
            "numeric-code",
            "empty",
            "none",
        ],
    )
    def test_cases(self, value: object, expected: str | None) -> None:
        """Words for male and female map to M and F; everything else is None."""
        assert standardise_sex(value) == expected

    @given(st.one_of(st.text(), st.sampled_from(["male", "F", "girl", "mr", "unknown"])))
    def test_idempotent(self, text: str) -> None:
        """Standardising a standardised sex changes nothing."""
        once = standardise_sex(text)
        assert standardise_sex(once) == once


class TestNeverRaises:
    @pytest.mark.parametrize("func", STANDARDISERS, ids=lambda f: f.__name__)
    @given(value=st.one_of(st.text(), st.none(), st.floats(), st.integers(), st.binary()))
    def test_arbitrary_input(self, func: Callable[[object], object], value: object) -> None:
        """No standardiser raises, whatever it is given."""
        func(value)
