"""The one place SQL text is assembled: identifier quoting and named SQL steps.

User values never reach SQL text: they travel as bound parameters in ``SqlStep.params``.
Identifiers (table and column names) go through :func:`quote_identifier`.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

__all__ = ["SqlStep", "quote_identifier"]

sql_logger = logging.getLogger("identmatch.sql")


class SqlStep(NamedTuple):
    """One SQL statement with its bound parameters and the table it produces, if any."""

    name: str
    sql: str
    params: tuple[Any, ...] = ()


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
