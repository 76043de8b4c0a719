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
from identmatch._sql import Dialect, jaro_winkler_sql
from identmatch._sql import dialect as sql_dialect

__all__ = [
    "ComparisonSpec",
    "LevelSpec",
    "address_comparison",
    "alias_comparison",
    "compile_comparison",
    "date_of_birth_comparison",
    "default_comparisons",
    "evaluate_level",
    "exact_comparison",
    "family_comparison",
    "forename_comparison",
    "middle_name_comparison",
    "nhs_number_comparison",
    "postcode_comparison",
    "sex_comparison",
    "surname_comparison",
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
    of edits for ``levenshtein`` and a minimum shared-item count for ``array_intersect``.
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
    unless_identifier: tuple[str, ...] = ()
    """Family guard patterns only: prepared identifier columns (the NHS number, declared
    identifiers) that, the same on both records or one character apart (a typo), mean one
    person, so the pattern does not fire. Relatives do not share an identifier."""
    unless_transposed: tuple[tuple[str, str], ...] = ()
    """Family guard patterns only: (identifier column, list column of its values with two
    adjacent characters swapped) pairs; the pattern does not fire when one record's value is
    among the other's swapped values (``2283032`` / ``2283023``)."""


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


def forename_comparison() -> ComparisonSpec:
    """Forename: exact, swapped with surname, nickname, sounds alike, similar, middle, initial."""
    return ComparisonSpec(
        name="forename",
        description="Forename, standardised, with term-frequency adjustment on exact matches",
        levels=(
            null_level("forename_std", "forename"),
            LevelSpec(
                kind="exact",
                column="forename_std",
                label="forename: the same",
                m=0.80,
                u=0.01,
                tf=True,
            ),
            LevelSpec(
                kind="reversed",
                column="forename_std",
                other="surname_std",
                label="forename: swapped with the surname",
                m=0.01,
                u=1e-5,
            ),
            LevelSpec(
                kind="reversed_similar",
                column="forename_std",
                other="surname_std",
                threshold=SWAP_MIN_SIMILARITY,
                label=SWAPPED_RESPELLED.format(field="forename", other="surname"),
                m=0.004,
                u=1e-5,
            ),
            LevelSpec(
                kind="contains",
                column="forename_nicks",
                other="forename_first",
                label="forename: a nickname, short form or listed variant of the other",
                m=0.06,
                u=0.002,
            ),
            LevelSpec(
                kind="exact",
                column="forename_ph",
                label="forename: sounds the same (spelling or transliteration variant)",
                m=0.04,
                u=0.004,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column="forename_std",
                threshold=0.92,
                label="forename: spelled very similarly",
                m=0.03,
                u=0.005,
            ),
            LevelSpec(
                kind="exact",
                column="forename_first",
                label="forename: same first name, other given names differ",
                m=0.01,
                u=0.002,
            ),
            LevelSpec(
                kind="cross_equal",
                column="forename_first",
                other="middle_first",
                label="forename: matches the other's middle name",
                m=0.01,
                u=0.001,
            ),
            LevelSpec(
                kind="cross_equal",
                column="forename_initial_only",
                other="forename_initial",
                label="forename: given as an initial, and it matches",
                m=0.01,
                u=0.05,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column="forename_std",
                threshold=0.80,
                label="forename: spelled similarly",
                m=0.02,
                u=0.03,
            ),
            else_level("forename", m=0.01, u=0.897),
        ),
    )


def surname_comparison() -> ComparisonSpec:
    """Surname: exact, swapped, shares a part, sounds alike, similar, former or alias surname.

    A swap is one event that both name comparisons see; the forename comparison weighs it
    and the surname's swap levels are fixed at 0 bits, so it is not counted twice.
    """
    return ComparisonSpec(
        name="surname",
        description="Surname, standardised; double-barrelled names also compared by part",
        levels=(
            null_level("surname_std", "surname"),
            LevelSpec(
                kind="exact",
                column="surname_joined",
                label="surname: the same",
                m=0.80,
                u=0.005,
                tf=True,
            ),
            LevelSpec(
                kind="reversed",
                column="surname_std",
                other="forename_std",
                label="surname: swapped with the forename (weighed once, under forename)",
                m=1e-5,
                u=1e-5,
                fixed=True,
            ),
            LevelSpec(
                kind="reversed_similar",
                column="surname_std",
                other="forename_std",
                threshold=SWAP_MIN_SIMILARITY,
                label=(
                    SWAPPED_RESPELLED.format(field="surname", other="forename")
                    + " (weighed once, under forename)"
                ),
                m=1e-5,
                u=1e-5,
                fixed=True,
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
                label="surname: sounds the same (spelling or transliteration variant)",
                m=0.05,
                u=0.002,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column="surname_joined",
                threshold=0.92,
                label="surname: spelled very similarly",
                m=0.04,
                u=0.003,
            ),
            LevelSpec(
                kind="contains",
                column="surname_aliases",
                other="surname_joined",
                label="surname: a former or alias surname of the other",
                m=0.01,
                u=0.0001,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column="surname_joined",
                threshold=0.80,
                label="surname: spelled similarly",
                m=0.02,
                u=0.03,
            ),
            else_level("surname", m=0.04, u=0.9594),
        ),
    )


def middle_name_comparison(
    identifiers: Sequence[str] = ("nhs_std",), transposed: Sequence[tuple[str, str]] = ()
) -> ComparisonSpec:
    """Middle names: the same, same first middle name, spelled very similarly, different.

    A middle name is strong evidence when the surname has changed (a married name) and tells
    apart a father and son, or brothers, who share a forename and surname. When the family
    guard sees possible twins (same surname and date of birth, unrelated forenames) the middle
    names are not weighed: twins may share one, and it must not outweigh the guard.
    """
    return ComparisonSpec(
        name="middle_name",
        description="Middle names, standardised, with term-frequency adjustment on exact matches",
        levels=(
            null_level("middle_std", "middle name"),
            LevelSpec(
                kind="twins_pattern",
                column="middle_std",
                label="middle name: not weighed (possible twins, see the family guard)",
                m=1e-5,
                u=1e-5,
                fixed=True,
                unless_identifier=tuple(identifiers),
                unless_transposed=tuple(transposed),
            ),
            LevelSpec(
                kind="exact",
                column="middle_std",
                label="middle name: the same",
                m=0.70,
                u=0.01,
                tf=True,
            ),
            LevelSpec(
                kind="exact",
                column="middle_first",
                label="middle name: same first middle name, others differ",
                m=0.10,
                u=0.004,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column="middle_std",
                threshold=0.92,
                label="middle name: spelled very similarly",
                m=0.05,
                u=0.004,
            ),
            else_level("middle name", m=0.15, u=0.982),
        ),
    )


def date_of_birth_comparison() -> ComparisonSpec:
    """Date of birth: exact, and each kind of slip as its own level with its own weight."""
    return ComparisonSpec(
        name="dob",
        description=(
            "Date of birth as an ISO date; a year alone when only the year is known. "
            "Placeholder dates (1900-01-01 and the like) are missing."
        ),
        levels=(
            null_level("dob_year", "date of birth"),
            LevelSpec(
                kind="exact", column="dob", label="date of birth: the same", m=0.82, u=0.0003
            ),
            LevelSpec(
                kind="day_month_swapped",
                column="dob",
                label="date of birth: day and month swapped",
                m=0.02,
                u=0.00003,
            ),
            LevelSpec(
                kind="levenshtein",
                column="dob",
                threshold=1,
                label="date of birth: one digit different",
                m=0.03,
                u=0.003,
            ),
            LevelSpec(
                kind="year_transposed",
                column="dob",
                label="date of birth: year digits transposed",
                m=0.005,
                u=0.00002,
            ),
            LevelSpec(
                kind="year_off_by_one",
                column="dob",
                label="date of birth: year off by one",
                m=0.01,
                u=0.0006,
            ),
            LevelSpec(
                kind="year_only",
                column="dob_year",
                label="date of birth: only the year is known on one side, and it matches",
                m=0.02,
                u=0.004,
            ),
            LevelSpec(
                kind="exact",
                column="dob_year",
                label="date of birth: same year",
                m=0.02,
                u=0.012,
            ),
            else_level("date of birth", m=0.075, u=0.98),
        ),
    )


def family_comparison(
    identifiers: Sequence[str] = ("nhs_std",), transposed: Sequence[tuple[str, str]] = ()
) -> ComparisonSpec:
    """A guard against merging relatives: twins, and a parent and child of the same name.

    Fellegi-Sunter treats fields as independent, but relatives share a surname, an address
    and sometimes a birth date, so those agreements overstate the evidence. These two
    patterns carry a fixed weight of about -16 bits that training never changes; every
    other pair gets 0 here. A pair that trips the guard can still match on overwhelming
    agreement elsewhere, but it is never joined through a chain of other records (see
    ``Result.entities_at``).

    - twins: same surname, dates of birth that are one date read twice (the same, or day
      and month swapped), and forenames with no relation at all (not
      similar, not a nickname, initial, middle name or known alias);
    - parent and child: the same surname, related forenames (the same, a nickname or short
      form, respelled, an initial, or one's middle name), born 14 or more years apart on a
      different day and month (the same day and month points to a slipped year digit).

    Both read the dates through the date of birth comparison's own levels, and the forenames
    through the forename comparison's, so "related" means here what it means when scoring.
    Neither fires when one of ``identifiers`` (prepared columns: the NHS number, declared
    identifiers) is the same on both records or one character apart: relatives do not share
    an identifier (a valid NHS number cannot be one digit from another: its check digit), or
    when one's value has two adjacent characters of the other's swapped (``transposed``: pairs
    of an identifier column and the list column of its swapped values).
    """
    unless = tuple(identifiers)
    return ComparisonSpec(
        name="family",
        description="Guard against relatives: twins, and a parent and child of one name",
        levels=(
            LevelSpec(
                kind="twins_pattern",
                column="dob",
                label=(
                    "family guard: same surname, same or day-month-swapped date of birth, "
                    "unrelated forenames (possible twins)"
                ),
                m=1.5e-10,
                u=1e-5,
                fixed=True,
                unless_identifier=unless,
                unless_transposed=tuple(transposed),
            ),
            LevelSpec(
                kind="parent_child_pattern",
                column="dob_year",
                label=(
                    "family guard: same surname, related forename, born 14 or more years "
                    "apart on a different day (possible parent and child)"
                ),
                m=1.5e-10,
                u=1e-5,
                fixed=True,
                unless_identifier=unless,
                unless_transposed=tuple(transposed),
            ),
            LevelSpec(
                kind="else",
                label="family guard: no sign of two relatives",
                m=0.99998,
                u=0.99998,
                fixed=True,
            ),
        ),
    )


def alias_comparison() -> ComparisonSpec:
    """Known aliases: one record's alias is the other's name or alias, in either direction."""
    return ComparisonSpec(
        name="aliases",
        description="Other names a person is known by, each as first forename + surname",
        levels=(
            LevelSpec(
                kind="both_null",
                column="alias_keys",
                label="aliases: neither record lists any",
                m=0.5,
                u=0.5,
            ),
            LevelSpec(
                kind="lists_overlap",
                column="alias_keys",
                other="name_keys",
                label="aliases: one record's known alias is the other's name",
                m=0.3,
                u=1e-6,
            ),
            else_level("aliases", m=0.7, u=0.999999),
        ),
    )


def postcode_comparison() -> ComparisonSpec:
    """Postcode: exact, same sector, same district (outward code), different."""
    return ComparisonSpec(
        name="postcode",
        description="UK postcode; other postcodes compared whole",
        levels=(
            null_level("postcode_std", "postcode"),
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
            else_level("postcode", m=0.20, u=0.986),
        ),
    )


def sex_comparison() -> ComparisonSpec:
    """Sex: the same or different."""
    return ComparisonSpec(
        name="sex",
        description="Recorded sex, M or F",
        levels=(
            null_level("sex_std", "sex"),
            LevelSpec(kind="exact", column="sex_std", label="sex: the same", m=0.97, u=0.5),
            else_level("sex", m=0.03, u=0.5),
        ),
    )


def nhs_number_comparison() -> ComparisonSpec:
    """NHS number (valid check digit only): the same or different."""
    return ComparisonSpec(
        name="nhs_number",
        description="NHS number; numbers failing the mod-11 check digit are missing",
        levels=(
            null_level("nhs_std", "NHS number"),
            LevelSpec(kind="exact", column="nhs_std", label="NHS number: the same", m=0.95, u=1e-6),
            else_level("NHS number", m=0.05, u=0.999999),
        ),
    )


def address_comparison(column: str = "address_std", field: str = "address") -> ComparisonSpec:
    """Free-text address or town: exact, very similar, similar, different."""
    return ComparisonSpec(
        name=field,
        description=f"{field.capitalize()}, standardised free text",
        levels=(
            null_level(column, field),
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
            else_level(field, m=0.10, u=0.944),
        ),
    )


def exact_comparison(column: str, field: str) -> ComparisonSpec:
    """Any column compared for equality only."""
    return ComparisonSpec(
        name=field,
        description=f"{field}, exact match only",
        levels=(
            null_level(column, field),
            LevelSpec(kind="exact", column=column, label=f"{field}: the same", m=0.9, u=0.01),
            else_level(field, m=0.1, u=0.99),
        ),
    )


def default_comparisons(
    available: Sequence[str],
    identifiers: Sequence[str] = (),
    transposed: Sequence[tuple[str, str]] = (),
) -> tuple[ComparisonSpec, ...]:
    """The default comparisons for the prepared columns that hold any values.

    Args:
        available: prepared column names with at least one non-missing value.
        identifiers: prepared columns of declared identifiers; with the NHS number, their
            agreement silences the family guard.
        transposed: (identifier column, its swapped-values list column) pairs of declared
            identifiers, for the same purpose.
    """
    present = set(available)
    same_person = [c for c in ("nhs_std", *identifiers) if c in present]
    swapped = [(c, swaps) for c, swaps in transposed if c in present]
    candidates = (
        forename_comparison(),
        surname_comparison(),
        middle_name_comparison(same_person, swapped),
        date_of_birth_comparison(),
        postcode_comparison(),
        sex_comparison(),
        nhs_number_comparison(),
        address_comparison("address_std", "address"),
        address_comparison("town_std", "town"),
        alias_comparison(),
    )
    chosen = [spec for spec in candidates if spec.levels[0].column in present]
    if {"forename_std", "surname_joined", "dob_year"} <= present:
        chosen.append(family_comparison(same_person, swapped))
    return tuple(chosen)


def compile_comparison(spec: ComparisonSpec, dialect: str = "duckdb") -> Any:
    """Compile ``spec`` into a Splink comparison for ``dialect``; pure: ``spec`` is unchanged.

    Levels Splink's library covers use its creators (which name the right functions per
    dialect); the others are written here from :class:`identmatch._sql.Dialect`.
    """
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    sql = sql_dialect(dialect)
    levels = [_compile_level(level, cll, sql) for level in spec.levels]
    return cl.CustomComparison(
        comparison_levels=levels,
        output_column_name=spec.name,
        comparison_description=spec.description,
    )


def _custom_sql(level: LevelSpec, sql: Dialect) -> str:
    def col(name: str | None, side: str) -> str:
        assert name is not None
        return sql.column(f"{name}_{side}")

    a, b = level.column, level.other
    if level.kind == "both_null":
        return f"{col(a, 'l')} IS NULL AND {col(a, 'r')} IS NULL"
    if level.kind == "contains":
        return (
            f"({sql.list_contains}({col(a, 'l')}, {col(b, 'r')}) OR "
            f"{sql.list_contains}({col(a, 'r')}, {col(b, 'l')}))"
        )
    if level.kind == "cross_equal":
        return f"({col(a, 'l')} = {col(b, 'r')} OR {col(b, 'l')} = {col(a, 'r')})"
    if level.kind == "reversed":
        return f"({col(a, 'l')} = {col(b, 'r')} AND {col(b, 'l')} = {col(a, 'r')})"
    if level.kind == "lists_overlap":
        return (
            f"({sql.lists_overlap}({col(a, 'l')}, {col(b, 'r')}) OR "
            f"{sql.lists_overlap}({col(a, 'r')}, {col(b, 'l')}))"
        )
    if level.kind == "reversed_similar":
        return _reversed_similar_sql(sql, float(level.threshold or 0.0))
    year_l, year_r = col("dob_year", "l"), col("dob_year", "r")
    md_l, md_r = col("dob_md", "l"), col("dob_md", "r")
    if level.kind == "day_month_swapped":
        # dob_md is "MM-DD": swapped when one's MM-DD reads as the other's DD-MM.
        return (
            f"({year_l} = {year_r} AND {md_l} <> {md_r} AND "
            f"substr({md_l}, 1, 2) = substr({md_r}, 4, 2) AND "
            f"substr({md_l}, 4, 2) = substr({md_r}, 1, 2))"
        )
    if level.kind == "year_transposed":
        return f"({md_l} = {md_r} AND {col('dob_year_swapped', 'l')} = {year_r})"
    if level.kind == "year_off_by_one":
        return f"({md_l} = {md_r} AND abs(CAST({year_l} AS INT) - CAST({year_r} AS INT)) = 1)"
    if level.kind in ("twins_pattern", "parent_child_pattern"):
        pattern = _twins_sql(sql) if level.kind == "twins_pattern" else _parent_child_sql(sql)
        # levenshtein: the same function name in DuckDB and Spark.
        same = [
            f"NOT coalesce(levenshtein({col(c, 'l')}, {col(c, 'r')}) <= 1, FALSE)"
            for c in level.unless_identifier
        ]
        for value, swaps in level.unless_transposed:
            for a_side, b_side in (("l", "r"), ("r", "l")):
                found = f"{sql.list_contains}({col(swaps, a_side)}, {col(value, b_side)})"
                same.append(f"NOT coalesce({found}, FALSE)")
        return "(" + " AND ".join([pattern, *same]) + ")" if same else pattern
    if level.kind == "year_only":
        return (
            f"({year_l} = {year_r} AND ({md_l} IS NULL OR {md_r} IS NULL "
            f"OR {md_l} = '01-01' OR {md_r} = '01-01'))"
        )
    msg = f"level kind {level.kind!r} has no custom SQL"
    raise ValueError(msg)


def _reversed_similar_sql(sql: Dialect, floor: float) -> str:
    """One record's forename is the other's surname, and the other two names are close.

    Close: Jaro-Winkler at or above ``floor``, or the surname on one side is a nickname of
    the forename on the other (``forename_nicks``). Symmetric in left and right.
    """

    def col(name: str, side: str) -> str:
        return sql.column(f"{name}_{side}")

    def close(surname_side: str, forename_side: str) -> str:
        surname, forename = col("surname_std", surname_side), col("forename_std", forename_side)
        nicks = col("forename_nicks", forename_side)
        return (
            f"({jaro_winkler_sql(sql, surname, forename)} >= {floor!r} OR "
            f"coalesce({sql.list_contains}({nicks}, {surname}), FALSE))"
        )

    return (
        f"(({col('forename_std', 'l')} = {col('surname_std', 'r')} AND {close('l', 'r')}) OR "
        f"({col('surname_std', 'l')} = {col('forename_std', 'r')} AND {close('r', 'l')}))"
    )


def _close_date_levels() -> tuple[LevelSpec, ...]:
    """Date of birth levels of one date read twice: the same, or day and month swapped.

    Not a one-digit slip: on historical 50k (real records) a person's dates differ by one
    digit often enough that reading such pairs as twins cost more true pairs than it saved.
    """
    levels = date_of_birth_comparison().levels
    return tuple(level for level in levels if level.column == "dob" and level.kind in _CLOSE_DATES)


_CLOSE_DATES = frozenset({"exact", "day_month_swapped"})


def _any_sql(levels: tuple[LevelSpec, ...], sql: Dialect) -> str:
    return "(" + " OR ".join(f"coalesce({_level_sql(level, sql)}, FALSE)" for level in levels) + ")"


def _twins_sql(sql: Dialect) -> str:
    """Same surname, one date of birth read twice; forenames at the "different" level; no alias."""

    def col(name: str, side: str) -> str:
        return sql.column(f"{name}_{side}")

    forename = forename_comparison()
    unrelated = []
    for level in forename.levels[1:-1]:
        condition = _level_sql(level, sql)
        unrelated.append(f"NOT coalesce({condition}, FALSE)")
    alias = alias_comparison().levels[1]
    unrelated.append(f"NOT coalesce({_level_sql(alias, sql)}, FALSE)")
    return (
        f"({col('surname_joined', 'l')} = {col('surname_joined', 'r')} AND "
        f"{_any_sql(_close_date_levels(), sql)} AND "
        f"{col('forename_std', 'l')} IS NOT NULL AND {col('forename_std', 'r')} IS NOT NULL AND "
        + " AND ".join(unrelated)
        + ")"
    )


def _parent_child_sql(sql: Dialect) -> str:
    """Related forenames, the same surname, born 14 or more years apart on another day."""

    def col(name: str, side: str) -> str:
        return sql.column(f"{name}_{side}")

    year_l, year_r = col("dob_year", "l"), col("dob_year", "r")
    md_l, md_r = col("dob_md", "l"), col("dob_md", "r")
    transposed = _custom_sql(LevelSpec(kind="year_transposed", label="", m=0.5, u=0.5), sql)
    return (
        f"({_any_sql(_related_forename_levels(), sql)} AND "
        f"{col('surname_joined', 'l')} = {col('surname_joined', 'r')} AND "
        f"abs(CAST({year_l} AS INT) - CAST({year_r} AS INT)) >= 14 AND "
        f"NOT coalesce({md_l} = {md_r}, FALSE) AND "
        f"NOT coalesce({transposed}, FALSE))"
    )


def _related_forename_levels() -> tuple[LevelSpec, ...]:
    """Forename levels a father and his namesake son share: same, nickname, respelled, initial."""
    levels = forename_comparison().levels
    return tuple(
        level for level in levels[1:-1] if level.kind not in ("reversed", "reversed_similar")
    )


def _level_sql(level: LevelSpec, sql: Dialect) -> str:
    """The condition of a level as SQL text, for use inside another level's condition."""
    import splink.comparison_level_library as cll

    if level.kind in _LIBRARY_KINDS:
        compiled = _compile_level(level, cll, sql).get_comparison_level(sql.name)
        return f"({compiled.sql_condition})"
    return _custom_sql(level, sql)


_LIBRARY_KINDS = frozenset({"exact", "jaro_winkler", "levenshtein", "array_intersect"})


def _compile_level(level: LevelSpec, cll: Any, sql: Dialect) -> Any:
    column = level.column
    if level.kind == "null":
        creator = cll.NullLevel(column)
    elif level.kind == "exact":
        creator = cll.ExactMatchLevel(column, term_frequency_adjustments=level.tf)
    elif level.kind == "jaro_winkler" and sql.name == "spark":
        # Spark has no Jaro-Winkler of its own, and the one in Splink's jar scores some
        # pairs differently from DuckDB: identmatch's UDF, registered in the session by
        # SparkEngine, gives DuckDB's scores.
        assert column is not None
        similarity = jaro_winkler_sql(sql, sql.column(f"{column}_l"), sql.column(f"{column}_r"))
        creator = cll.CustomLevel(f"{similarity} >= {float(level.threshold or 0.0)!r}")
    elif level.kind == "jaro_winkler":
        creator = cll.JaroWinklerLevel(column, level.threshold)
    elif level.kind == "levenshtein":
        creator = cll.LevenshteinLevel(column, int(level.threshold or 0))
    elif level.kind == "array_intersect":
        creator = cll.ArrayIntersectLevel(column, int(level.threshold or 1))
    elif level.kind == "else":
        creator = cll.ElseLevel()
    else:
        creator = cll.CustomLevel(_custom_sql(level, sql))
    if level.kind in ("null", "both_null"):
        return creator.configure(label_for_charts=level.label, is_null_level=True)
    return creator.configure(
        label_for_charts=level.label,
        m_probability=level.m,
        u_probability=level.u,
        fix_m_probability=level.fixed,
        fix_u_probability=level.fixed,
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
    if level.kind == "both_null":
        return _missing(a) and _missing(b)
    if level.kind in _TWO_COLUMN_KINDS:
        return _two_column_holds(level, left, right)
    if level.kind == "reversed_similar":
        return _reversed_similar_holds(left, right, level.threshold or 0.0)
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
        return jaro_winkler(str(a), str(b)) >= (level.threshold or 0.0)
    if level.kind == "levenshtein":
        return Levenshtein.distance(str(a), str(b)) <= (level.threshold or 0)
    if level.kind == "array_intersect":
        return len(set(a or ()) & set(b or ())) >= (level.threshold or 1)
    return False


_FORENAME = forename_comparison()
_ALIAS_MATCH = alias_comparison().levels[1]
_RELATED_FORENAME = _related_forename_levels()
_CLOSE_DATE = _close_date_levels()
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
