"""Reading inputs: formats, mapping, and the errors users meet."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

import identmatch
from identmatch._config import ReadConfig
from identmatch._prepare.read import read_records


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


class TestFormats:
    def test_csv_values_are_text_and_blank_is_missing(self, tmp_path: Path) -> None:
        """CSV cells are read as text; an empty cell is missing and "NA" stays a name."""
        path = _write(tmp_path / "p.csv", "record_id,forename,surname\n1,Na,\n2, Ann ,Lee\n")
        frame = read_records(path)
        assert frame["record_id"].tolist() == ["1", "2"]
        assert frame["forename"].tolist() == ["Na", "Ann"]
        assert frame["surname"].tolist()[0] is None

    def test_parquet_with_list_aliases(self, tmp_path: Path) -> None:
        """Parquet is read, and a list column of aliases stays a list."""
        path = tmp_path / "p.parquet"
        pd.DataFrame({"record_id": ["a", "b"], "aliases": [["Jo Bloggs"], []]}).to_parquet(path)
        frame = read_records(path)
        assert frame["aliases"].tolist() == [["Jo Bloggs"], []]

    def test_csv_aliases_split_on_semicolon(self, tmp_path: Path) -> None:
        """A text aliases cell is split on ';' and blank parts dropped."""
        path = _write(tmp_path / "p.csv", 'record_id,aliases\n1,"Jo Bloggs; Joe Blogs;"\n2,\n')
        frame = read_records(path)
        assert frame["aliases"].tolist() == [["Jo Bloggs", "Joe Blogs"], []]

    def test_duckdb_relation(self) -> None:
        """A DuckDB relation is accepted as input."""
        con = duckdb.connect()
        relation = con.sql("SELECT 'x1' AS record_id, 'Smith' AS surname")
        assert read_records(relation)["record_id"].tolist() == ["x1"]

    def test_header_whitespace_is_stripped(self, tmp_path: Path) -> None:
        """Column names with stray spaces (as in FEBRL) are matched after stripping."""
        path = _write(tmp_path / "p.csv", "record_id, surname\n1, Smith\n")
        assert read_records(path)["surname"].tolist() == ["Smith"]

    def test_other_columns_pass_through(self, tmp_path: Path) -> None:
        """Columns identmatch does not know are kept untouched."""
        path = _write(tmp_path / "p.csv", "record_id,case_ref\n1,C-001\n")
        assert read_records(path)["case_ref"].tolist() == ["C-001"]


class TestMapping:
    def test_mapping_renames(self, tmp_path: Path) -> None:
        """A mapping renames input columns to standard ones."""
        path = _write(tmp_path / "p.csv", "id,given\n1,Ann\n")
        config = ReadConfig(columns={"id": "record_id", "given": "forename"})
        assert read_records(path, config).columns.tolist() == ["record_id", "forename"]

    def test_several_columns_join_into_address(self, tmp_path: Path) -> None:
        """Several input columns mapped to address are joined with a space, in order."""
        path = _write(tmp_path / "p.csv", "record_id,no,street\n1,7,High St\n2,,Low Rd\n")
        config = ReadConfig(columns={"no": "address", "street": "address"})
        assert read_records(path, config)["address"].tolist() == ["7 High St", "Low Rd"]

    def test_unknown_source_column_is_named_with_the_one_meant(self, tmp_path: Path) -> None:
        """Mapping a column the input lacks names it, the standard columns there, and the
        column of the header row closest to it ("did you mean")."""
        path = _write(tmp_path / "p.csv", "record_id,given_name,nick\n1,Ann,Annie\n")
        with pytest.raises(
            identmatch.ConfigError,
            match=r"given_nme.*did you mean --map given_name=forename\?; it has record_id, and "
            r"2 other column\(s\), not ",
        ) as raised:
            read_records(path, ReadConfig(columns={"given_nme": "forename"}))
        assert "nick" not in str(raised.value)

    def test_headerless_file_names_no_column_but_standard_ones(self, tmp_path: Path) -> None:
        """Without a header row (no record_id column) the "columns" are a person's values:
        other column names are only counted, and none is suggested."""
        path = _write(tmp_path / "p.csv", "1,Anne,Smith\n2,Bob,Jones\n")
        with pytest.raises(
            identmatch.ConfigError, match=r"ann.*it has no standard column, and 3 other column"
        ) as raised:
            read_records(path, ReadConfig(columns={"ann": "forename"}))
        message = str(raised.value).replace("ann", "")
        assert "Anne" not in message
        assert "Smith" not in message
        assert "did you mean" not in message

    def test_unknown_target_column_is_refused(self) -> None:
        """Mapping onto a non-standard column is refused with the allowed list."""
        with pytest.raises(ValueError, match="not a standard column"):
            ReadConfig(columns={"given": "first_name"})

    def test_two_columns_onto_dob_are_refused(self) -> None:
        """Only free-text columns may be joined from several inputs."""
        with pytest.raises(ValueError, match="several input columns map to 'dob'"):
            ReadConfig(columns={"a": "dob", "b": "dob"})


class TestErrors:
    def test_missing_record_id(self, tmp_path: Path) -> None:
        """No record_id column: the error names the standard columns and suggests --map."""
        path = _write(tmp_path / "p.csv", "id,surname\n1,Smith\n")
        with pytest.raises(
            identmatch.SchemaError,
            match=r"no 'record_id' column; the input has surname, and 1 other column.*--map",
        ):
            read_records(path)

    def test_duplicate_record_ids_give_count_and_ids_not_values(self, tmp_path: Path) -> None:
        """Duplicate ids: the count and first ids are named, no names are quoted."""
        path = _write(
            tmp_path / "p.csv", "record_id,surname\nA,Zebedee\nA,Zebedee\nB,Q\nB,Q\nC,Q\n"
        )
        with pytest.raises(
            identmatch.SchemaError, match=r"2 id\(s\) appear more than once, e.g. A, B"
        ) as info:
            read_records(path)
        assert "Zebedee" not in str(info.value)

    def test_blank_record_id_names_the_row(self, tmp_path: Path) -> None:
        """A blank record_id is reported with its row number."""
        path = _write(tmp_path / "p.csv", "record_id,surname\n1,Smith\n,Jones\n")
        with pytest.raises(
            identmatch.SchemaError, match=r"1 record\(s\) have a blank record_id.*row\(s\) 3"
        ):
            read_records(path)

    def test_empty_file(self, tmp_path: Path) -> None:
        """A zero-byte file is an InputFileError saying it is empty."""
        path = _write(tmp_path / "p.csv", "")
        with pytest.raises(identmatch.InputFileError, match="the file is empty"):
            read_records(path)

    def test_header_only(self, tmp_path: Path) -> None:
        """A header without records is an InputFileError."""
        path = _write(tmp_path / "p.csv", "record_id,surname\n")
        with pytest.raises(identmatch.InputFileError, match="has no records"):
            read_records(path)

    def test_not_csv_or_parquet(self, tmp_path: Path) -> None:
        """An .xlsx (or any other suffix) is refused, naming the allowed types."""
        path = _write(tmp_path / "p.xlsx", "record_id\n1\n")
        with pytest.raises(
            identmatch.InputFileError, match=r"unknown file type \.xlsx; use \.csv or \.parquet"
        ):
            read_records(path)

    def test_damaged_parquet(self, tmp_path: Path) -> None:
        """A .parquet file that is not Parquet is an InputFileError."""
        path = _write(tmp_path / "p.parquet", "record_id\n1\n")
        with pytest.raises(identmatch.InputFileError, match="not a readable Parquet file"):
            read_records(path)

    def test_non_utf8_names_the_line_not_the_text(self, tmp_path: Path) -> None:
        """Latin-1 bytes are refused with their line number and without the value."""
        path = tmp_path / "p.csv"
        path.write_bytes("record_id,surname\n1,Smith\n2,Mu\xf1oz\n".encode("latin-1"))
        with pytest.raises(identmatch.InputFileError, match="line 3 is not UTF-8") as info:
            read_records(path)
        assert "Mu" not in str(info.value)

    def test_missing_file(self, tmp_path: Path) -> None:
        """A path that does not exist is an InputFileError."""
        with pytest.raises(identmatch.InputFileError, match="no such file"):
            read_records(tmp_path / "nope.csv")

    def test_unreadable_type(self) -> None:
        """An object that is not a table is refused with what is accepted."""
        with pytest.raises(identmatch.InputFileError, match="cannot read a int"):
            read_records(42)
