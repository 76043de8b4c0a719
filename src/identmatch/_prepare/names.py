"""Name tables and name-token parsing: honorific titles and generational or post-nominal suffixes.

The tables hold *folded* tokens (lowercase ASCII, no punctuation), the form
:func:`identmatch._prepare.standardise.fold_text` produces, so ``"Dr."`` and ``"DR"`` both meet
``"dr"``.

Two kinds of title are told apart, because some titles are also real names:

* :data:`TITLES` are never names (``mr``, ``dr``, ``prof``, ...). They are stripped when leading,
  even when nothing is left: ``"Mr"`` standardises to no name at all.
* :data:`GUARDED_TITLES` are also surnames or given names (``Lord``, ``Lady``, ``Major``,
  ``Sister``, ...). They are stripped when leading only if a name token follows, so a
  surname field holding ``"Lord"`` keeps it while ``"Lady Jane"`` becomes ``"jane"``.

Every suffix is guarded the same way: a suffix is stripped when trailing only if a name token
precedes it. This keeps a forename field of ``"Junior"`` (a given name) and ``"Md"`` (a common
abbreviation of Muhammad) intact while ``"Ann Smith Jnr"`` loses its ``jnr``.

Deliberately absent: ``st`` (Saint, part of surnames such as St John), ``dean``, ``pastor`` and
``canon`` (common names), and ``ba`` (a given name as well as a degree).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["GUARDED_TITLES", "SUFFIXES", "TITLES", "strip_titles_and_suffixes"]

TITLES: frozenset[str] = frozenset(
    {
        # Social titles.
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "mstr",
        "master",
        "messrs",
        "mdm",
        "madam",
        "madame",
        "mme",
        "mlle",
        # Academic and professional.
        "dr",
        "doctor",
        "prof",
        "professor",
        # Religious (only forms that are not also common names; see GUARDED_TITLES).
        "rev",
        "revd",
        "reverend",
        "fr",
        "rabbi",
        "imam",
        # Honours and office.
        "sir",
        "rt",
        "hon",
        "cllr",
        "councillor",
        # Military abbreviations.
        "capt",
        "col",
        "lt",
        "sgt",
        "cpl",
        "pte",
    }
)
"""Titles stripped from the start of a name even when no other token remains."""

GUARDED_TITLES: frozenset[str] = frozenset(
    {
        "lord",
        "lady",
        "dame",
        "father",
        "sister",
        "brother",
        "major",
        "captain",
        "colonel",
    }
)
"""Titles that are also real names: stripped from the start only when a name token follows."""

SUFFIXES: frozenset[str] = frozenset(
    {
        # Generational.
        "jr",
        "jnr",
        "junior",
        "sr",
        "snr",
        "senior",
        "ii",
        "iii",
        "iv",
        # Post-nominal letters.
        "esq",
        "esquire",
        "phd",
        "md",
        "mbe",
        "obe",
        "cbe",
        "kbe",
        "dbe",
        "qc",
        "kc",
        "jp",
    }
)
"""Suffixes stripped from the end of a name, only when a name token precedes them."""


def strip_titles_and_suffixes(tokens: Sequence[str]) -> tuple[str, ...]:
    """Drop leading titles and trailing suffixes until none is left to drop.

    Args:
        tokens: folded name tokens, in order (see
        :func:`identmatch._prepare.standardise.fold_text`).

    Returns:
        The remaining tokens, in order; empty when the name was only titles (e.g. ``("mr",)``).
    """
    start, end = 0, len(tokens)
    changed = True
    while changed:
        changed = False
        # A leading title goes if it is never a name, or if a name token follows it.
        while start < end and (
            tokens[start] in TITLES or (tokens[start] in GUARDED_TITLES and end - start > 1)
        ):
            start += 1
            changed = True
        # A trailing suffix goes only if a name token precedes it.
        while end - start > 1 and tokens[end - 1] in SUFFIXES:
            end -= 1
            changed = True
    return tuple(tokens[start:end])
