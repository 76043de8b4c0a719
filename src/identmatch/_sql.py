"""The one place SQL text is assembled: identifier quoting and dialect spellings.

User values never reach SQL text: they travel as bound query parameters.
Identifiers (table and column names) go through :func:`quote_identifier`.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Dialect", "dialect", "quote_identifier"]


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

    def column(self, name: str) -> str:
        """A quoted column name."""
        if not name or "\x00" in name:
            msg = "an SQL identifier must be non-empty text without NUL characters"
            raise ValueError(msg)
        return self.quote + name.replace(self.quote, self.quote * 2) + self.quote


_DIALECTS = {
    "duckdb": Dialect("duckdb", '"', "list_contains", "list_has_any"),
    "spark": Dialect("spark", "`", "array_contains", "arrays_overlap"),
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
