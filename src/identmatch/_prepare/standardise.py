"""Pure, idempotent normalisers of single values: text, names, dates, postcodes, NHS numbers, sex.

Every function here takes one raw value, never raises, and maps missing input (``None``, float
NaN, ``pandas.NA``, ``pandas.NaT``, blank text) to a missing output. Feeding an output back in
gives the same output (idempotence), so values can be standardised more than once, for example
once when indexed and again when searched for.

The functions are mapped over the unique values of large columns, so the work for each distinct
text is cached (bounded LRU caches keyed on the text alone). Dates are read in
:mod:`identmatch._prepare.dates` and re-exported here with the others.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Literal, NamedTuple

from identmatch._prepare.dates import DateStatus, ParsedDate, parse_date, standardise_dob
from identmatch._prepare.lookalikes import fold_lookalikes
from identmatch._prepare.names import strip_titles_and_suffixes
from identmatch._prepare.values import to_text

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


def _fold_unicode(text: str) -> str:
    """Fold text that is not all ASCII: lookalike letters of other alphabets, then
    :func:`_fold_slow`, repeated until it settles.

    Folding can turn a letter into one that looks Latin only in its new form (Cyrillic ``Г``
    lowercases to ``г``, which looks like ``r``), so the two steps go round again until
    neither changes anything; each round replaces letters of other alphabets or ends it. Text
    without letters of other alphabets settles after one round, as :func:`_fold_slow` alone.
    """
    folded = _fold_slow(fold_lookalikes(text))
    while (again := _fold_slow(fold_lookalikes(folded))) != folded:
        folded = again
    return folded


@lru_cache(maxsize=_CACHE_SIZE)
def _fold_text(text: str) -> str | None:
    if text.isascii():
        # Fast path, equal to _fold_slow on ASCII (tested): no decomposition is needed.
        folded = _ASCII_JUNK.sub(" ", text.lower().translate(_ASCII_APOSTROPHES)).strip()
    else:
        folded = _fold_unicode(text)
    return folded or None


def fold_text(value: object) -> str | None:
    """Fold text to lowercase ASCII-like words for comparison.

    Applies Unicode NFKD, drops combining marks, spells out letters NFKD keeps whole
    (``ł`` -> ``l``, ``æ`` -> ``ae``, ``ß`` -> ``ss``, ``þ`` -> ``th``, ...), casefolds, removes
    apostrophes without a gap (``O'Brien`` -> ``obrien``), turns every other
    non-alphanumeric character into a space and collapses spaces. Letters of other scripts
    that look like Latin ones, in a word that mixes them with Latin letters or is made only
    of them, become the Latin letters (``Веnеdісt`` in Cyrillic ``В``, ``е``, ``і``, ``с`` ->
    ``benedict``; see :mod:`identmatch._prepare.lookalikes`); other letters of other scripts
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
    for _ in range(4):  # an uppercase letter can look Latin where its lowercase did not
        if code.isascii() or (again := (_fold_text(code) or "").replace(" ", "").upper()) == code:
            break
        code = again
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
