"""Standardisers and validators of declared identifiers, one per kind.

Every function takes one raw value, never raises, and returns the identifier's standard form or
``None`` (missing or invalid). Outputs are fixed points: standardising a standard form gives it
back, so a value can be standardised when indexed and again when searched for.

Kinds and what makes a value valid (public formats):

- ``plain``: any text; upper-cased, with spaces and the separators ``- . / _`` removed.
- ``nhs_number``: ten digits with the mod-11 check digit (:func:`standardise_nhs_number`).
- ``ni_number``: a National Insurance number, two prefix letters and six digits, with an
  optional suffix A-D. The first letter is not D, F, I, Q, U or V; the second is not D, F, I,
  O, Q, U or V; the prefixes BG, GB, KN, NK, NT, TN and ZZ are not allocated. The number has
  no check character. The suffix is checked when given and dropped from the standard form,
  because records often leave it out (``AB123456C`` and ``AB 12 34 56`` are one number).
- ``pnc_id``: a Police National Computer ID, ``YYYY/NNNNNNNC`` or ``YY/NNNNNNNC`` (year,
  serial of up to seven digits, check letter). The check letter is
  ``"ZABCDEFGHJKLMNPQRTUVWXY"[int(YY + serial padded to 7) % 23]``. Standard form
  ``YY/NNNNNNNC``: the two-digit year is all the check reads, so both forms agree.
- ``cro_number``: a Criminal Records Office number, ``NNNNNN/YYC`` (serial of up to six
  digits, year, check letter from ``int(YY + serial padded to 6) % 23``), or the fingerprint
  form ``SFYY/NNNNNNC`` (check letter from ``int(YY + serial as written) % 23``), both with
  the PNC's letters. Standard forms ``NNNNNN/YYC`` (serial padded) and ``SFYY/NNNNNNC``.
- ``upn``: an English unique pupil number, a check letter then twelve characters (twelve
  digits, or eleven and a letter for a temporary number). The check letter is
  ``"ABCDEFGHJKLMNPQRTUVWXYZ"[sum(position * value for positions 2-13) % 23]``, a final
  letter counting as its index in that alphabet.
- ``phone``: a telephone number the ``phonenumbers`` library calls valid, read as a UK number
  unless it starts with ``+`` or ``00``; standard form E.164 (``+447911123456``).
- ``email``: ``local@domain`` with a dotted domain of letters, digits and hyphens; lower-cased.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Literal, get_args

from identmatch._prepare.standardise import standardise_nhs_number
from identmatch._prepare.values import to_text

__all__ = [
    "IDENTIFIER_KINDS",
    "IdentifierKind",
    "adjacent_swaps",
    "standardise_cro_number",
    "standardise_email",
    "standardise_identifier",
    "standardise_ni_number",
    "standardise_phone",
    "standardise_plain_identifier",
    "standardise_pnc_id",
    "standardise_upn",
]

IdentifierKind = Literal[
    "plain", "nhs_number", "ni_number", "pnc_id", "cro_number", "upn", "phone", "email"
]
"""The kinds of declared identifier; every kind but ``plain`` is validated."""

IDENTIFIER_KINDS: tuple[str, ...] = get_args(IdentifierKind)

_CACHE_SIZE = 1 << 16
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015./_]+")
_MOD23_PNC = "ZABCDEFGHJKLMNPQRTUVWXY"
_MOD23_UPN = "ABCDEFGHJKLMNPQRTUVWXYZ"


def _compact(value: object) -> str | None:
    """Text upper-cased (NFKC), without spaces or separators; ``None`` when nothing is left."""
    text = to_text(value)
    if text is None:
        return None
    out = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()
    # Upper-casing can leave a letter and a combining mark that NFKC composes (and a
    # composed capital can decompose): normalise again, so the result is a fixed point.
    out = unicodedata.normalize("NFKC", out)
    return out or None


def standardise_plain_identifier(value: object) -> str | None:
    """A plain identifier: upper-cased, spaces and ``- . / _`` removed; ``None`` when blank."""
    return _compact(value)


_NI = re.compile(r"([A-Z]{2})([0-9]{6})([A-D]?)", re.ASCII)
_NI_NOT_FIRST = frozenset("DFIQUV")
_NI_NOT_SECOND = frozenset("DFIOQUV")
_NI_NOT_PREFIX = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


@lru_cache(maxsize=_CACHE_SIZE)
def _ni_text(text: str) -> str | None:
    match = _NI.fullmatch(text)
    if match is None:
        return None
    prefix, digits, _suffix = match.groups()
    if prefix[0] in _NI_NOT_FIRST or prefix[1] in _NI_NOT_SECOND or prefix in _NI_NOT_PREFIX:
        return None
    return prefix + digits


def standardise_ni_number(value: object) -> str | None:
    """A National Insurance number as its eight characters (``AB123456``), or ``None``.

    A suffix letter A-D is allowed and dropped; see the module docstring for the rules.
    """
    text = _compact(value)
    return None if text is None else _ni_text(text)


_PNC_SLASHED = re.compile(r"([0-9]{2}|[0-9]{4})/([0-9]{1,7})([A-Z])", re.ASCII)
_PNC_BARE = re.compile(r"([0-9]{2}|[0-9]{4})([0-9]{7})([A-Z])", re.ASCII)


@lru_cache(maxsize=_CACHE_SIZE)
def _pnc_text(text: str) -> str | None:
    # Without the slash the serial must be written out to seven digits: otherwise the year
    # and the serial cannot be told apart (200812345A is 20/0812345 or 2008/12345).
    match = _PNC_SLASHED.fullmatch(text) or _PNC_BARE.fullmatch(text)
    if match is None:
        return None
    year, serial, check = match.groups()
    year = year[-2:]
    serial = serial.zfill(7)
    if _MOD23_PNC[int(year + serial) % 23] != check:
        return None
    return f"{year}/{serial}{check}"


def standardise_pnc_id(value: object) -> str | None:
    """A PNC ID as ``YY/NNNNNNNC``, or ``None`` when malformed or the check letter is wrong."""
    text = to_text(value)
    if text is None:
        return None
    # The slash is part of the format: keep it, drop spaces and other separators.
    compact = re.sub(r"[\s\-\u2010-\u2015._]+", "", unicodedata.normalize("NFKC", text)).upper()
    return _pnc_text(compact) if compact else None


_CRO = re.compile(r"([0-9]{1,6})/([0-9]{2})([A-Z])", re.ASCII)
_CRO_SF = re.compile(r"SF([0-9]{2})/([0-9]{1,6})([A-Z])", re.ASCII)


@lru_cache(maxsize=_CACHE_SIZE)
def _cro_text(text: str) -> str | None:
    match = _CRO_SF.fullmatch(text)
    if match is not None:
        year, serial, check = match.groups()
        ok = _MOD23_PNC[int(year + serial) % 23] == check
        return f"SF{year}/{serial}{check}" if ok else None
    match = _CRO.fullmatch(text)
    if match is None:
        return None
    serial, year, check = match.groups()
    serial = serial.zfill(6)
    ok = _MOD23_PNC[int(year + serial) % 23] == check
    return f"{serial}/{year}{check}" if ok else None


def standardise_cro_number(value: object) -> str | None:
    """A CRO number as ``NNNNNN/YYC`` or ``SFYY/NNNNNNC``, or ``None`` when not valid."""
    text = to_text(value)
    if text is None:
        return None
    compact = re.sub(r"[\s\-\u2010-\u2015._]+", "", unicodedata.normalize("NFKC", text)).upper()
    return _cro_text(compact) if compact else None


_UPN = re.compile(r"[A-Z][0-9]{11}[0-9A-Z]", re.ASCII)


def upn_check_letter(body: str) -> str | None:
    """The check letter for the twelve characters after it, or ``None`` if they are malformed."""
    if len(body) != 12 or not body[:11].isdigit():
        return None
    last = body[11]
    if last.isdigit():
        final = int(last)
    elif last in _MOD23_UPN:
        final = _MOD23_UPN.index(last)
    else:
        return None
    total = sum(int(ch) * weight for ch, weight in zip(body[:11], range(2, 13), strict=True))
    return _MOD23_UPN[(total + final * 13) % 23]


@lru_cache(maxsize=_CACHE_SIZE)
def _upn_text(text: str) -> str | None:
    if not _UPN.fullmatch(text):
        return None
    return text if upn_check_letter(text[1:]) == text[0] else None


def standardise_upn(value: object) -> str | None:
    """A unique pupil number (13 characters, upper case), or ``None`` when not valid."""
    text = _compact(value)
    return None if text is None else _upn_text(text)


@lru_cache(maxsize=_CACHE_SIZE)
def _phone_text(text: str) -> str | None:
    import phonenumbers

    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def standardise_phone(value: object) -> str | None:
    """A telephone number in E.164 (``+447911123456``), or ``None`` when not a valid number."""
    text = to_text(value)
    if text is None:
        return None
    compact = re.sub(r"[\s\-\u2010-\u2015.()/]+", "", unicodedata.normalize("NFKC", text))
    return _phone_text(compact) if compact else None


_EMAIL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@"
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    re.ASCII,
)


@lru_cache(maxsize=_CACHE_SIZE)
def _email_text(text: str) -> str | None:
    local = text.split("@", 1)[0]
    if not _EMAIL.fullmatch(text) or local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    return text


def standardise_email(value: object) -> str | None:
    """An email address, trimmed and lower-cased, or ``None`` when not a well-formed address."""
    text = to_text(value)
    if text is None:
        return None
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    return _email_text(folded) if folded else None


_STANDARDISERS: dict[str, Callable[[object], str | None]] = {
    "plain": standardise_plain_identifier,
    "nhs_number": standardise_nhs_number,
    "ni_number": standardise_ni_number,
    "pnc_id": standardise_pnc_id,
    "cro_number": standardise_cro_number,
    "upn": standardise_upn,
    "phone": standardise_phone,
    "email": standardise_email,
}


def standardise_identifier(value: object, kind: IdentifierKind) -> str | None:
    """Standardise ``value`` as an identifier of ``kind``; ``None`` when missing or invalid.

    Raises:
        ValueError: ``kind`` is not a known kind (the message lists them).
    """
    try:
        standardise = _STANDARDISERS[kind]
    except KeyError:
        allowed = ", ".join(IDENTIFIER_KINDS)
        msg = f"identifier kind {kind!r} is not known; allowed kinds are: {allowed}"
        raise ValueError(msg) from None
    return standardise(value)


def adjacent_swaps(value: str | None) -> list[str] | None:
    """Every text made by swapping two adjacent, different characters of ``value``, sorted.

    Two identifiers are "two adjacent characters transposed" exactly when one is in the
    other's list; computing the list once per record keeps that level plain SQL on any engine.
    """
    if not value or len(value) < 2:
        return None
    out = {
        value[:i] + value[i + 1] + value[i] + value[i + 2 :]
        for i in range(len(value) - 1)
        if value[i] != value[i + 1]
    }
    return sorted(out) or None
