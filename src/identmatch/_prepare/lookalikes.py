"""Letters of other alphabets that look like Latin ones: folded for matching, and flagged.

``Веnеdісt`` written with Cyrillic ``В``, ``е``, ``і`` and ``с`` looks the same as ``Benedict`` on
a page, but shares few letters with it. Unicode's confusables data (Unicode Technical Standard
#39) lists which characters look alike; the ``confusable_homoglyphs`` package ships that data
(and each character's script) and is kept up to date with Unicode's releases, so it is used
here rather than a copy of the tables.

Only letters of scripts other than Latin that look like an ASCII letter (or letters) are
replaced, and only within a word where the replacement cannot lose a real name:

* a word that mixes Latin letters with letters of another script (``Веnеdісt``): nobody writes
  a name that way except by a slip of the keyboard or on purpose;
* a word of another script made only of letters that look Latin (Cyrillic ``ТОМ``): it reads
  as ``TOM`` to anyone looking at it.

A word written wholly in another script with letters of its own (``Иван``, ``Αλέξανδρος``) is
left as it is, so names in other alphabets still match each other. Latin letters are never
touched, so Latin-only text standardises exactly as it did before.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = ["fold_lookalikes", "mixes_alphabets"]

_ANY_SCRIPT = frozenset({"COMMON", "INHERITED", "Unknown"})
"""Script aliases of characters shared by every alphabet (digits, punctuation, marks)."""

_APOSTROPHES = frozenset("'’‘‛`´ʼʻ′")

_CJK = frozenset({"HAN", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO"})
"""Scripts written together in Chinese, Japanese and Korean names: one alphabet here."""


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    """Each non-Latin character that looks like ASCII letters -> those letters (lowercase)."""
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[str, str] = {}
    for char, entries in confusables_data.items():
        if len(char) != 1 or _script(char) in {"LATIN", *_ANY_SCRIPT}:
            continue
        for entry in entries:
            looks = entry["c"]
            if looks.isascii() and looks.isalpha():
                table[char] = looks.lower()
                break
    return table


@lru_cache(maxsize=1 << 12)
def _script(char: str) -> str:
    """The script alias of ``char`` (``LATIN``, ``CYRILLIC``, ``GREEK``, ``COMMON``, ...)."""
    from confusable_homoglyphs.categories import alias

    name = str(alias(char))
    return "CJK" if name in _CJK else name


def _words(text: str) -> list[tuple[bool, str]]:
    """``text`` cut into runs of word characters (letters, digits, marks, and apostrophes,
    which folding drops: ``O'Brien`` is one word) and the rest."""
    runs: list[tuple[bool, str]] = []
    start = 0
    previous: bool | None = None
    for at, char in enumerate(text):
        wordy = char.isalnum() or char in _APOSTROPHES or unicodedata.category(char).startswith("M")
        if wordy != previous and at:
            runs.append((bool(previous), text[start:at]))
            start = at
        previous = wordy
    if text:
        runs.append((bool(previous), text[start:]))
    return runs


def _letter_scripts(word: str) -> set[str]:
    return {s for ch in word if ch.isalpha() and (s := _script(ch)) not in _ANY_SCRIPT}


def _folded_word(word: str) -> str:
    scripts = _letter_scripts(word)
    if not scripts or scripts == {"LATIN"}:
        return word
    table = _table()
    if len(scripts) == 1:  # one other alphabet: replaced only if every letter looks Latin
        letters = [ch for ch in word if ch.isalpha()]
        if not all(ch in table for ch in letters):
            return word
    return "".join(table.get(ch, ch) for ch in word)


def fold_lookalikes(text: str) -> str:
    """``text`` with the lookalike letters of each mixed or wholly-lookalike word replaced by
    the ASCII letters they look like (lowercase); other characters are kept as they are.

    ``"Веnеdісt"`` (Cyrillic ``В``, ``е``, ``і``, ``с``) -> ``"benedict"``; ``"Иван"`` is kept.
    """
    if text.isascii():
        return text
    return "".join(_folded_word(run) if wordy else run for wordy, run in _words(text))


@lru_cache(maxsize=1 << 14)
def mixes_alphabets(text: str) -> bool:
    """Whether a word of ``text`` has letters of more than one alphabet (script).

    Chinese, Japanese and Korean scripts count as one; digits, punctuation and combining
    marks belong to every alphabet.
    """
    if text.isascii():
        return False
    return any(wordy and len(_letter_scripts(run)) > 1 for wordy, run in _words(text))
