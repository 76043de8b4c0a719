"""Comparison levels and comparisons as values: what is compared, and the default m and u.

A :class:`ComparisonSpec` holds no SQL. :mod:`identmatch._model.level_sql` compiles it for
Splink in one SQL dialect, :mod:`identmatch._model.level_python` decides a pair's level in
Python; both read the same :class:`LevelSpec`, and a table-driven test holds them to the same
answer. Each level's ``label`` is the plain-words phrase users see in explanations.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

__all__ = [
    "IDENTIFIER_CLASH_FLOOR",
    "SWAPPED_RESPELLED",
    "SWAP_MIN_SIMILARITY",
    "ComparisonSpec",
    "LevelKind",
    "LevelSpec",
    "else_level",
    "null_level",
]


LevelKind = Literal[
    "null",
    "both_null",
    "exact",
    "jaro_winkler",
    "levenshtein",
    "array_intersect",
    "contains",
    "cross_equal",
    "reversed",
    "lists_overlap",
    "reversed_similar",
    "day_month_swapped",
    "twins_pattern",
    "parent_child_pattern",
    "year_transposed",
    "year_off_by_one",
    "year_only",
    "else",
]


class LevelSpec(BaseModel, frozen=True, extra="forbid"):
    """One level of a comparison: a condition on a column, and its default m and u.

    ``threshold`` is a similarity floor in [0, 1] for ``jaro_winkler``, a maximum number
    of edits for ``levenshtein`` and a minimum shared-item count for ``array_intersect``
    (checked for each kind); the evaluators read it as :attr:`similarity_floor`,
    :attr:`max_edits` and :attr:`min_shared`. The model file keeps the one field.
    Kinds comparing two columns (``contains``, ``cross_equal``, ``reversed``,
    ``lists_overlap``) read ``column`` on one side against ``other`` on the other side, in
    both directions, so every level is symmetric. ``reversed_similar`` always reads
    ``forename_std``, ``surname_std`` and ``forename_nicks`` (``column`` and ``other`` name the
    two name columns for the record), with ``threshold`` as the Jaro-Winkler floor.
    """

    kind: LevelKind
    column: str | None = None
    other: str | None = None
    threshold: float | None = None
    label: str
    m: float = Field(gt=0.0, lt=1.0)
    """Default probability of this level among true matches (used when m is not trained)."""
    u: float = Field(gt=0.0, lt=1.0)
    """Default probability of this level among non-matches (used when u is not estimated)."""
    tf: bool = False
    """Adjust the weight by how common the value is (term-frequency adjustment)."""
    fixed: bool = False
    """Keep m and u as given: training never changes them (used for the family guard)."""
    floor: float | None = None
    """The least weight (bits) training may give this level, set by a person: an identifier
    clash is strong evidence of two people, but wrong numbers are keyed every day."""
    unless_identifier: tuple[str, ...] = ()
    """Family guard patterns only: prepared identifier columns (the NHS number, declared
    identifiers) that, the same on both records or one character apart (a typo), mean one
    person, so the pattern does not fire. Relatives do not share an identifier."""
    unless_transposed: tuple[tuple[str, str], ...] = ()
    """Family guard patterns only: (identifier column, list column of its values with two
    adjacent characters swapped) pairs; the pattern does not fire when one record's value is
    among the other's swapped values (``2283032`` / ``2283023``)."""

    @model_validator(mode="after")
    def _threshold_fits_the_kind(self) -> LevelSpec:
        value = self.threshold
        if value is None:
            return self
        if self.kind in _FLOOR_KINDS and not 0.0 <= value <= 1.0:
            msg = f"{self.kind} level {self.label!r}: threshold is a similarity in [0, 1]"
            raise ValueError(msg)
        if self.kind in _COUNT_KINDS and (value != int(value) or value < _COUNT_KINDS[self.kind]):
            least = _COUNT_KINDS[self.kind]
            msg = f"{self.kind} level {self.label!r}: threshold is a whole number >= {least}"
            raise ValueError(msg)
        return self

    @property
    def similarity_floor(self) -> float:
        """``jaro_winkler`` and ``reversed_similar``: the least similarity that holds."""
        return float(self.threshold or 0.0)

    @property
    def max_edits(self) -> int:
        """``levenshtein``: the most character edits that hold."""
        return int(self.threshold or 0)

    @property
    def min_shared(self) -> int:
        """``array_intersect``: the fewest shared items that hold."""
        return int(self.threshold or 1)


_FLOOR_KINDS = frozenset({"jaro_winkler", "reversed_similar"})
_COUNT_KINDS = {"levenshtein": 0, "array_intersect": 1}
"""Kinds whose ``threshold`` is a count, and the least count allowed."""


class ComparisonSpec(BaseModel, frozen=True, extra="forbid"):
    """A named comparison: an ordered list of levels, most specific first.

    The first level is the null level (either side missing) and the last is ``else``.
    """

    name: str
    """Output name, e.g. ``forename``; used in explanations and the model file."""
    description: str
    levels: tuple[LevelSpec, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """Prepared columns this comparison reads, in first-use order."""
        read = (
            c
            for lv in self.levels
            for c in (lv.column, *lv.unless_identifier, *sum(lv.unless_transposed, ()))
            if c
        )
        return tuple(dict.fromkeys(read))


IDENTIFIER_CLASH_FLOOR = -10.0
"""The least weight (bits) of two valid, different identifiers: strong evidence of two
people, but bounded, because a wrong number keyed into one record is common."""

SWAP_MIN_SIMILARITY = 0.85
"""Jaro-Winkler floor for the respelled half of a swapped name (Swamy/Swamie is 0.89)."""


SWAPPED_RESPELLED = "{field}: swapped with the {other}, one of the two respelled or a nickname"


def null_level(column: str, field: str) -> LevelSpec:
    """The first level of a comparison: ``column`` missing on either side (weighs 0 bits)."""
    return LevelSpec(
        kind="null", column=column, label=f"{field}: missing on one side", m=0.5, u=0.5
    )


def else_level(field: str, m: float, u: float) -> LevelSpec:
    """The last level of a comparison: none of the others holds ("``field``: different")."""
    return LevelSpec(kind="else", label=f"{field}: different", m=m, u=u)
