"""Comparison levels decided in Python for one pair: search's scoring, the same as the SQL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapidfuzz.distance import Levenshtein

from identmatch._model.catalogue import (
    alias_comparison,
    close_date_levels,
    forename_comparison,
    related_forename_levels,
)
from identmatch._model.levels import ComparisonSpec, LevelSpec
from identmatch._model.similarity import jaro_winkler

__all__ = ["evaluate_level"]


def _missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value


def evaluate_level(spec: ComparisonSpec, left: Mapping[str, Any], right: Mapping[str, Any]) -> int:
    """The index (in ``spec.levels``) of the first level two prepared records fall into.

    This is the Python twin of the compiled SQL: the same records give the same level.
    """
    for index, level in enumerate(spec.levels):
        if _level_holds(level, left, right):
            return index
    return len(spec.levels) - 1


def _level_holds(level: LevelSpec, left: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
    if level.kind == "else":
        return True
    assert level.column is not None
    a, b = left.get(level.column), right.get(level.column)
    if level.kind == "null":
        return _missing(a) or _missing(b)
    if level.kind == "both_null":
        return _missing(a) and _missing(b)
    if level.kind in _TWO_COLUMN_KINDS:
        return _two_column_holds(level, left, right)
    if level.kind == "reversed_similar":
        return _reversed_similar_holds(left, right, level.similarity_floor)
    if level.kind in _DATE_KINDS:
        return _date_holds(level.kind, left, right)
    if level.kind in ("twins_pattern", "parent_child_pattern"):
        # The pattern first: it fails fast on most pairs (surname, dates), the exception not.
        pattern = _twins_holds if level.kind == "twins_pattern" else _parent_child_holds
        if not pattern(left, right):
            return False
        if any(_one_identifier(left.get(c), right.get(c)) for c in level.unless_identifier):
            return False
        return not any(
            _swapped(left, right, value, swaps) or _swapped(right, left, value, swaps)
            for value, swaps in level.unless_transposed
        )
    if _missing(a) or _missing(b):
        return False
    if level.kind == "exact":
        return bool(a == b)
    if level.kind == "jaro_winkler":
        return jaro_winkler(str(a), str(b)) >= level.similarity_floor
    if level.kind == "levenshtein":
        return Levenshtein.distance(str(a), str(b)) <= level.max_edits
    if level.kind == "array_intersect":
        return len(set(a or ()) & set(b or ())) >= level.min_shared
    return False


_FORENAME = forename_comparison()


_ALIAS_MATCH = alias_comparison().levels[1]


_RELATED_FORENAME = related_forename_levels()


_CLOSE_DATE = close_date_levels()


_TWO_COLUMN_KINDS = frozenset({"contains", "cross_equal", "reversed", "lists_overlap"})


_DATE_KINDS = frozenset({"day_month_swapped", "year_transposed", "year_off_by_one", "year_only"})


def _swapped(a: Mapping[str, Any], b: Mapping[str, Any], value: str, swaps: str) -> bool:
    """Whether ``b``'s value is among ``a``'s values with two adjacent characters swapped."""
    found = b.get(value)
    return not _missing(found) and found in (a.get(swaps) or ())


def _one_identifier(a: Any, b: Any) -> bool:
    """Two identifier values the same or one character apart (the SQL's ``levenshtein <= 1``)."""
    return not _missing(a) and not _missing(b) and Levenshtein.distance(str(a), str(b)) <= 1


def _equal(a: Any, b: Any) -> bool:
    """SQL equality: false when either side is missing."""
    return not _missing(a) and not _missing(b) and bool(a == b)


def _two_column_holds(level: LevelSpec, left: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
    assert level.column is not None
    assert level.other is not None
    a_l, a_r = left.get(level.column), right.get(level.column)
    b_l, b_r = left.get(level.other), right.get(level.other)
    if level.kind == "contains":
        return (not _missing(b_r) and b_r in (a_l or ())) or (
            not _missing(b_l) and b_l in (a_r or ())
        )
    if level.kind == "cross_equal":
        return _equal(a_l, b_r) or _equal(b_l, a_r)
    if level.kind == "reversed":
        return _equal(a_l, b_r) and _equal(b_l, a_r)
    # lists_overlap
    return bool(set(a_l or ()) & set(b_r or ())) or bool(set(a_r or ()) & set(b_l or ()))


def _reversed_similar_holds(
    left: Mapping[str, Any], right: Mapping[str, Any], floor: float
) -> bool:
    """The Python twin of :func:`_reversed_similar_sql`."""

    def close(surname_side: Mapping[str, Any], forename_side: Mapping[str, Any]) -> bool:
        surname, forename = surname_side.get("surname_std"), forename_side.get("forename_std")
        if _missing(surname) or _missing(forename):
            return False
        if jaro_winkler(str(surname), str(forename)) >= floor:
            return True
        return surname in (forename_side.get("forename_nicks") or ())

    return (_equal(left.get("forename_std"), right.get("surname_std")) and close(left, right)) or (
        _equal(left.get("surname_std"), right.get("forename_std")) and close(right, left)
    )


def _date_holds(kind: str, left: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
    year_l, year_r = left.get("dob_year"), right.get("dob_year")
    md_l, md_r = left.get("dob_md"), right.get("dob_md")
    if kind == "year_only":
        return _equal(year_l, year_r) and (
            _missing(md_l) or _missing(md_r) or md_l == "01-01" or md_r == "01-01"
        )
    if _missing(md_l) or _missing(md_r) or _missing(year_l) or _missing(year_r):
        return False
    md_l, md_r, year_l, year_r = str(md_l), str(md_r), str(year_l), str(year_r)
    if kind == "day_month_swapped":
        return year_l == year_r and md_l != md_r and md_l[:2] == md_r[3:5] and md_l[3:5] == md_r[:2]
    if kind == "year_transposed":
        return md_l == md_r and _equal(left.get("dob_year_swapped"), year_r)
    # year_off_by_one
    return md_l == md_r and abs(int(year_l) - int(year_r)) == 1


def _any_holds(
    levels: tuple[LevelSpec, ...], left: Mapping[str, Any], right: Mapping[str, Any]
) -> bool:
    return any(_level_holds(level, left, right) for level in levels)


def _twins_holds(left: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
    if not (
        _equal(left.get("surname_joined"), right.get("surname_joined"))
        and _any_holds(_CLOSE_DATE, left, right)
        and not _missing(left.get("forename_std"))
        and not _missing(right.get("forename_std"))
    ):
        return False
    forename = _FORENAME
    if evaluate_level(forename, left, right) != len(forename.levels) - 1:
        return False
    return not _level_holds(_ALIAS_MATCH, left, right)


def _parent_child_holds(left: Mapping[str, Any], right: Mapping[str, Any]) -> bool:
    # Cheapest tests first: this runs for every candidate a search scores.
    return (
        _equal(left.get("surname_joined"), right.get("surname_joined"))
        and not _missing(left.get("dob_year"))
        and not _missing(right.get("dob_year"))
        and abs(int(str(left["dob_year"])) - int(str(right["dob_year"]))) >= 14
        and not _equal(left.get("dob_md"), right.get("dob_md"))
        and not _date_holds("year_transposed", left, right)
        and _any_holds(_RELATED_FORENAME, left, right)
    )
