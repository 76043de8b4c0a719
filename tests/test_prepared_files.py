"""Chunked preparation to Parquet: the same rows as one pass, memory bounded by the chunk."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import identmatch
from identmatch._prepare.read import read_records
from identmatch._prepare.records import prepare_records
from identmatch.testing import generate_records

COLUMNS = ["record_id", "forename", "middle_names", "surname", "aliases", "dob", "sex", "postcode"]


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return generate_records(2_500, seed=4)[COLUMNS]


def _one_pass(frame: pd.DataFrame) -> pd.DataFrame:
    prepared, _ = prepare_records(read_records(frame))
    return prepared


def _parts(directory: Path) -> pd.DataFrame:
    parts = sorted(directory.glob("part-*.parquet"))
    return pd.concat([pq.read_table(p).to_pandas() for p in parts], ignore_index=True)


def _as_lists(frame: pd.DataFrame) -> pd.DataFrame:
    """Lists and arrays compared as tuples, missing as None."""
    return (
        frame.map(lambda v: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str) else v)
        .astype(object)
        .where(frame.notna(), None)
    )


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_chunks_give_the_rows_of_one_pass(
    records: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    """Prepared parts, read back in order, equal preparing the whole input at once."""
    source = tmp_path / f"records{suffix}"
    if suffix == ".csv":
        records.assign(aliases=records["aliases"].map(";".join)).to_csv(source, index=False)
    else:
        records.to_parquet(source)
    quality = identmatch.prepare_parquet(source, tmp_path / "prepared", chunk_rows=1_000)
    parts = sorted((tmp_path / "prepared").glob("part-*.parquet"))
    assert len(parts) == 3
    whole = _one_pass(pd.read_parquet(source) if suffix == ".parquet" else records)
    pd.testing.assert_frame_equal(_as_lists(_parts(tmp_path / "prepared")), _as_lists(whole))
    assert quality.rows == len(records)


def test_ids_repeated_across_chunks_are_refused(records: pd.DataFrame, tmp_path: Path) -> None:
    """A record id seen in an earlier chunk fails the run, naming a count, not the id."""
    frame = records.copy()
    frame.loc[1_500, "record_id"] = frame.loc[10, "record_id"]
    source = tmp_path / "records.parquet"
    frame.to_parquet(source)
    with pytest.raises(identmatch.SchemaError, match="1 record"):
        identmatch.prepare_parquet(source, tmp_path / "prepared", chunk_rows=1_000)


def test_small_chunks_and_used_directories_are_refused(
    records: pd.DataFrame, tmp_path: Path
) -> None:
    """chunk_rows below 1,000 and a directory that already holds parts are config errors."""
    source = tmp_path / "records.parquet"
    records.to_parquet(source)
    with pytest.raises(identmatch.ConfigError, match="chunk_rows"):
        identmatch.prepare_parquet(source, tmp_path / "out", chunk_rows=10)
    identmatch.prepare_parquet(source, tmp_path / "out")
    with pytest.raises(identmatch.ConfigError, match="already holds"):
        identmatch.prepare_parquet(source, tmp_path / "out")


def test_missing_pyspark_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pyspark, backend='spark' fails with the pip command, as an ImportError."""
    import sys

    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(identmatch.MissingDependencyError, match=r"identmatch\[spark\]"):
        identmatch.dedupe(generate_records(20, seed=1), backend="spark")
    with pytest.raises(ImportError):
        identmatch.spark_session()


def test_unknown_backend_is_a_config_error() -> None:
    """backend takes 'duckdb', 'spark' or a SparkSession."""
    with pytest.raises(identmatch.ConfigError, match="backend"):
        identmatch.dedupe(generate_records(20, seed=1), backend="postgres")


class TestDedupeOfPreparedParts:
    def test_same_entities_as_the_raw_records(self, records: pd.DataFrame, tmp_path: Path) -> None:
        """dedupe of a prepared directory gives the raw records' pairs, entities and quality."""
        source = tmp_path / "records.parquet"
        records.to_parquet(source)
        identmatch.prepare_parquet(source, tmp_path / "prepared", chunk_rows=1_000)
        raw = identmatch.dedupe(records)
        parts = identmatch.dedupe(tmp_path / "prepared", model=raw.model)
        assert list(parts.entities.columns) == ["record_id", "entity_id"]
        expected = raw.entities.set_index("record_id")["entity_id"]
        got = parts.entities.set_index("record_id")["entity_id"].reindex(expected.index)
        assert (got == expected).all()
        pd.testing.assert_frame_equal(parts.pairs, raw.pairs)
        # The same counts; the parts' summary names the file they were prepared from.
        renamed = {
            "columns": {
                "__all__": {"sources": {"__all__": {"input"}}, "unread": {"__all__": {"input"}}}
            }
        }
        assert parts.quality.model_dump(exclude=renamed) == raw.quality.model_dump(exclude=renamed)
        assert {s.input for s in parts.quality.columns["dob"].sources} == {"records.parquet"}

    def test_incomplete_directory_is_refused(self, records: pd.DataFrame, tmp_path: Path) -> None:
        """A directory without a finished preparation (no _quality.json) is an input error."""
        (tmp_path / "prepared").mkdir()
        records.to_parquet(tmp_path / "prepared" / "part-00000.parquet")
        with pytest.raises(identmatch.InputFileError, match="prepare_parquet"):
            identmatch.dedupe(tmp_path / "prepared")

    def test_columns_with_prepared_parts_is_a_config_error(
        self, records: pd.DataFrame, tmp_path: Path
    ) -> None:
        """Column mapping belongs to prepare_parquet, so columns= with a directory is refused."""
        source = tmp_path / "records.parquet"
        records.to_parquet(source)
        identmatch.prepare_parquet(source, tmp_path / "prepared")
        with pytest.raises(identmatch.ConfigError, match="prepare_parquet"):
            identmatch.dedupe(tmp_path / "prepared", columns={"given": "forename"})
