"""Standardise an input of any size into Parquet files, one chunk of records at a time.

Preparation is per record (``prepare_records`` never looks across rows), so a file read in
chunks and prepared chunk by chunk gives the same rows as one pass over all of it. Memory
is bounded by the chunk size and the input's size only by disk. Spark (or DuckDB) then reads
the prepared parts in parallel, without passing them through one Python process.

Record ids must be unique across the whole input; that is checked after the parts are
written, with DuckDB aggregating over the files on disk. The data-quality summary is written
last, as ``_quality.json``: a directory with it is a complete preparation, which ``dedupe`` and
``link`` accept in place of records (:func:`read_prepared`), and which the Spark backend
reads straight from the files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from identmatch._config import ReadConfig
from identmatch._exceptions import ConfigError, InputFileError, SchemaError
from identmatch._prepare.arrow import arrow_schema
from identmatch._prepare.declared import AttributeSpec, DeclaredSchema, Identifiers, declared_schema
from identmatch._prepare.quality import DataQuality
from identmatch._prepare.read import check_column_count, check_parquet_columns, read_records
from identmatch._prepare.records import PREPARED_COLUMNS, prepare_records
from identmatch._types import DateOrder, ExplicitDateOrder

__all__ = [
    "is_prepared_directory",
    "prepare_parquet",
    "prepared_parts",
    "prepared_schema",
    "read_prepared",
]

logger = logging.getLogger("identmatch")

_PART = "part-{:05d}.parquet"
_PARTS = "part-*.parquet"
_QUALITY = "_quality.json"  # a leading _ keeps Spark and pyarrow from reading it as a part
_DECLARED = "_declared.json"  # the declared identifiers and attributes the parts hold


def prepare_parquet(
    source: str | Path,
    directory: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    date_order: DateOrder = "auto",
    chunk_rows: int = 200_000,
    identifiers: Identifiers | None = None,
    attributes: Sequence[str | AttributeSpec] | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> DataQuality:
    """Standardise a CSV or Parquet file into ``directory`` as prepared Parquet parts.

    Each part holds the prepared columns (``unique_id`` is the record id) of up to
    ``chunk_rows`` records, in input order; ``_quality.json`` holds the data-quality summary.
    Pass the directory to :func:`dedupe` or :func:`link` in place of the records (on Spark
    the executors read the parts in parallel), or read the parts with
    ``spark.read.parquet(directory)`` or DuckDB's ``read_parquet('directory/*.parquet')``.

    Args:
        source: a ``.csv`` or ``.parquet`` file with a ``record_id`` column.
        directory: where to write the parts; created if missing, and must hold no parts.
        columns: input column name -> standard column name, as for :func:`dedupe`.
        date_order: how to read ambiguous numeric dates; under ``auto`` each source's order
            is detected from its unambiguous values chunk by chunk, and a chunk whose values
            show none takes the order an earlier chunk showed.
        chunk_rows: records per chunk (and per part), at least 1,000; memory use is about
            2 KB per record of a chunk.
        identifiers: declared identifiers, as for :func:`dedupe`; kept with the parts
            (``_declared.json``), so a run on the directory compares them.
        attributes: declared attributes, likewise.
        progress: called after each chunk with the records prepared so far and the input's
            total (known for Parquet from its metadata; ``None`` for CSV).

    Returns:
        The data-quality summary of the whole input.

    Raises:
        InputFileError: the file is missing, of an unknown type or empty.
        SchemaError: ``record_id`` is missing, blank or not unique across the input.
        ConfigError: ``chunk_rows`` is below 1,000, ``directory`` already holds parts, or a
            mapped column does not exist.
    """
    if chunk_rows < 1_000:
        msg = f"chunk_rows must be at least 1,000, got {chunk_rows}"
        raise ConfigError(msg)
    try:
        config = ReadConfig(columns=dict(columns or {}), date_order=date_order)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    path, out = Path(source), Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.glob(_PARTS)):
        msg = f"{out}: already holds prepared parts; give an empty directory"
        raise ConfigError(msg)
    quality: DataQuality | None = None
    declared = declared_schema(identifiers, attributes)
    schema = arrow_schema([*PREPARED_COLUMNS, *declared.prepared_columns])
    known: dict[str, ExplicitDateOrder] = {}
    first_row = 1
    total = _parquet_rows(path)
    for number, chunk in enumerate(_chunks(path, chunk_rows)):
        records = read_records(chunk, config, name=f"{path.name} (chunk {number + 1})")
        prepared, chunk_quality = prepare_records(
            records,
            date_order=config.date_order,
            schema=declared,
            known_orders=known,
            name=path.name,
            first_row=first_row,
        )
        first_row += len(records)
        dob = chunk_quality.columns.get("dob")
        known.update({s.source: s.date_order for s in dob.sources if s.detected} if dob else {})
        table = pa.Table.from_pandas(prepared, schema=schema, preserve_index=False)
        pq.write_table(table, out / _PART.format(number))
        quality = chunk_quality if quality is None else quality.combine(chunk_quality)
        logger.info("prepared chunk %d (%d records)", number + 1, len(prepared))
        if progress is not None:
            progress(first_row - 1, total)
    if quality is None:
        msg = f"{path.name}: has no records (only a header, or an empty table)"
        raise InputFileError(msg)
    _check_unique_ids(out, name=path.name)
    (out / _DECLARED).write_text(declared.model_dump_json(indent=2), encoding="utf-8")
    (out / _QUALITY).write_text(quality.model_dump_json(indent=2), encoding="utf-8")
    return quality


def is_prepared_directory(source: Any) -> bool:
    """Whether ``source`` is a path to a directory (of :func:`prepare_parquet` output)."""
    return isinstance(source, str | Path) and Path(source).is_dir()


def read_prepared(directory: str | Path) -> tuple[pd.DataFrame, DataQuality]:
    """The prepared records of a :func:`prepare_parquet` directory, and its quality summary.

    Raises:
        InputFileError: the directory is not a complete preparation (no parts, no
            ``_quality.json``) or its parts lack prepared columns.
    """
    path = Path(directory)
    parts = sorted(path.glob(_PARTS))
    if not parts or not (path / _QUALITY).is_file():
        msg = (
            f"{path}: not a directory of prepared records (part-*.parquet and _quality.json, "
            "written by identmatch.prepare_parquet); give a CSV or Parquet file, or prepare "
            "the records first"
        )
        raise InputFileError(msg)
    quality = DataQuality.model_validate_json((path / _QUALITY).read_text(encoding="utf-8"))
    schema = arrow_schema([*PREPARED_COLUMNS, *prepared_schema(path).prepared_columns])
    try:
        table = pq.read_table(path, schema=schema)
    except (pa.ArrowInvalid, OSError) as exc:
        msg = f"{path}: its parts are not identmatch's prepared columns ({exc})"
        raise InputFileError(msg) from exc
    # Python values, None for missing and lists for list columns, as prepare_records gives
    # (pandas would make NaN-holding string columns and numpy arrays).
    frame = pd.DataFrame(
        {name: pd.Series(table.column(name).to_pylist(), dtype=object) for name in schema.names}
    )
    return frame, quality


def prepared_schema(directory: str | Path) -> DeclaredSchema:
    """The declared identifiers and attributes a :func:`prepare_parquet` directory holds.

    Directories prepared before there were declared columns hold none.
    """
    path = Path(directory) / _DECLARED
    if not path.is_file():
        return DeclaredSchema()
    return DeclaredSchema.model_validate_json(path.read_text(encoding="utf-8"))


def prepared_parts(directory: str | Path) -> str:
    """The glob of the parts in ``directory``, for Spark or DuckDB to read."""
    return str(Path(directory) / _PARTS)


def _parquet_rows(path: Path) -> int | None:
    """A Parquet file's number of records, from its metadata; None for other files."""
    if path.suffix.lower() not in {".parquet", ".pq"} or not path.is_file():
        return None
    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (pa.ArrowInvalid, OSError):
        return None  # _chunks says what is wrong with it


def _chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The file's records, ``chunk_rows`` at a time, every value read as text."""
    if not path.is_file():
        msg = f"{path}: no such file"
        raise InputFileError(msg)
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        try:
            parquet = pq.ParquetFile(path)
            check_parquet_columns(path, parquet.schema_arrow)
        except (pa.ArrowInvalid, OSError) as exc:
            msg = f"{path.name}: not a readable Parquet file"
            raise InputFileError(msg) from exc
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
        return
    if suffix not in {".csv", ".tsv", ".txt"}:
        msg = f"{path.name}: unknown file type {suffix or '(none)'}; use .csv or .parquet"
        raise InputFileError(msg)
    # The same reading rules as read_records: text only, and only an empty cell is missing
    # ("NA" and "Null" can be real names).
    check_column_count(path, "\t" if suffix == ".tsv" else ",")
    try:
        reader: Any = pd.read_csv(
            path,
            sep="\t" if suffix == ".tsv" else ",",
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            encoding="utf-8-sig",
            chunksize=chunk_rows,
        )
        with reader:
            yield from reader
    except pd.errors.EmptyDataError as exc:
        msg = f"{path.name}: the file is empty or has no header row"
        raise InputFileError(msg) from exc
    except UnicodeDecodeError as exc:
        msg = f"{path.name}: not UTF-8 text; re-save the file as UTF-8"
        raise InputFileError(msg) from exc


def _check_unique_ids(directory: Path, *, name: str) -> None:
    import duckdb

    connection = duckdb.connect()
    try:
        row = connection.execute(
            "SELECT count(*), count(DISTINCT unique_id) FROM read_parquet(?)",
            [prepared_parts(directory)],
        ).fetchone()
    finally:
        connection.close()
    total, distinct = (int(row[0]), int(row[1])) if row is not None else (0, 0)
    if total != distinct:
        msg = (
            f"{name}: record_id must be unique; {total - distinct} record(s) repeat an id "
            "of an earlier chunk"
        )
        raise SchemaError(msg)
