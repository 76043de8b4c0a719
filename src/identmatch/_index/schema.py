"""The index file's tables: every table and column an index holds is declared here.

A new file gets :func:`new_file_sql` (meta, entities, merges, term frequencies, keys and
records with the prepared columns); what later versions added (the records' dates recorded,
splits, the audit trail, decisions and review pairs) is created by :func:`upgrade` in any file
opened writable, and by the build. ``FORMAT_VERSION`` changes only when a file must be
rebuilt to be read.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import duckdb

from identmatch._prepare.records import PREPARED_COLUMNS, is_list_column
from identmatch._sql import quote_identifier

__all__ = [
    "DISPLAY_COLUMNS",
    "FORMAT_VERSION",
    "ensure_audit_log",
    "ensure_review_tables",
    "ensure_split_log",
    "has_recorded",
    "new_file_sql",
    "upgrade",
]

FORMAT_VERSION = "3"  # 3: the candidate keys and their columns; 2: MD5 key hashes in SQL
DISPLAY_COLUMNS = ("source", "forename", "middle_names", "surname", "dob_given")

_CORE_SQL = """
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE entities (
    entity_id VARCHAR PRIMARY KEY, created_seq BIGINT NOT NULL, merged_into VARCHAR
);
CREATE TABLE merges (merged_at TIMESTAMP DEFAULT current_timestamp, kept VARCHAR, merged VARCHAR);
CREATE TABLE tf (column_name VARCHAR, value VARCHAR, n BIGINT, PRIMARY KEY (column_name, value));
CREATE TABLE keys (key_hash UBIGINT NOT NULL, seq BIGINT NOT NULL);
"""

_AUDIT_SQL = """
CREATE TABLE IF NOT EXISTS audit (
    audit_id BIGINT PRIMARY KEY,
    logged_at TIMESTAMP NOT NULL,
    key_id VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    purpose VARCHAR,
    fingerprint VARCHAR,
    entity_ids VARCHAR[],
    record_ids VARCHAR[],
    detail VARCHAR,
    chain VARCHAR
);
ALTER TABLE audit ADD COLUMN IF NOT EXISTS detail VARCHAR;
ALTER TABLE audit ADD COLUMN IF NOT EXISTS chain VARCHAR;
"""

_SPLITS_SQL = """
CREATE TABLE IF NOT EXISTS splits (
    split_at TIMESTAMP DEFAULT current_timestamp, entity_id VARCHAR, new_entity_id VARCHAR
);
"""


def ensure_split_log(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the ``splits`` table in an index file written before it existed."""
    connection.execute(_SPLITS_SQL)


_TABLES_SQL = """
CREATE TABLE IF NOT EXISTS decisions (
    decision_id BIGINT PRIMARY KEY, decided_at TIMESTAMP NOT NULL,
    record_id_l VARCHAR NOT NULL, record_id_r VARCHAR NOT NULL, decision VARCHAR NOT NULL,
    reason VARCHAR, decided_by VARCHAR, purpose VARCHAR
);
CREATE TABLE IF NOT EXISTS review_pairs (
    record_id_l VARCHAR NOT NULL, record_id_r VARCHAR NOT NULL,
    match_probability DOUBLE NOT NULL, match_weight DOUBLE NOT NULL
);
"""


_RECORDED_COLUMN = "recorded VARCHAR"
"""The date the source made or last updated each record (ISO), kept to show beside it; files
written before it existed get it, empty, when opened writable (:func:`upgrade`)."""


def has_recorded(connection: duckdb.DuckDBPyConnection) -> bool:
    """Tell whether the file's records keep their dates recorded (a file written before they
    did and opened read-only has no such column)."""
    described = connection.execute("SELECT * FROM records LIMIT 0").description or []
    return any(column[0] == "recorded" for column in described)


def _records_sql(declared: Sequence[str] = ()) -> str:
    columns = ["seq BIGINT PRIMARY KEY", "record_id VARCHAR UNIQUE NOT NULL", "entity_id VARCHAR"]
    columns += [f"{name} VARCHAR" for name in DISPLAY_COLUMNS]
    columns.append("aliases VARCHAR[]")
    columns.append(_RECORDED_COLUMN)
    for name in (*PREPARED_COLUMNS, *declared):
        if name != "unique_id":
            kind = "VARCHAR[]" if is_list_column(name) else "VARCHAR"
            columns.append(f"{quote_identifier(name)} {kind}")
    return "CREATE TABLE records (" + ", ".join(columns) + ");\n"


def new_file_sql(declared: Sequence[str] = ()) -> str:
    """The tables of a new index file, with ``declared`` columns in ``records``."""
    return _CORE_SQL + _records_sql(declared)


def ensure_audit_log(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the audit table and the fingerprint secret in an index file that lacks them."""
    connection.execute(_AUDIT_SQL)
    connection.execute(
        "INSERT INTO meta VALUES ('audit_key', ?) ON CONFLICT (key) DO NOTHING",
        [secrets.token_hex(32)],
    )


def ensure_review_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the decision and review tables in an index file written before they existed."""
    connection.execute(_TABLES_SQL)


def upgrade(connection: duckdb.DuckDBPyConnection) -> None:
    """Add the tables and columns later versions keep in the file (format 1 files may lack
    them; a record's date recorded is empty in a file written before it was kept)."""
    ensure_split_log(connection)
    ensure_audit_log(connection)
    ensure_review_tables(connection)
    connection.execute(f"ALTER TABLE records ADD COLUMN IF NOT EXISTS {_RECORDED_COLUMN}")
