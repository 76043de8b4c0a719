"""Writing an index file: its schema, records, blocking keys and term-frequency counts.

A build resolves the records with the batch pipeline and writes them to a file beside the
target, renamed into place at the end. The records, their keys and the term frequencies do
not depend on the entities, so a writer thread stores them while the pipeline trains, scores
and clusters (DuckDB works outside the GIL, and clustering uses one core); the entity ids are
filled in once clustering is done.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pyarrow as pa

from identmatch._batch.decisions import Decisions
from identmatch._candidates.keys import keys_sql
from identmatch._config import ModelConfig
from identmatch._exceptions import SchemaError
from identmatch._index.schema import FORMAT_VERSION, new_file_sql
from identmatch._index.store import create_index_file, owner_only
from identmatch._model.model import Model
from identmatch._prepare.date_columns import order_for
from identmatch._prepare.declared import DeclaredSchema
from identmatch._prepare.quality import DataQuality
from identmatch._prepare.records import (
    LIST_COLUMNS,
    is_list_column,
    is_prepared_column,
)
from identmatch._sql import logged, quote_identifier
from identmatch._types import DateOrder, ExplicitDateOrder

if TYPE_CHECKING:
    from identmatch._batch.result import Result

__all__ = [
    "LIST_COLUMNS",
    "add_tf",
    "build_file",
    "check_new_ids",
    "insert_keys",
    "insert_records",
]

_logger = logging.getLogger("identmatch")


# ------------------------------------------------------------------------------ rows
def _text(values: pd.Series | None, n: int) -> pa.Array:
    """Display values as text; missing (None, NaN) stays missing."""
    if values is None:
        return pa.nulls(n, pa.string())
    return pa.array([None if v is None or v != v else str(v) for v in values], pa.string())


def insert_records(
    connection: duckdb.DuckDBPyConnection,
    raw: pd.DataFrame,
    prepared: pd.DataFrame,
    *,
    start_seq: int,
    entity_ids: Sequence[str] | None,
) -> None:
    """Store ``prepared`` (with the display columns of ``raw``, row for row) from ``start_seq``.

    ``prepared`` may hold ``recorded`` (see ``prepare_records``); without it the dates
    recorded are empty.

    ``entity_ids`` may be None when they are not known yet (a build fills them in later).
    """
    n = len(prepared)
    arrays: dict[str, pa.Array] = {
        "seq": pa.array(range(start_seq, start_seq + n), pa.int64()),
        "record_id": pa.array(prepared["unique_id"].astype(str).tolist(), pa.string()),
        "entity_id": (
            pa.nulls(n, pa.string())
            if entity_ids is None
            else pa.array([str(e) for e in entity_ids], pa.string())
        ),
    }
    for name in ("source", "forename", "middle_names", "surname"):
        arrays[name] = _text(raw[name] if name in raw.columns else None, n)
    arrays["dob_given"] = _text(raw["dob"] if "dob" in raw.columns else None, n)
    # The date recorded, as prepare_records read it (ISO); never a prepared column.
    arrays["recorded"] = _text(prepared["recorded"] if "recorded" in prepared.columns else None, n)
    aliases = raw["aliases"] if "aliases" in raw.columns else [None] * n
    arrays["aliases"] = pa.array(
        [list(v) if isinstance(v, list | tuple) else [] for v in aliases], pa.list_(pa.string())
    )
    for name in prepared.columns:
        if name != "unique_id" and is_prepared_column(name):
            kind = pa.list_(pa.string()) if is_list_column(name) else pa.string()
            arrays[name] = pa.array(prepared[name].to_numpy(), kind, from_pandas=True)
    connection.register("__new_records", pa.table(arrays))
    try:
        names = ", ".join(quote_identifier(name) for name in arrays)
        connection.execute(f"INSERT INTO records ({names}) SELECT {names} FROM __new_records")
    finally:
        connection.unregister("__new_records")


def insert_keys(connection: duckdb.DuckDBPyConnection, model: Model, *, start_seq: int) -> None:
    """Store the blocking keys of the records from ``start_seq`` on, computed in DuckDB."""
    connection.execute(
        logged(
            "INSERT INTO keys SELECT key_hash, seq FROM ("
            + keys_sql(model.blocking_rules, "records", min_seq=start_seq)
            + ")"
        )
    )


def add_tf(
    connection: duckdb.DuckDBPyConnection, prepared: pd.DataFrame, model: Model
) -> dict[str, dict[str, int]]:
    """Add the records' term-frequency counts to the ``tf`` table; returns what was added."""
    added: dict[str, dict[str, int]] = {}
    for column in model.tf_columns:
        counts = prepared[column].dropna().astype(str).value_counts()
        if counts.empty:
            continue
        added[column] = {str(k): int(n) for k, n in counts.items()}
        frame = pa.table(
            {
                "column_name": pa.array([column] * len(counts), pa.string()),
                "value": pa.array(counts.index.tolist(), pa.string()),
                "n": pa.array(counts.to_numpy(), pa.int64()),
            }
        )
        connection.register("__tf", frame)
        try:
            connection.execute(
                "INSERT INTO tf SELECT * FROM __tf ON CONFLICT (column_name, value) "
                "DO UPDATE SET n = tf.n + excluded.n"
            )
        finally:
            connection.unregister("__tf")
    return added


def _count_tf(connection: duckdb.DuckDBPyConnection, model: Model) -> None:
    """Fill an empty ``tf`` table from every stored record, in SQL (a build's counts)."""
    for column in model.tf_columns:
        name = quote_identifier(column)
        connection.execute(
            f"INSERT INTO tf SELECT ?, {name}, count(*) FROM records "
            f"WHERE {name} IS NOT NULL GROUP BY {name}",
            [column],
        )


# ----------------------------------------------------------------------------- build
class _Writer:
    """Writes records, keys and term frequencies to a new file in a thread of its own.

    The records go first, as soon as they are prepared. The keys and term frequencies are
    pure DuckDB work and wait for clustering, which leaves a core idle; earlier they would
    take it from DuckDB's scoring.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.model: Model | None = None
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._thread: threading.Thread | None = None
        self._clustering = threading.Event()
        self._error: BaseException | None = None

    def start(self, raw: pd.DataFrame, prepared: pd.DataFrame, model: Model) -> None:
        self.model = model
        self._thread = threading.Thread(
            target=self._write, args=(raw, prepared, model), name="identmatch-index-writer"
        )
        self._thread.start()

    def clustering(self) -> None:
        self._clustering.set()

    def _write(self, raw: pd.DataFrame, prepared: pd.DataFrame, model: Model) -> None:
        try:
            connection = create_index_file(self.path)
            self._connection = connection
            owner_only(self.path)
            # One thread: the pipeline keeps the other core while this runs beside it.
            connection.execute("SET threads TO 1")
            connection.execute(new_file_sql(model.declared.prepared_columns))
            insert_records(connection, raw, prepared, start_seq=0, entity_ids=None)
            self._clustering.wait()
            insert_keys(connection, model, start_seq=0)
            _count_tf(connection, model)
        except BaseException as exc:  # handed to the main thread by join()
            self._error = exc

    def join(self) -> duckdb.DuckDBPyConnection:
        """Wait for the writer; its connection, or its error raised here."""
        self._clustering.set()
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            self.close()
            raise self._error
        if self._connection is None:
            msg = "the index writer never started: the pipeline prepared no records"
            raise RuntimeError(msg)
        self._connection.execute("RESET threads")
        return self._connection

    def close(self) -> None:
        self._clustering.set()
        if self._thread is not None:
            self._thread.join()
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def build_file(
    records: Any,
    path: Path,
    *,
    columns: Mapping[str, str] | None,
    date_order: DateOrder,
    model: Model | str | Path | None,
    config: ModelConfig,
    schema: DeclaredSchema | None = None,
    decisions: Decisions | None = None,
    progress: Callable[[str], None] | None = None,
) -> Result:
    """Resolve ``records`` with the batch pipeline and write a complete index to ``path``.

    The index keeps the decisions it was built under (they hold for every later add), the
    pairs for the review queue and the distribution of match weights. Returns the run's
    result (its quality summary and blocking report say what the build read and compared).
    """
    from identmatch._batch.pipeline import PipelineHooks, dedupe_then
    from identmatch._index.review import store_build_review

    writer = _Writer(path)
    try:
        result = dedupe_then(
            records,
            PipelineHooks(prepared=writer.start, clustering=writer.clustering),
            columns=columns,
            date_order=date_order,
            model=model,
            config=config,
            schema=schema,
            decisions=decisions,
            progress=progress,
        )
        if progress is not None:
            progress("writing the index")
        connection = writer.join()
        entities = result.entities
        if writer.model is None or writer.model.blocking_rules != result.model.blocking_rules:
            connection.execute("DELETE FROM keys")
            insert_keys(connection, result.model, start_seq=0)
        if writer.model is None or writer.model.tf_columns != result.model.tf_columns:
            connection.execute("DELETE FROM tf")
            _count_tf(connection, result.model)
        ids = pa.table(
            {
                "seq": pa.array(range(len(entities)), pa.int64()),
                "entity_id": pa.array(entities["entity_id"].astype(str).tolist(), pa.string()),
            }
        )
        connection.register("__entity_ids", ids)
        connection.execute(
            "UPDATE records SET entity_id = e.entity_id FROM __entity_ids AS e "
            "WHERE records.seq = e.seq"
        )
        connection.unregister("__entity_ids")
        first = entities.reset_index(drop=True).groupby("entity_id", sort=False).head(1)
        created = pa.table(
            {
                "entity_id": pa.array(first["entity_id"].astype(str).tolist(), pa.string()),
                "created_seq": pa.array(first.index.to_numpy(), pa.int64()),
            }
        )
        connection.register("__entities", created)
        connection.execute(
            "INSERT INTO entities SELECT entity_id, created_seq, NULL FROM __entities"
        )
        connection.unregister("__entities")
        numbers = [int(str(e)[1:]) for e in entities["entity_id"]]
        meta = {
            "format_version": FORMAT_VERSION,
            "model": result.model.model_dump_json(),
            "config": config.model_dump_json(),
            "date_order": date_order,
            "date_orders": json.dumps(_orders_read(result.quality) if date_order == "auto" else {}),
            "next_entity": str(max(numbers, default=0) + 1),
            "next_seq": str(len(entities)),
        }
        connection.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        store_build_review(connection, result.pairs, config.review_band, result.decisions)
        connection.execute("CHECKPOINT")
    finally:
        writer.close()
    return result


def _orders_read(quality: DataQuality) -> dict[str, ExplicitDateOrder]:
    """The order each source's dates of birth were read in (detected, or fallen back on)."""
    dob = quality.columns.get("dob")
    return {} if dob is None else {entry.source: entry.date_order for entry in dob.sources}


def date_orders_in(
    meta: Mapping[str, Any],
) -> tuple[DateOrder, dict[str, ExplicitDateOrder], ExplicitDateOrder]:
    """An index's date order setting, the orders its sources were read in, and its searches'.

    An index built with ``date_order="auto"`` keeps the order each source's dates of birth
    were read in. Records added later are read as the build read them: each source in the
    order its own new dates show, else in its kept order. A search has one date and, as a
    rule, no source, so it reads an ambiguous date in the order all the kept sources share,
    and day-first (``DMY``) when they differ. An index built before orders were kept reads
    day-first, as it was built.
    """
    setting: DateOrder = meta.get("date_order", "DMY")
    kept: dict[str, ExplicitDateOrder] = json.loads(meta.get("date_orders", "{}"))
    return setting, kept, order_for("", setting, kept)


def check_new_ids(connection: duckdb.DuckDBPyConnection, ids: list[str]) -> None:
    """Refuse ids already in the index (naming at most five of them, never a value)."""
    clash = connection.execute(
        "SELECT record_id FROM records WHERE record_id IN (SELECT unnest(?)) LIMIT 5", [ids]
    ).fetchall()
    if clash:
        first = ", ".join(str(row[0]) for row in clash)
        msg = f"record ids already in the index (first: {first}); ids must be unique"
        raise SchemaError(msg)
