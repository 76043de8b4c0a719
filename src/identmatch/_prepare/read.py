"""Read person records from a DataFrame, a CSV or Parquet file, or a DuckDB relation.

Reading renames mapped columns to the standard names, checks ``record_id`` and returns a
pandas DataFrame of text columns (``aliases`` as lists). Nothing is standardised here.
"""

from __future__ import annotations

import csv
import logging
import re
import shlex
from pathlib import Path
from typing import Any

import pandas as pd

from identmatch._config import INPUT_COLUMNS, STANDARD_COLUMNS, ReadConfig
from identmatch._exceptions import InputFileError, SchemaError
from identmatch._prepare.values import is_missing, to_text
from identmatch._types import RECORD_ID_CHARACTERS, RECORD_ID_MAX_LENGTH

__all__ = [
    "FIELD_LIMIT",
    "MAX_COLUMNS",
    "check_column_count",
    "check_id_characters",
    "check_parquet_columns",
    "read_records",
]

logger = logging.getLogger("identmatch")

_CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
_PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
_MAX_IDS_IN_MESSAGE = 5
_BAD_ID = re.compile(f"[^{RECORD_ID_CHARACTERS}]")

MAX_COLUMNS = 1_000
"""Most columns an input file may have; a wider file is refused before any row is read."""

FIELD_LIMIT = csv.field_size_limit()
"""Most characters in one CSV field (the csv module's limit, 131,072); a longer field is refused."""


def read_records(
    source: Any, config: ReadConfig | None = None, *, name: str = "input"
) -> pd.DataFrame:
    """Read ``source`` into a DataFrame with standard column names.

    Args:
        source: a pandas DataFrame, a path to a CSV or Parquet file, or a DuckDB relation.
        config: column mapping, date order and alias separator.
        name: what to call this input in messages ("left", a file name, ...).

    Returns:
        A new DataFrame: standard columns as text (``aliases`` as lists of text), other
        columns untouched, ``record_id`` present, unique and never blank.

    Raises:
        InputFileError: the file is missing, of an unknown format, not UTF-8 or empty.
        SchemaError: ``record_id`` is missing, blank, duplicated, over 200 characters or
            has a character other than letters, digits and ``. _ : -``.
        ConfigError: a mapped column does not exist.
    """
    config = config or ReadConfig()
    frame = _load(source, name=name)
    frame = _apply_mapping(frame, config, name=name)
    if frame.empty:
        msg = f"{name}: has no records (only a header, or an empty table)"
        raise InputFileError(msg)
    _check_record_ids(frame, name=name)
    frame = _as_text(frame, config)
    logger.info("read %d records from %s", len(frame), name)
    return frame


def _load(source: Any, *, name: str) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    elif isinstance(source, str | Path):
        frame = _load_file(Path(source))
    elif hasattr(source, "df") and hasattr(source, "columns"):  # a DuckDB relation
        frame = source.df()
    else:
        msg = (
            f"{name}: cannot read a {type(source).__name__}; pass a pandas DataFrame, a path "
            "to a .csv or .parquet file, or a DuckDB relation"
        )
        raise InputFileError(msg)
    frame.columns = [str(column).strip() for column in frame.columns]
    return frame


def _load_file(path: Path) -> pd.DataFrame:
    if not path.is_file():
        msg = f"{path}: no such file"
        raise InputFileError(msg)
    suffix = path.suffix.lower()
    if suffix in _CSV_SUFFIXES:
        return _load_csv(path)
    if suffix in _PARQUET_SUFFIXES:
        return _load_parquet(path)
    msg = f"{path.name}: unknown file type {suffix or '(none)'}; use .csv or .parquet"
    raise InputFileError(msg)


def _load_csv(path: Path) -> pd.DataFrame:
    if path.stat().st_size == 0:
        msg = f"{path.name}: the file is empty; expected a header row and records"
        raise InputFileError(msg)
    separator = "\t" if path.suffix.lower() == ".tsv" else ","
    check_column_count(path, separator)  # first: it reads the header line alone
    _check_utf8(path)
    _check_field_counts(path, separator)
    try:
        # Every value is text, and only an empty cell is missing: "NA" and "Null" can be
        # real names, so pandas' default NA spellings are switched off.
        return pd.read_csv(
            path,
            sep=separator,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError as exc:
        msg = f"{path.name}: the file has no header row"
        raise InputFileError(msg) from exc
    except pd.errors.ParserError as exc:
        msg = f"{path.name}: not a well-formed CSV file (rows have differing field counts)"
        raise InputFileError(msg) from exc


def _check_utf8(path: Path) -> None:
    """Fail on the first undecodable byte, naming its line, not its content."""
    decoder_line = 1
    with path.open("rb") as handle:
        for raw in handle:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                msg = (
                    f"{path.name}: line {decoder_line} is not UTF-8 text (byte offset "
                    f"{exc.start} in that line); re-save the file as UTF-8"
                )
                raise InputFileError(msg) from None
            decoder_line += 1


def check_column_count(path: Path, separator: str) -> None:
    """Fail when the header row has more than :data:`MAX_COLUMNS` columns, reading nothing else.

    pandas makes an object per column and cell: a file a million columns wide takes a
    minute and gigabytes to read before any other check could refuse it. The separators of
    the first line are counted as bytes (a separator inside quotes counts only when the line
    is too wide at first sight; then the quoted text is left out and they are counted again).
    """
    mark = separator.encode()
    with path.open("rb") as handle:
        line = bytearray()
        while block := handle.read(1 << 16):
            head, newline, _ = block.partition(b"\n")
            line += head  # a bytearray grows in place
            if newline:
                break
            if line.count(mark) >= MAX_COLUMNS and len(line) > 1 << 24:
                break  # 16 MiB of header and still going: the count so far will do
    if line.count(mark) < MAX_COLUMNS:
        return
    columns = _QUOTED.sub(b"", line).count(mark) + 1
    if columns > MAX_COLUMNS:
        many = f"{columns:,}" if len(line) <= 1 << 24 else f"over {columns:,}"
        msg = (
            f"{path.name}: the header row has {many} columns; at most {MAX_COLUMNS:,} are "
            "read (keep the columns to match on and drop the others)"
        )
        raise InputFileError(msg)


def check_parquet_columns(path: Path, schema: Any) -> None:
    """Fail when a Parquet file's schema has more than :data:`MAX_COLUMNS` columns."""
    if len(schema.names) > MAX_COLUMNS:
        msg = (
            f"{path.name}: the file has {len(schema.names):,} columns; at most "
            f"{MAX_COLUMNS:,} are read (keep the columns to match on and drop the others)"
        )
        raise InputFileError(msg)


_QUOTED = re.compile(rb'"(?:[^"]|"")*"')


def _check_field_counts(path: Path, separator: str) -> None:
    """Fail on the first row whose field count differs from the header's, naming its line,
    and on the first field over :data:`FIELD_LIMIT` characters, naming its line and column.

    pandas fills a short row's missing fields from the right and, when every row has one
    field more than the header, reads the first as an index: either way values land in the
    wrong columns without a word.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=separator, skipinitialspace=True)
        try:
            header = next(reader, None)
            if header is None:
                return
            expected = len(header)
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line: skipped by the reader too
                if len(row) != expected:
                    msg = (
                        f"{path.name}: line {reader.line_num} has {len(row)} field(s) but the "
                        f"header has {expected}; fix that row (a missing separator or an "
                        "unquoted comma) so that no value lands in the wrong column"
                    )
                    raise InputFileError(msg)
        except csv.Error:
            raise _field_too_long(path, separator) from None


def _field_too_long(path: Path, separator: str) -> InputFileError:
    """The error for the first field over :data:`FIELD_LIMIT` characters: its line and column.

    The csv module's error names neither, so the file is read again, without the limit, up
    to that field (only when there is one). Only the column's name is quoted, and only if it
    is a standard column (the header might be a person's values).
    """
    old = csv.field_size_limit(2**31 - 1)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter=separator, skipinitialspace=True)
            header = next(reader, [])
            long = [n for n, f in enumerate(header, 1) if len(f) > FIELD_LIMIT]
            line, number = (1, long[0]) if long else (0, 0)
            if not number:
                for row in reader:
                    long = [n for n, f in enumerate(row, 1) if len(f) > FIELD_LIMIT]
                    if long:
                        line, number = reader.line_num, long[0]
                        break
    except csv.Error:  # pragma: no cover - another malformation; say what the reader said
        line, number, header = 0, 0, []
    finally:
        csv.field_size_limit(old)
    if not number:
        return InputFileError(f"{path.name}: not a well-formed CSV file")
    name = header[number - 1] if line > 1 and number <= len(header) else ""
    column = f"column {number}" + (f" ({name})" if name in STANDARD_COLUMNS else "")
    return InputFileError(
        f"{path.name}: line {line}, {column} has a value over {FIELD_LIMIT:,} characters "
        "long, the most a field may hold; is a quote left open?"
    )


def _describe_columns(columns: list[str]) -> str:
    """The standard columns among ``columns`` by name, the others by count only.

    A file without a header row has its first record as column names: naming them all
    would put a person's name, date of birth or NHS number in an error message.
    """
    known = [c for c in columns if c in STANDARD_COLUMNS]
    others = len(columns) - len(known)
    text = ", ".join(known) if known else "no standard column"
    if others:
        text += (
            f", and {others} other column(s), not named here (if the header row is "
            "missing, they are a person's values)"
        )
    return text


def _load_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        check_parquet_columns(path, pq.read_schema(path))
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        msg = f"{path.name}: not a readable Parquet file"
        raise InputFileError(msg) from exc
    frame: pd.DataFrame = table.to_pandas()
    return frame


def _apply_mapping(frame: pd.DataFrame, config: ReadConfig, *, name: str) -> pd.DataFrame:
    if not config.columns:
        return frame
    from identmatch._exceptions import ConfigError

    missing = [column for column in config.columns if column not in frame.columns]
    if missing:
        from identmatch._prepare.unused import close_column

        columns = [str(c) for c in frame.columns]
        available = _describe_columns(columns)
        # A column is suggested by name only under a real header row: one with record_id
        # (or the column mapped to it). Without one, the "columns" are a person's values.
        header = "record_id" in columns or any(
            config.columns.get(c) == "record_id" for c in columns
        )
        meant = [(m, close_column(m, columns) if header else None) for m in missing]
        hints = "".join(
            f"; did you mean --map {shlex.quote(f'{close}={config.columns[typo]}')}?"
            for typo, close in meant
            if close
        )
        msg = (
            f"{name}: --map names column(s) {', '.join(missing)} that the input does not "
            f"have{hints}; it has {available}"
        )
        raise ConfigError(msg)
    groups: dict[str, list[str]] = {}
    for source_column, target in config.columns.items():
        groups.setdefault(target, []).append(source_column)
    for target, sources in groups.items():
        if target in frame.columns and target not in sources:
            msg = (
                f"{name}: the input already has a {target!r} column, and the mapping maps "
                f"{', '.join(sources)} onto it too; map or rename one of them"
            )
            raise ConfigError(msg)
    out = frame.drop(columns=[c for c in config.columns if c not in groups])
    for target, sources in groups.items():
        if len(sources) == 1:
            out[target] = frame[sources[0]]
        else:
            parts = frame[sources].astype("string").fillna("")
            joined = parts.apply(lambda row: " ".join(v.strip() for v in row if v.strip()), axis=1)
            out[target] = joined.replace("", None)
    return out


def _check_record_ids(frame: pd.DataFrame, *, name: str) -> None:
    if "record_id" not in frame.columns:
        available = _describe_columns([str(c) for c in frame.columns])
        msg = (
            f"{name}: no 'record_id' column; the input has {available}. Rename the id column "
            "or map it, e.g. --map person_ref=record_id"
        )
        raise SchemaError(msg)
    ids = frame["record_id"]
    blank = ids.isna() | (ids.astype("string").str.strip() == "")
    if blank.any():
        rows = [str(i + 2) for i in blank.to_numpy().nonzero()[0][:_MAX_IDS_IN_MESSAGE]]
        msg = (
            f"{name}: {int(blank.sum())} record(s) have a blank record_id (first at data "
            f"row(s) {', '.join(rows)}, counting the header as row 1)"
        )
        raise SchemaError(msg)
    text_ids = ids.astype("string").str.strip()
    check_id_characters(text_ids, name=name, column="record_id")
    duplicated = text_ids[text_ids.duplicated(keep=False)]
    if not duplicated.empty:
        first = list(dict.fromkeys(duplicated.tolist()))[:_MAX_IDS_IN_MESSAGE]
        msg = (
            f"{name}: record_id must be unique; {duplicated.nunique()} id(s) appear more than "
            f"once, e.g. {', '.join(map(str, first))}"
        )
        raise SchemaError(msg)


def check_id_characters(ids: pd.Series, *, name: str, column: str) -> None:
    """Refuse record ids with a character outside ``[A-Za-z0-9._:-]`` or over the length cap.

    The message names the input, the column and the first data row (the header is row 1),
    never the id itself: a careless file may hold a name in its id column.
    """
    text = ids.astype("string")
    long = (text.str.len() > RECORD_ID_MAX_LENGTH).fillna(False).to_numpy(dtype=bool)
    bad = text.str.contains(_BAD_ID, regex=True).fillna(False).to_numpy(dtype=bool)
    if long.any() or bad.any():
        row = int((long | bad).nonzero()[0][0])
        what = (
            f"is over {RECORD_ID_MAX_LENGTH} characters"
            if long[row]
            else "has a character other than letters, digits and . _ : -"
        )
        msg = (
            f"{name}: {column} at data row {row + 2} (counting the header as row 1) {what}; "
            f"record ids may hold only A-Z a-z 0-9 . _ : - (at most "
            f"{RECORD_ID_MAX_LENGTH} characters)"
        )
        raise SchemaError(msg)


def _as_text(frame: pd.DataFrame, config: ReadConfig) -> pd.DataFrame:
    out = frame.copy()
    for column in INPUT_COLUMNS:
        if column not in out.columns:
            continue
        if column == "aliases":
            values: list[Any] = [_alias_list(v, config.alias_separator) for v in out[column]]
        elif column in ("dob", "recorded"):
            # Dates may arrive as datetime objects (Parquet); the standardiser reads both.
            values = [None if is_missing(v) else v for v in out[column]]
        else:
            values = [read_text(v) for v in out[column]]
        # object dtype keeps None as None (pandas 3's string dtype would turn it into NaN)
        out[column] = pd.Series(values, index=out.index, dtype=object)
    out["record_id"] = pd.Series(
        [str(v).strip() for v in out["record_id"]], index=out.index, dtype=object
    )
    return out


def read_text(value: Any) -> str | None:
    """A raw input value as text: missing or blank is None (see ``_prepare.values``)."""
    return to_text(value, strip=True)


def _alias_list(value: Any, separator: str) -> list[str]:
    if is_missing(value):
        return []
    if isinstance(value, str):
        items: list[Any] = value.split(separator)
    else:
        try:
            items = list(value)
        except TypeError:
            items = [value]
    return [text for item in items if (text := read_text(item))]
