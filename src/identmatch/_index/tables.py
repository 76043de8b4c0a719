"""The index's tables as a snapshot is built from them: read from the file, or held in memory.

A snapshot (:mod:`identmatch._index.snapshot`) is built from each column of the records
table, the blocking keys and the term-frequency counts; :class:`FileTables` reads them from
an index connection, :class:`HeldTables` holds them as a search worker receives them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from identmatch._sql import quote_identifier

__all__ = ["FileTables", "HeldTables", "Loader", "Tables", "read_arrow"]

Loader = Callable[["Tables"], None]
"""Takes a copy of the search state, as the index's tables."""


def read_arrow(
    cursor: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None
) -> pa.Table:
    """The result of one SQL query as an Arrow table."""
    table = cursor.sql(sql, params=params or None).to_arrow_table()
    if table is None:  # pragma: no cover - a SELECT always returns a table
        msg = "the index query returned no result"
        raise RuntimeError(msg)
    return table


class Tables(Protocol):
    """The index's tables as a snapshot is built from them: each column, the keys, the tf."""

    @property
    def names(self) -> Sequence[str]:
        """The records table's columns, in order."""

    def column(self, name: str) -> pa.ChunkedArray:
        """One column of the records table, in ``seq`` order."""

    def keys(self) -> pa.Table:
        """The blocking keys: ``key_hash`` and ``seq``."""

    def tf(self) -> list[tuple[str, Any, int]]:
        """The ``tf`` table: ``(column, value, count)`` rows."""


class FileTables:
    """:class:`Tables` read from an index connection, one column at a time when asked."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self._cursor = cursor
        self.names = [
            str(row[0])
            for row in cursor.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'records' ORDER BY ordinal_position"
            ).fetchall()
        ]

    def column(self, name: str) -> pa.ChunkedArray:
        sql = f"SELECT {quote_identifier(name)} FROM records ORDER BY seq"
        return read_arrow(self._cursor, sql).column(0)

    def keys(self) -> pa.Table:
        return read_arrow(self._cursor, "SELECT key_hash, seq FROM keys")

    def tf(self) -> list[tuple[str, Any, int]]:
        return [
            (str(c), v, int(n))
            for c, v, n in self._cursor.execute("SELECT column_name, value, n FROM tf").fetchall()
        ]


class HeldTables:
    """:class:`Tables` held in memory: as a search worker receives them, one part at a time."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.columns: dict[str, pa.ChunkedArray] = {}
        self.key_table: pa.Table | None = None
        self.tf_rows: list[tuple[str, Any, int]] = []

    @classmethod
    def copy(cls, tables: Tables) -> HeldTables:
        """Every part of ``tables``, read now."""
        held = cls(tables.names)
        held.columns = {name: tables.column(name) for name in held.names}
        held.key_table, held.tf_rows = tables.keys(), tables.tf()
        return held

    def column(self, name: str) -> pa.ChunkedArray:
        return self.columns[name]

    def keys(self) -> pa.Table:
        assert self.key_table is not None
        return self.key_table

    def tf(self) -> list[tuple[str, Any, int]]:
        return self.tf_rows
