"""The batch run's in-process DuckDB database, with Splink's API bound to it.

Prepared records are loaded through Arrow with an explicit schema, so a column that is
entirely missing still has a text type and every SQL function sees the type it expects.
Index files are opened by :mod:`identmatch._index.store`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from identmatch._candidates.choose import Statement
from identmatch._prepare.arrow import arrow_schema, prepared_columns
from identmatch._sql import logged, quote_identifier

CandidateQuery = Callable[
    [list[str]],
    tuple[list[Statement], str, Callable[[str, str, int], str]],
]
"""Given the inputs' quoted table names: the statements choosing candidate pairs, the name of
the table of chosen pairs, and the SELECT that adds each input's
``candidate_pairs`` list (table, chosen-pairs table, input position)."""

__all__ = ["CandidateQuery", "Engine"]


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
                logged(
                    f"CREATE OR REPLACE TEMP TABLE {quote_identifier(statement.table)} AS "
                    + statement.sql
                )
            ).fetchall()
            for gone in statement.drop:  # as soon as no later step reads it
                self.connection.execute(f"DROP TABLE {quote_identifier(gone)}").fetchall()
        out = []
        for position, sdf in enumerate(inputs):
            physical = f"{sdf.physical_name}_candidates"
            self.connection.execute(
                logged(
                    f"CREATE OR REPLACE TABLE {quote_identifier(physical)} AS "
                    + extend(tables[position], quote_identifier(kept), position)
                )
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

    def query_arrow(self, inputs: list[Any], sql: Callable[[list[str], list[str]], str]) -> Any:
        """Run ``sql(tables, columns)`` over the Splink dataframes ``inputs`` (their quoted
        table names and the columns the first holds) and return an Arrow table."""
        tables = [quote_identifier(sdf.physical_name) for sdf in inputs]
        columns = list(self.connection.table(inputs[0].physical_name).columns)
        return self.connection.sql(logged(sql(tables, columns))).to_arrow_table()

    def scored_pairs(self, predictions: Any, keep: Callable[[str], bool]) -> pd.DataFrame:
        """The columns of Splink's predictions that ``keep`` accepts, as a pandas frame."""
        relation = predictions.as_duckdbpyrelation()
        chosen = [quote_identifier(c) for c in relation.columns if keep(c)]
        frame: pd.DataFrame = relation.select(*chosen).df()
        return frame

    def close(self) -> None:
        """Close the connection; the engine cannot be used afterwards."""
        self.connection.close()
