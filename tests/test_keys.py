"""Blocking keys: the SQL that stores an index's keys agrees with the Python for a query."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from identmatch._candidates.blocking import DEFAULT_BLOCKING_RULES
from identmatch._candidates.keys import key_hash, keys_sql, record_keys
from identmatch._prepare.arrow import arrow_schema
from identmatch._prepare.records import PREPARED_COLUMNS, prepare_records
from identmatch.testing import generate_records


@pytest.fixture(scope="module")
def prepared() -> pd.DataFrame:
    raw = generate_records(600, seed=31).drop(columns=["error_type", "hard_negative", "person_id"])
    frame, _ = prepare_records(raw, date_order="DMY")
    return frame.reset_index(drop=True)


@pytest.mark.parametrize(
    ("rules", "keys_per_record"),
    [
        pytest.param(DEFAULT_BLOCKING_RULES, 5, id="default-rules"),
        pytest.param(
            (("name_keys[]", "surname_parts[]"), ("surname_parts[]", "dob_year", "name_keys[]")),
            2,
            id="two-list-columns",
        ),
    ],
)
def test_sql_keys_equal_python_keys(
    prepared: pd.DataFrame, rules: tuple[tuple[str, ...], ...], keys_per_record: int
) -> None:
    """For every record and rule (lists exploded, missing parts skipped) the same key hashes;
    a rule with two list columns gives every combination of their elements."""
    columns = [c for c in PREPARED_COLUMNS if c != "unique_id"]
    table = pa.Table.from_pandas(
        prepared[columns], schema=arrow_schema(columns), preserve_index=False
    )
    table = table.append_column("seq", pa.array(range(len(prepared)), pa.int64()))
    connection = duckdb.connect()
    connection.register("arrow_records", table)
    connection.execute("CREATE TABLE records AS SELECT * FROM arrow_records")
    found = connection.execute(
        f"SELECT seq, key_hash FROM ({keys_sql(rules, 'records')})"
    ).fetchall()
    in_sql = {(int(seq), int(h)) for seq, h in found}
    assert len(in_sql) == len(found)  # no key twice for one record
    in_python = {
        (seq, key_hash(key))
        for seq, record in enumerate(prepared.to_dict("records"))
        for key in record_keys(record, rules)
    }
    assert in_sql == in_python
    assert len(in_python) > keys_per_record * len(prepared)  # many keys fire per record


def test_min_seq_keeps_only_later_rows(prepared: pd.DataFrame) -> None:
    """Keys of the rows an add wrote, and no others."""
    connection = duckdb.connect()
    connection.execute("CREATE TABLE records (seq BIGINT, nhs_std VARCHAR)")
    connection.executemany("INSERT INTO records VALUES (?, ?)", [(0, "a"), (1, "b"), (2, "")])
    found = connection.execute(keys_sql((("nhs_std",),), "records", min_seq=1)).fetchall()
    assert found == [(1, key_hash("0\x1fb"))]


def test_key_hash_is_unsigned_64_bit() -> None:
    """Hashes fit DuckDB's UBIGINT and differ for different keys."""
    values = {key_hash(f"0\x1f{i}") for i in range(1000)}
    assert len(values) == 1000
    assert all(0 <= v < 2**64 for v in values)
