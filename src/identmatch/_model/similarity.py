"""Scalar string similarities, all with one signature and one rule for missing values.

Every function is ``(a, b, /, *, score_cutoff=None) -> float`` with the result in [0, 1]:

* symmetric: ``f(a, b) == f(b, a)`` (checked with hypothesis for the rapidfuzz version in use);
* missing (``None``, NaN, ``pandas.NA``) or empty input on either side scores 0.0. Callers that
  must tell "missing" from "different" check for missing values first, as comparisons do with
  their own null level;
* identical non-empty inputs score 1.0;
* with ``score_cutoff``, a score below the cutoff is returned as 0.0.

Inputs are compared as given; standardise them first (:mod:`identmatch._prepare.standardise`).
"""

from __future__ import annotations

from collections.abc import Callable

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler, Levenshtein

from identmatch._prepare.values import is_missing

__all__ = ["jaro_winkler", "levenshtein_similarity", "token_set_similarity"]


def _similarity(
    scorer: Callable[[str, str], float],
    a: str | None,
    b: str | None,
    score_cutoff: float | None,
) -> float:
    """Apply the shared missing-value, identity and cutoff rules around ``scorer``."""
    if is_missing(a) or is_missing(b):
        return 0.0
    left, right = str(a), str(b)
    if not left or not right:
        return 0.0
    # Identical text is a perfect match for every scorer, including ones that tokenise
    # (token_set_ratio gives 0 for two whitespace-only strings, which have no tokens).
    score = 1.0 if left == right else scorer(left, right)
    if score_cutoff is not None and score < score_cutoff:
        return 0.0
    return score


def _jaro_winkler(a: str, b: str) -> float:
    return JaroWinkler.normalized_similarity(a, b)


def _levenshtein(a: str, b: str) -> float:
    return Levenshtein.normalized_similarity(a, b)


def _token_set(a: str, b: str) -> float:
    return fuzz.token_set_ratio(a, b) / 100.0


def jaro_winkler(a: str | None, b: str | None, /, *, score_cutoff: float | None = None) -> float:
    """Jaro-Winkler similarity in [0, 1] (prefix weight 0.1, common prefix up to 4 characters).

    Equal to DuckDB's ``jaro_winkler_similarity`` for non-empty inputs (tested), so the Python
    and SQL paths agree. rapidfuzz's implementation is symmetric, so no reordering is needed.
    """
    return _similarity(_jaro_winkler, a, b, score_cutoff)


def levenshtein_similarity(
    a: str | None, b: str | None, /, *, score_cutoff: float | None = None
) -> float:
    """Normalised Levenshtein similarity in [0, 1]: ``1 - edits / max(len(a), len(b))``."""
    return _similarity(_levenshtein, a, b, score_cutoff)


def token_set_similarity(
    a: str | None, b: str | None, /, *, score_cutoff: float | None = None
) -> float:
    """Token-set similarity in [0, 1] (rapidfuzz ``token_set_ratio`` / 100).

    Word order and repeated words do not matter, and one name whose words are all in the other
    scores 1.0 (``"mary jane"`` against ``"jane"``).
    """
    return _similarity(_token_set, a, b, score_cutoff)
