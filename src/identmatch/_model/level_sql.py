"""Comparison levels compiled to Splink comparisons, in DuckDB's or Spark's SQL."""

from __future__ import annotations

from typing import Any

from identmatch._model.catalogue import (
    alias_comparison,
    close_date_levels,
    forename_comparison,
    related_forename_levels,
)
from identmatch._model.levels import ComparisonSpec, LevelSpec
from identmatch._sql import Dialect, jaro_winkler_sql
from identmatch._sql import dialect as sql_dialect

__all__ = ["compile_comparison"]


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
        return _reversed_similar_sql(sql, level.similarity_floor)
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
        f"{_any_sql(close_date_levels(), sql)} AND "
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
        f"({_any_sql(related_forename_levels(), sql)} AND "
        f"{col('surname_joined', 'l')} = {col('surname_joined', 'r')} AND "
        f"abs(CAST({year_l} AS INT) - CAST({year_r} AS INT)) >= 14 AND "
        f"NOT coalesce({md_l} = {md_r}, FALSE) AND "
        f"NOT coalesce({transposed}, FALSE))"
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
        creator = cll.CustomLevel(f"{similarity} >= {level.similarity_floor!r}")
    elif level.kind == "jaro_winkler":
        creator = cll.JaroWinklerLevel(column, level.similarity_floor)
    elif level.kind == "levenshtein":
        creator = cll.LevenshteinLevel(column, level.max_edits)
    elif level.kind == "array_intersect":
        creator = cll.ArrayIntersectLevel(column, level.min_shared)
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
