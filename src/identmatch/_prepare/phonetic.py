"""Phonetic encoders (Metaphone, Soundex, NYSIIS) behind the shared missing-value rule.

Each encoder takes a name from :func:`identmatch._prepare.standardise.standardise_name` and encodes
it
with its spaces removed (:func:`identmatch._prepare.standardise.joined_name`, which also folds raw
text), so ``"smith jones"`` and ``"smithjones"`` get the same code. Only letters are encoded;
missing input, and input with no letters (such as digits only), gives ``None``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import jellyfish

from identmatch._prepare.standardise import _CACHE_SIZE, joined_name
from identmatch._prepare.values import to_text

__all__ = ["nysiis_code", "phonetic_code", "soundex_code"]


def _encode(encoder: Callable[[str], str], text: str) -> str | None:
    """Encode the letters of a standardised name; digits are dropped (Soundex of "12" is "1000")."""
    letters = "".join(filter(str.isalpha, joined_name(text) or ""))
    return (encoder(letters) or None) if letters else None


@lru_cache(maxsize=_CACHE_SIZE)
def _metaphone(text: str) -> str | None:
    return _encode(jellyfish.metaphone, text)


@lru_cache(maxsize=_CACHE_SIZE)
def _soundex(text: str) -> str | None:
    return _encode(jellyfish.soundex, text)


@lru_cache(maxsize=_CACHE_SIZE)
def _nysiis(text: str) -> str | None:
    return _encode(jellyfish.nysiis, text)


def phonetic_code(std_name: object) -> str | None:
    """Metaphone code of a name with its spaces removed (``"phillips"`` -> ``"FLPS"``).

    This is the phonetic key used for blocking and comparison. ``None`` when missing or empty.
    """
    text = to_text(std_name)
    return None if text is None else _metaphone(text)


def soundex_code(std_name: object) -> str | None:
    """Soundex code (a letter and three digits) of a name with its spaces removed, or ``None``."""
    text = to_text(std_name)
    return None if text is None else _soundex(text)


def nysiis_code(std_name: object) -> str | None:
    """NYSIIS code of a name with its spaces removed, or ``None`` when missing or empty."""
    text = to_text(std_name)
    return None if text is None else _nysiis(text)
