"""SQL text's rules: identifier quoting, dialect spellings, and the SQL log.

Several modules write SQL (candidate keys and pairs, comparison levels, the index's tables
and queries); all of them follow the rules here. User values never reach SQL text: they
travel as bound query parameters. Identifiers (table and column names) go through
:func:`quote_identifier`. The statements of a batch run's candidate selection and of an index
build's keys are logged at DEBUG under ``identmatch.sql`` (:func:`logged`); Splink logs its
own under ``splink``.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

__all__ = ["Dialect", "dialect", "jaro_winkler_sql", "logged", "path_literal", "quote_identifier"]

_sql_logger = logging.getLogger("identmatch.sql")


def logged(statement: str) -> str:
    """``statement``, logged at DEBUG under ``identmatch.sql`` (it holds no values)."""
    _sql_logger.debug("%s", statement)
    return statement


def quote_identifier(name: str) -> str:
    """Quote a table or column name for DuckDB and Spark SQL alike.

    Double quotes inside the name are doubled; a NUL character is refused.

    Raises:
        ValueError: ``name`` is empty or contains a NUL character.
    """
    if not name or "\x00" in name:
        msg = "an SQL identifier must be non-empty text without NUL characters"
        raise ValueError(msg)
    return '"' + name.replace('"', '""') + '"'


class Dialect(NamedTuple):
    """How one SQL dialect spells the few things identmatch writes itself."""

    name: str
    quote: str
    """Identifier quote character."""
    list_contains: str
    """Function (list, value) -> whether the list holds the value."""
    lists_overlap: str
    """Function (list, list) -> whether the lists share an element."""
    jaro_winkler: str
    """Function (text, text) -> Jaro-Winkler similarity in [0, 1], equal to DuckDB's."""

    def column(self, name: str) -> str:
        """A quoted column name."""
        if not name or "\x00" in name:
            msg = "an SQL identifier must be non-empty text without NUL characters"
            raise ValueError(msg)
        return self.quote + name.replace(self.quote, self.quote * 2) + self.quote


_DIALECTS = {
    "duckdb": Dialect("duckdb", '"', "list_contains", "list_has_any", "jaro_winkler_similarity"),
    # identmatch_jaro_winkler is registered in the session by identmatch (_spark_functions).
    "spark": Dialect("spark", "`", "array_contains", "arrays_overlap", "identmatch_jaro_winkler"),
}


def dialect(name: str) -> Dialect:
    """The :class:`Dialect` called ``name`` (``duckdb`` or ``spark``).

    Raises:
        ValueError: the dialect is not supported.
    """
    try:
        return _DIALECTS[name]
    except KeyError:
        allowed = ", ".join(sorted(_DIALECTS))
        msg = f"SQL dialect {name!r} is not supported; use one of: {allowed}"
        raise ValueError(msg) from None


def jaro_winkler_sql(sql: Dialect, left: str, right: str) -> str:
    """Jaro-Winkler similarity in [0, 1] of two SQL text expressions, in ``sql``'s dialect.

    DuckDB has ``jaro_winkler_similarity``. Spark has none, and the one in Splink's Java jar
    scores some pairs differently, so on Spark this calls ``identmatch_jaro_winkler``, which
    :class:`identmatch._batch.spark.SparkEngine` registers in the session (a vectorised UDF on
    rapidfuzz, equal to DuckDB's; see ``_spark_functions``). Both give NULL when either
    input is NULL and 0.0 when either is empty.
    """
    return f"{sql.jaro_winkler}({left}, {right})"


def path_literal(path: object) -> str:
    """A file path as an SQL string literal: ``ATTACH`` takes no parameter for it. A path is
    the operator's, never a record value."""
    return "'" + str(path).replace("'", "''") + "'"
