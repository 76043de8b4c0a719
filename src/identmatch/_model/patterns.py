"""The agreement patterns of an EM block, counted in one SQL query.

Training's EM (:mod:`identmatch._model.estimate`) needs, for each block (records equal on a
date of birth, a postcode, ...), how many pairs show each combination of comparison levels.
:func:`pattern_counts_sql` writes that as one query: the block's self-join (or, for a link, the
join of the two inputs) feeds a ``GROUP BY`` of each comparison's level, so the database
aggregates the pairs as they are formed and never holds them. Each level's condition is the
SQL Splink scores with (:func:`identmatch._model.level_sql.compile_comparison`), in DuckDB's or
Spark's dialect, and a test holds the counts to Splink's own comparison of the same block.
"""

from __future__ import annotations

from collections.abc import Sequence

from identmatch._candidates.blocking import BlockingRule
from identmatch._model.level_sql import compile_comparison
from identmatch._model.levels import ComparisonSpec
from identmatch._sql import dialect

__all__ = ["level_case_sql", "pattern_counts_sql"]

_ID = "unique_id"


def level_case_sql(spec: ComparisonSpec, sql_dialect: str) -> str:
    """A ``CASE`` giving the index of the level of ``spec`` a pair (``_l``/``_r`` columns)
    falls into, from the conditions Splink scores with; the last level is ``else``."""
    levels = compile_comparison(spec, sql_dialect).get_comparison(sql_dialect)
    conditions = [level.sql_condition for level in levels.comparison_levels]
    whens = " ".join(
        f"WHEN {condition} THEN {index}"
        for index, condition in enumerate(conditions)
        if condition != "ELSE"
    )
    return f"CASE {whens} ELSE {len(conditions) - 1} END"


def pattern_counts_sql(
    comparisons: Sequence[ComparisonSpec],
    rule: BlockingRule,
    tables: Sequence[str],
    columns: Sequence[str],
    sql_dialect: str,
) -> str:
    """One query: per distinct pattern of level indices (``level_<i>``), its ``pairs``.

    Args:
        comparisons: the model's comparisons, in order; ``level_<i>`` is the index of the
            level of ``comparisons[i]`` (0 is the null level where there is one).
        rule: the block's columns; missing values pair with nothing.
        tables: one table (a dedupe: each pair once, lower id on the left) or two (a link:
            every pair across them), as the backend names them.
        columns: the prepared columns the tables hold (each is selected as ``_l`` and ``_r``).
        sql_dialect: ``duckdb`` or ``spark``.
    """
    quote = dialect(sql_dialect).column
    left, right = tables[0], tables[-1]
    pair_columns = [
        f"{side}.{quote(column)} AS {quote(column + '_' + side)}"
        for column in columns
        for side in ("l", "r")
    ]
    join = " AND ".join(f"l.{quote(c)} = r.{quote(c)}" for c in rule)
    if len(tables) == 1:
        join += f" AND l.{quote(_ID)} < r.{quote(_ID)}"
    cases = [
        f"{level_case_sql(spec, sql_dialect)} AS level_{number}"
        for number, spec in enumerate(comparisons)
    ]
    groups = ", ".join(f"level_{number}" for number in range(len(comparisons)))
    return (
        f"WITH pairs AS (SELECT {', '.join(pair_columns)} "
        f"FROM {left} AS l JOIN {right} AS r ON {join}), "
        f"levels AS (SELECT {', '.join(cases)} FROM pairs) "
        f"SELECT {groups}, count(*) AS pairs FROM levels GROUP BY {groups}"
    )
