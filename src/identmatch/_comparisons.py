"""The comparison catalogue: frozen descriptions of how two records are compared, field by field.

A :class:`ComparisonSpec` is a value. It holds no SQL. :func:`compile_comparison` turns it
into a Splink comparison for one SQL dialect, and :func:`evaluate_level` decides the level
of a pair in Python. Both read the same :class:`LevelSpec`, and a table-driven test holds
them to the same answer.

Each level's ``label`` is the plain-words phrase users see in explanations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field
from rapidfuzz.distance import Levenshtein

from identmatch._similarity import jaro_winkler

__all__ = [
    "ComparisonSpec",
    "LevelSpec",
    "address_comparison",
    "compile_comparison",
    "date_of_birth_comparison",
    "default_comparisons",
    "evaluate_level",
    "exact_comparison",
    "forename_comparison",
    "nhs_number_comparison",
    "postcode_comparison",
    "sex_comparison",
    "surname_comparison",
]

LevelKind = Literal["null", "exact", "jaro_winkler", "levenshtein", "array_intersect", "else"]


class LevelSpec(BaseModel, frozen=True, extra="forbid"):
    """One level of a comparison: a condition on a column, and its default m and u.

    ``threshold`` is a similarity floor in [0, 1] for ``jaro_winkler``, a maximum number
    of edits for ``levenshtein`` and a minimum shared-item count for ``array_intersect``.
    """

    kind: LevelKind
    column: str | None = None
    threshold: float | None = None
    label: str
    m: float = Field(gt=0.0, lt=1.0)
    """Default probability of this level among true matches (used when m is not trained)."""
    u: float = Field(gt=0.0, lt=1.0)
    """Default probability of this level among non-matches (used when u is not estimated)."""
    tf: bool = False
    """Adjust the weight by how common the value is (term-frequency adjustment)."""


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
        return tuple(dict.fromkeys(lv.column for lv in self.levels if lv.column))


def _null(column: str, field: str) -> LevelSpec:
    return LevelSpec(
        kind="null", column=column, label=f"{field}: missing on one side", m=0.5, u=0.5
    )


def _else(field: str, m: float, u: float) -> LevelSpec:
    return LevelSpec(kind="else", label=f"{field}: different", m=m, u=u)


def forename_comparison() -> ComparisonSpec:
    """Forename: exact, sounds the same, very similar, similar, different."""
    return ComparisonSpec(
        name="forename",
        description="Forename, standardised, with term-frequency adjustment on exact matches",
        levels=(
            _null("forename_std", "forename"),
            LevelSpec(
                kind="exact",
                column="forename_std",
                label="forename: the same",
                m=0.80,
                u=0.01,
                tf=True,
            ),
            LevelSpec(
                kind="exact",
                column="forename_ph",
                label="forename: sounds the same",
                m=0.05,
                u=0.004,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column="forename_std",
                threshold=0.92,
                label="forename: spelled very similarly",
                m=0.06,
                u=0.005,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column="forename_std",
                threshold=0.80,
                label="forename: spelled similarly",
                m=0.04,
                u=0.03,
            ),
            _else("forename", m=0.05, u=0.951),
        ),
    )


def surname_comparison() -> ComparisonSpec:
    """Surname: exact (hyphens and spaces ignored), shares a part, sounds the same, similar."""
    return ComparisonSpec(
        name="surname",
        description="Surname, standardised; double-barrelled names also compared by part",
        levels=(
            _null("surname_std", "surname"),
            LevelSpec(
                kind="exact",
                column="surname_joined",
                label="surname: the same",
                m=0.80,
                u=0.005,
                tf=True,
            ),
            LevelSpec(
                kind="array_intersect",
                column="surname_parts",
                threshold=1,
                label="surname: shares one part of a double-barrelled surname",
                m=0.03,
                u=0.0005,
            ),
            LevelSpec(
                kind="exact",
                column="surname_ph",
                label="surname: sounds the same",
                m=0.05,
                u=0.002,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column="surname_joined",
                threshold=0.92,
                label="surname: spelled very similarly",
                m=0.05,
                u=0.003,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column="surname_joined",
                threshold=0.80,
                label="surname: spelled similarly",
                m=0.03,
                u=0.03,
            ),
            _else("surname", m=0.04, u=0.9595),
        ),
    )


def date_of_birth_comparison() -> ComparisonSpec:
    """Date of birth: exact, one or two characters different, same year, different."""
    return ComparisonSpec(
        name="dob",
        description="Date of birth as an ISO date; a year alone when only the year is known",
        levels=(
            _null("dob_year", "date of birth"),
            LevelSpec(
                kind="exact", column="dob", label="date of birth: the same", m=0.85, u=0.0003
            ),
            LevelSpec(
                kind="levenshtein",
                column="dob",
                threshold=1,
                label="date of birth: one digit different",
                m=0.06,
                u=0.003,
            ),
            LevelSpec(
                kind="levenshtein",
                column="dob",
                threshold=2,
                label="date of birth: two digits different",
                m=0.03,
                u=0.02,
            ),
            LevelSpec(
                kind="exact",
                column="dob_year",
                label="date of birth: same year",
                m=0.02,
                u=0.015,
            ),
            _else("date of birth", m=0.04, u=0.9617),
        ),
    )


def postcode_comparison() -> ComparisonSpec:
    """Postcode: exact, same sector, same district (outward code), different."""
    return ComparisonSpec(
        name="postcode",
        description="UK postcode; other postcodes compared whole",
        levels=(
            _null("postcode_std", "postcode"),
            LevelSpec(
                kind="exact",
                column="postcode_std",
                label="postcode: the same",
                m=0.70,
                u=0.001,
                tf=True,
            ),
            LevelSpec(
                kind="exact",
                column="postcode_sector",
                label="postcode: same sector",
                m=0.05,
                u=0.003,
            ),
            LevelSpec(
                kind="exact",
                column="postcode_outward",
                label="postcode: same district",
                m=0.05,
                u=0.01,
            ),
            _else("postcode", m=0.20, u=0.986),
        ),
    )


def sex_comparison() -> ComparisonSpec:
    """Sex: the same or different."""
    return ComparisonSpec(
        name="sex",
        description="Recorded sex, M or F",
        levels=(
            _null("sex_std", "sex"),
            LevelSpec(kind="exact", column="sex_std", label="sex: the same", m=0.97, u=0.5),
            _else("sex", m=0.03, u=0.5),
        ),
    )


def nhs_number_comparison() -> ComparisonSpec:
    """NHS number (valid check digit only): the same or different."""
    return ComparisonSpec(
        name="nhs_number",
        description="NHS number; numbers failing the mod-11 check digit are missing",
        levels=(
            _null("nhs_std", "NHS number"),
            LevelSpec(kind="exact", column="nhs_std", label="NHS number: the same", m=0.95, u=1e-6),
            _else("NHS number", m=0.05, u=0.999999),
        ),
    )


def address_comparison(column: str = "address_std", field: str = "address") -> ComparisonSpec:
    """Free-text address or town: exact, very similar, similar, different."""
    return ComparisonSpec(
        name=field,
        description=f"{field.capitalize()}, standardised free text",
        levels=(
            _null(column, field),
            LevelSpec(kind="exact", column=column, label=f"{field}: the same", m=0.70, u=0.001),
            LevelSpec(
                kind="jaro_winkler",
                column=column,
                threshold=0.90,
                label=f"{field}: very similar",
                m=0.15,
                u=0.005,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column=column,
                threshold=0.75,
                label=f"{field}: somewhat similar",
                m=0.05,
                u=0.05,
            ),
            _else(field, m=0.10, u=0.944),
        ),
    )


def exact_comparison(column: str, field: str) -> ComparisonSpec:
    """Any column compared for equality only."""
    return ComparisonSpec(
        name=field,
        description=f"{field}, exact match only",
        levels=(
            _null(column, field),
            LevelSpec(kind="exact", column=column, label=f"{field}: the same", m=0.9, u=0.01),
            _else(field, m=0.1, u=0.99),
        ),
    )


def default_comparisons(available: Sequence[str]) -> tuple[ComparisonSpec, ...]:
    """The default comparisons for the prepared columns that hold any values.

    Args:
        available: prepared column names with at least one non-missing value.
    """
    present = set(available)
    candidates = (
        forename_comparison(),
        surname_comparison(),
        date_of_birth_comparison(),
        postcode_comparison(),
        sex_comparison(),
        nhs_number_comparison(),
        address_comparison("address_std", "address"),
        address_comparison("town_std", "town"),
    )
    return tuple(spec for spec in candidates if spec.levels[0].column in present)


def compile_comparison(spec: ComparisonSpec, dialect: str = "duckdb") -> Any:
    """Compile ``spec`` into a Splink comparison; pure: ``spec`` is not changed.

    The dialect is resolved by Splink when the comparison is bound to a database; its
    level creators emit the right function names for DuckDB and Spark.
    """
    del dialect  # Splink's creators are dialect-neutral until bound; kept for the signature.
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    levels = [_compile_level(level, cll) for level in spec.levels]
    return cl.CustomComparison(
        comparison_levels=levels,
        output_column_name=spec.name,
        comparison_description=spec.description,
    )


def _compile_level(level: LevelSpec, cll: Any) -> Any:
    column = level.column
    if level.kind == "null":
        creator = cll.NullLevel(column)
    elif level.kind == "exact":
        creator = cll.ExactMatchLevel(column, term_frequency_adjustments=level.tf)
    elif level.kind == "jaro_winkler":
        creator = cll.JaroWinklerLevel(column, level.threshold)
    elif level.kind == "levenshtein":
        creator = cll.LevenshteinLevel(column, int(level.threshold or 0))
    elif level.kind == "array_intersect":
        creator = cll.ArrayIntersectLevel(column, int(level.threshold or 1))
    else:
        creator = cll.ElseLevel()
    if level.kind == "null":
        return creator.configure(label_for_charts=level.label)
    return creator.configure(
        label_for_charts=level.label, m_probability=level.m, u_probability=level.u
    )


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
    if _missing(a) or _missing(b):
        return False
    if level.kind == "exact":
        return bool(a == b)
    if level.kind == "jaro_winkler":
        return jaro_winkler(str(a), str(b)) >= (level.threshold or 0.0)
    if level.kind == "levenshtein":
        return Levenshtein.distance(str(a), str(b)) <= (level.threshold or 0)
    if level.kind == "array_intersect":
        return len(set(a or ()) & set(b or ())) >= (level.threshold or 1)
    return False
