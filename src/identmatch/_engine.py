"""DuckDB connections and Splink's database API: the only module that opens a database.

Prepared records are loaded through Arrow with an explicit schema, so a column that is
entirely missing still has a text type and every SQL function sees the type it expects.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from identmatch._candidates import Statement
from identmatch._exceptions import ConfigError
from identmatch._prepare import is_list_column, is_prepared_column
from identmatch._sql import quote_identifier

CandidateQuery = Callable[
    [list[str]],
    tuple[list[Statement], str, Callable[[str, str, int], str]],
]
"""Given the inputs' quoted table names: the statements choosing candidate pairs, the name of
the table of chosen pairs, and the SELECT that adds each input's
``candidate_pairs`` list (table, chosen-pairs table, input position)."""

__all__ = [
    "CandidateQuery",
    "Engine",
    "arrow_schema",
    "connect_index",
    "create_index_file",
    "new_cursor",
    "cursor",
    "prepared_columns",
    "transaction",
]


def connect_index(path: Path, *, read_only: bool, plain: bool = False) -> duckdb.DuckDBPyConnection:
    """Open an index file, or fail with one line saying why (never DuckDB's own message).

    The file is opened with the index key when one is set (``identmatch._encryption``),
    unless ``plain``.

    Raises:
        ConfigError: another process holds the file (a running service), or it is not a
            DuckDB database, or not an identmatch index.
    """
    from identmatch._encryption import INDEX_KEY_FILE_ENV, index_key, open_encrypted

    key = None if plain else index_key()
    try:
        if key is None:
            connection = duckdb.connect(str(path), read_only=read_only)
        else:
            connection = open_encrypted(path, key, read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            msg = (
                f"{path}: in use by another process (a running 'identmatch serve'?); "
                "stop it, or ask the service"
            )
        else:
            msg = f"{path}: not an identmatch index (not a DuckDB database file)"
        raise ConfigError(msg) from None
    except duckdb.Error as exc:
        if key is None and "encrypted" in str(exc):
            msg = f"{path}: encrypted; set {INDEX_KEY_FILE_ENV} to the file of its key"
        else:
            msg = f"{path}: cannot be opened as an index ({type(exc).__name__})"
        raise ConfigError(msg) from None
    try:
        connection.execute("SELECT key, value FROM meta LIMIT 1").fetchall()
    except duckdb.Error:
        connection.close()
        msg = f"{path}: not an identmatch index (a DuckDB file without its tables)"
        raise ConfigError(msg) from None
    return connection


def create_index_file(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection to a new index file at ``path``, encrypted when an index key is set."""
    from identmatch._encryption import index_key, open_encrypted

    key = index_key()
    if key is None:
        return duckdb.connect(str(path))
    return open_encrypted(path, key, read_only=False)


def new_cursor(connection: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor of ``connection``, in its index database (an encrypted index is an attached
    database, and a cursor starts in DuckDB's default one)."""
    from identmatch._encryption import use_index

    opened = connection.cursor()
    use_index(connection, opened)
    return opened


@contextlib.contextmanager
def cursor(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of ``connection`` (its own result set, usable from another thread), closed after."""
    opened = new_cursor(connection)
    try:
        yield opened
    finally:
        opened.close()


@contextlib.contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor in a transaction: committed if the block ends, rolled back if it raises."""
    with cursor(connection) as opened:
        opened.execute("BEGIN TRANSACTION")
        try:
            yield opened
        except BaseException:
            opened.execute("ROLLBACK")
            raise
        opened.execute("COMMIT")


def arrow_schema(columns: list[str]) -> pa.Schema:
    """The Arrow schema of prepared ``columns``: text, or a list of text for list columns."""
    fields = []
    for name in columns:
        kind = pa.list_(pa.string()) if is_list_column(name) else pa.string()
        fields.append(pa.field(name, kind))
    return pa.schema(fields)


def prepared_columns(columns: Iterable[str]) -> list[str]:
    """The columns, in order, that a backend needs of a prepared frame."""
    return [c for c in columns if is_prepared_column(c) or c == "source_dataset"]


def _arrow_text(kind: pa.DataType) -> Any:
    return pd.ArrowDtype(kind) if pa.types.is_string(kind) else None


class Engine:
    """An in-process DuckDB database with Splink's API bound to it."""

    dialect = "duckdb"

    def __init__(self, path: str = ":memory:", *, threads: int | None = None) -> None:
        from splink import DuckDBAPI

        self.connection = duckdb.connect(path)
        if threads is not None:
            self.connection.execute(f"SET threads TO {int(threads)}")
        self.db_api: Any = DuckDBAPI(connection=self.connection)

    def load_prepared(self, frame: pd.DataFrame, table: str) -> Any:
        """Store a prepared frame as ``table`` and register it with Splink.

        Returns:
            The Splink dataframe handle for ``table``.
        """
        columns = prepared_columns(frame.columns)
        arrow = pa.Table.from_pandas(
            frame[columns], schema=arrow_schema(columns), preserve_index=False
        )
        self.connection.register("__identmatch_arrow", arrow)
        try:
            self.connection.execute(
                f"CREATE OR REPLACE TABLE {quote_identifier(table)} AS "
                "SELECT * FROM __identmatch_arrow"
            )
        finally:
            self.connection.unregister("__identmatch_arrow")
        return self.db_api.register(table, dataset_display_name=table)

    def add_candidates(
        self, inputs: list[Any], choose: CandidateQuery
    ) -> tuple[list[Any], pd.DataFrame]:
        """The inputs with their chosen pairs (``candidate_pairs``), and the pairs themselves.

        Args:
            inputs: Splink dataframes of the prepared inputs (one, or two for a link).
            choose: builds the statements from the inputs' quoted table names.

        Returns:
            New Splink dataframes (same display names) and a frame of the chosen pairs:
            ``src_l``, ``uid_l``, ``src_r``, ``uid_r``, ``first_rule``.
        """
        tables = [quote_identifier(sdf.physical_name) for sdf in inputs]
        statements, kept, extend = choose(tables)
        for statement in statements:
            self.connection.execute(
                f"CREATE OR REPLACE TEMP TABLE {quote_identifier(statement.table)} AS "
                + statement.sql
            ).fetchall()
            for gone in statement.drop:  # as soon as no later step reads it
                self.connection.execute(f"DROP TABLE {quote_identifier(gone)}").fetchall()
        out = []
        for position, sdf in enumerate(inputs):
            physical = f"{sdf.physical_name}_candidates"
            self.connection.execute(
                f"CREATE OR REPLACE TABLE {quote_identifier(physical)} AS "
                + extend(tables[position], quote_identifier(kept), position)
            ).fetchall()
            out.append(
                self.db_api.register(
                    physical, dataset_display_name=sdf.dataset_display_name, table_name=physical
                )
            )
        arrow = self.connection.sql(
            f"SELECT src_l, uid_l, src_r, uid_r, first_rule FROM {quote_identifier(kept)}"
        ).to_arrow_table()
        # Arrow-backed text: a million records' pairs as Python strings would take a GiB.
        pairs: pd.DataFrame = arrow.to_pandas(types_mapper=_arrow_text)
        for statement in statements:
            self.connection.execute(
                f"DROP TABLE IF EXISTS {quote_identifier(statement.table)}"
            ).fetchall()
        for sdf in inputs:
            self.connection.execute(
                f"DROP TABLE IF EXISTS {quote_identifier(sdf.physical_name)}"
            ).fetchall()
        return out, pairs

    def scored_pairs(self, predictions: Any, keep: Callable[[str], bool]) -> pd.DataFrame:
        """The columns of Splink's predictions that ``keep`` accepts, as a pandas frame."""
        relation = predictions.as_duckdbpyrelation()
        chosen = [quote_identifier(c) for c in relation.columns if keep(c)]
        frame: pd.DataFrame = relation.select(*chosen).df()
        return frame

    def close(self) -> None:
        """Close the connection; the engine cannot be used afterwards."""
        self.connection.close()
