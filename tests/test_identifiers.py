"""Identifier kinds: each validator accepts valid values, rejects invalid ones and wrong check
characters, and gives a standard form that is a fixed point."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import identmatch.standardisers as st_
from identmatch._prepare.identifiers import (
    _MOD23_PNC,
    IDENTIFIER_KINDS,
    adjacent_swaps,
    standardise_identifier,
    upn_check_letter,
)

# (kind, raw value, standard form or None when invalid)
CASES = [
    # NHS number: the existing mod-11 rule
    ("nhs_number", "943 476 5919", "9434765919"),
    ("nhs_number", "9434765918", None),  # check digit off by one
    ("nhs_number", "943476591", None),
    # National Insurance number: format rules, suffix A-D checked and dropped
    ("ni_number", "ab 12 34 56 c", "AB123456"),
    ("ni_number", "AB123456", "AB123456"),
    ("ni_number", "AB123456E", None),  # suffix one past D
    ("ni_number", "QQ123456C", None),  # Q is never a first letter
    ("ni_number", "AO123456C", None),  # O is never a second letter
    ("ni_number", "GB123456A", None),  # an unallocated prefix
    ("ni_number", "TN123456A", None),  # a temporary number: not unique to a person
    ("ni_number", "AB12345C", None),
    # PNC ID: YY + serial padded to 7, mod 23, letters ZABCDEFGHJKLMNPQRTUVWXY
    ("pnc_id", "2008/0012345P", "08/0012345P"),
    ("pnc_id", "08/12345p", "08/0012345P"),
    ("pnc_id", "20080012345P", "08/0012345P"),
    ("pnc_id", "1979/0123456T", "79/0123456T"),
    ("pnc_id", "2008/0012345Q", None),  # check letter off by one
    ("pnc_id", "2008/0012345N", None),  # and the other way
    ("pnc_id", "200812345P", None),  # no slash and a short serial: year and serial ambiguous
    ("pnc_id", "2008/12345678P", None),
    # CRO number: standard NNNNNN/YYC (serial padded to 6) and fingerprint SFYY/NNNNNNC
    ("cro_number", "12345/08V", "012345/08V"),
    ("cro_number", "012345/08v", "012345/08V"),
    ("cro_number", "012345/08W", None),  # check letter off by one
    ("cro_number", "SF05/482703J", "SF05/482703J"),
    ("cro_number", "sf05 / 482703j", "SF05/482703J"),
    ("cro_number", "SF05/482703K", None),  # check letter off by one
    ("cro_number", "1234567/08V", None),
    # Unique pupil number: check letter, weights 2..13 mod 23, letters without I, O, S
    ("upn", "B801200005001", "B801200005001"),
    ("upn", "b801 2000 05001", "B801200005001"),
    ("upn", "C801200005001", None),  # check letter off by one
    ("upn", "A801200005001", None),  # and the other way
    ("upn", "M80120000500A", "M80120000500A"),  # a temporary UPN ends in a letter
    ("upn", "N80120000500A", None),
    ("upn", "B80120000A001", None),  # the middle must be digits
    # Phone numbers (phonenumbers; UK unless international), as E.164
    ("phone", "07911 123456", "+447911123456"),
    ("phone", "+44 (0)7911-123456", "+447911123456"),
    ("phone", "0044 7911 123456", "+447911123456"),
    ("phone", "020 7946 0018", "+442079460018"),
    ("phone", "07911 12345", None),
    ("phone", "not a number", None),
    # Email
    ("email", " Jo.Bloggs@Example.COM ", "jo.bloggs@example.com"),
    ("email", "jo@example", None),
    ("email", "jo..bloggs@example.com", None),
    ("email", "jo bloggs@example.com", None),
    ("email", "@example.com", None),
    # Plain: case, spaces and separators
    ("plain", " ab-12/3.4_5 ", "AB12345"),
    ("plain", "   ", None),
]


@pytest.mark.parametrize(("kind", "raw", "expected"), CASES)
def test_kind_standardises_or_rejects(kind: str, raw: str, expected: str | None) -> None:
    """Each case gives its standard form, or None when the value is not valid."""
    assert standardise_identifier(raw, kind) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "raw", "expected"), [c for c in CASES if c[2] is not None])
def test_standard_form_is_a_fixed_point(kind: str, raw: str, expected: str) -> None:
    """Standardising a standard form gives it back (index once, search again)."""
    assert standardise_identifier(expected, kind) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", IDENTIFIER_KINDS)
@given(text=st.text(max_size=16) | st.from_regex(r"[0-9A-Za-z/ @.+-]{1,14}", fullmatch=True))
@example(text="A \u0301")  # the separator goes, leaving a letter and a mark NFKC composes
def test_standardisers_never_raise_and_are_idempotent(kind: str, text: str) -> None:
    """Any text gives None or a standard form, and the standard form is a fixed point."""
    once = standardise_identifier(text, kind)  # type: ignore[arg-type]
    if once is not None:
        assert standardise_identifier(once, kind) == once  # type: ignore[arg-type]


@given(year=st.integers(0, 99), serial=st.integers(0, 9_999_999))
def test_every_pnc_with_its_check_letter_is_valid_and_no_other_letter_is(
    year: int, serial: int
) -> None:
    """For any year and serial, exactly the computed check letter is accepted."""
    yy, nnnnnnn = f"{year:02d}", f"{serial:07d}"
    check = _MOD23_PNC[int(yy + nnnnnnn) % 23]
    assert st_.standardise_pnc_id(f"{yy}/{nnnnnnn}{check}") == f"{yy}/{nnnnnnn}{check}"
    for other in _MOD23_PNC.replace(check, ""):
        assert st_.standardise_pnc_id(f"{yy}/{nnnnnnn}{other}") is None


@given(body=st.from_regex(r"[0-9]{12}", fullmatch=True))
def test_every_upn_with_its_check_letter_is_valid(body: str) -> None:
    """The computed check letter makes a valid UPN; the next letter does not."""
    check = upn_check_letter(body)
    assert check is not None
    assert st_.standardise_upn(check + body) == check + body
    letters = "ABCDEFGHJKLMNPQRTUVWXYZ"
    off = letters[(letters.index(check) + 1) % 23]
    assert st_.standardise_upn(off + body) is None


def test_unknown_kind_names_the_allowed_kinds() -> None:
    """An unknown kind is an error that lists every kind."""
    with pytest.raises(ValueError, match="allowed kinds are: plain, nhs_number"):
        standardise_identifier("x", "passport")  # type: ignore[arg-type]


def test_numbers_from_a_numeric_column_lose_their_float_tail() -> None:
    """A numeric column with gaps is read as float: 12345.0 is the identifier 12345."""
    assert standardise_identifier(12345.0, "plain") == "12345"
    assert standardise_identifier(float("nan"), "plain") is None


def test_adjacent_swaps() -> None:
    """Each adjacent pair of different characters swapped once; repeats and one letter: none."""
    assert adjacent_swaps("1234") == ["1243", "1324", "2134"]
    assert adjacent_swaps("1123") == ["1132", "1213"]
    assert adjacent_swaps("7") is None
    assert adjacent_swaps("77") is None
    assert adjacent_swaps(None) is None


@given(text=st.text(alphabet="0123456789AB", min_size=2, max_size=10))
def test_swaps_are_symmetric(text: str) -> None:
    """If b is one swap of a, a is one swap of b."""
    for swapped in adjacent_swaps(text) or ():
        assert text in (adjacent_swaps(swapped) or ())
