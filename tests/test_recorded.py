"""The date each record was recorded: read like a date of birth, kept by the index, shown.

``recorded`` is never compared: a dedupe with and without it gives the same pairs and
entities. The index keeps it per record (a file from before gains it, empty), and
``Index.entity`` and ``Index.export`` carry it; ``identmatch index build`` reads it from a CSV.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import identmatch
from identmatch._exceptions import ConfigError, IdentMatchError
from identmatch._prepare.read import read_records
from identmatch._prepare.records import PREPARED_COLUMNS, prepare_records
from identmatch._prepare.unused import looks_like, unused_columns
from identmatch.testing import generate_records


def _prepared(frame: pd.DataFrame, **kw: object) -> tuple[pd.DataFrame, identmatch.DataQuality]:
    config = identmatch.ReadConfig(columns=kw.pop("columns", {}))  # type: ignore[arg-type]
    return prepare_records(read_records(frame, config), **kw)  # type: ignore[arg-type]


class TestReading:
    def test_each_source_in_its_own_order_and_the_quality_counted(self) -> None:
        """Day-first and month-first sources each read in the order their dates show; a value
        that is no date, or after today, is unread and counted with its row; blank is missing."""
        late = [f"{day}/12/2023" for day in range(25, 30)]  # five dates that show day-first
        uk = ["03/04/2024", *late, "", "next week"]
        us = ["04/03/2024", *(f"12/{d[:2]}/2023" for d in late), "2999-12-31 ", "3 March 2024"]
        frame = pd.DataFrame(
            {
                "record_id": [f"r{i}" for i in range(16)],
                "source": ["uk"] * 8 + ["us"] * 8,
                "surname": ["Lee"] * 16,
                "Date Recorded": uk + us,
            }
        )
        prepared, quality = _prepared(frame, columns={"Date Recorded": "recorded"})
        december = [f"2023-12-{day}" for day in range(25, 30)]
        assert prepared["recorded"].tolist() == [
            *("2024-04-03", *december, None, None),
            *("2024-04-03", *december, None, "2024-03-03"),
        ]
        counted = quality.columns["recorded"]
        assert (counted.missing, counted.invalid, counted.placeholder) == (1, 1, 1)
        by_source = {s.source: s for s in counted.sources}
        assert (by_source["uk"].date_order, by_source["us"].date_order) == ("DMY", "MDY")
        assert by_source["uk"].unread_rows == (8,)
        assert {"column": "recorded", "missing": 1, "invalid": 1}.items() <= next(
            r for r in quality.as_rows() if r["column"] == "recorded"
        ).items()

    def test_a_source_with_only_ambiguous_dates_follows_its_dates_of_birth(self) -> None:
        """04/03/2024 says nothing of its order; the source's dates of birth are month-first."""
        frame = pd.DataFrame(
            {
                "record_id": list("abcde"),
                "source": ["us"] * 5,
                "dob": ["12/25/1980", "01/31/1975", "02/14/1990", "03/30/1961", "11/21/2001"],
                "recorded": ["04/03/2024", "05/06/2023", "", "", ""],
            }
        )
        prepared, quality = _prepared(frame)
        assert prepared["recorded"].tolist() == ["2024-04-03", "2023-05-06", None, None, None]
        assert quality.columns["recorded"].sources[0].date_order == "MDY"
        explicit, _ = _prepared(frame, date_order="DMY")
        assert explicit["recorded"].tolist()[:2] == ["2024-03-04", "2023-06-05"]

    def test_partial_dates_and_date_objects(self) -> None:
        """Only a full date is kept (a year alone is partial); Parquet's dates are read too."""
        frame = pd.DataFrame(
            {
                "record_id": ["a", "b", "c"],
                "recorded": ["2024", pd.Timestamp("2024-03-03 10:15"), None],
            }
        )
        prepared, quality = _prepared(frame)
        assert prepared["recorded"].tolist() == [None, "2024-03-03", None]
        assert (quality.columns["recorded"].partial, quality.columns["recorded"].missing) == (1, 1)

    def test_without_the_column_nothing_changes(self) -> None:
        frame = pd.DataFrame({"record_id": ["a"], "surname": ["Lee"], "dob": ["1980-01-02"]})
        prepared, quality = _prepared(frame)
        assert tuple(prepared.columns) == PREPARED_COLUMNS
        assert "recorded" not in quality.columns

    def test_common_names_are_suggested_and_mapped(self) -> None:
        """``date_recorded``, ``Last Updated`` ... look like ``recorded``; a mapping to it is
        allowed; a declared column may not take its name."""
        for name in ("date_recorded", "Last Updated", "date_modified", "recorded_on"):
            assert looks_like(name) == "recorded", name
        assert unused_columns(["record_id", "last_updated"]) == {"last_updated": "recorded"}
        assert unused_columns(["record_id", "recorded"]) == {}
        assert identmatch.ReadConfig(columns={"updated": "recorded"}).columns
        with pytest.raises(ValueError, match="recorded"):
            identmatch.ReadConfig(columns={"x": "recorded_date"})
        frame = pd.DataFrame({"record_id": ["a"], "surname": ["Lee"], "recorded": ["1/2/2024"]})
        with pytest.raises((ConfigError, IdentMatchError, ValueError), match="recorded"):
            identmatch.dedupe(frame, attributes=["recorded"])


def _with_recorded(records: pd.DataFrame) -> pd.DataFrame:
    days = pd.Series(range(len(records))) % 900
    dates = pd.Timestamp("2022-01-01") + pd.to_timedelta(days, unit="D")
    return records.assign(recorded=[d.strftime("%d/%m/%Y") for d in dates])


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return generate_records(400, seed=21).drop(columns=["error_type", "hard_negative"])


def test_not_a_matching_field(records: pd.DataFrame) -> None:
    """The same model, pairs, scores and entities with and without the dates recorded."""
    without = identmatch.dedupe(records)
    with_dates = identmatch.dedupe(_with_recorded(records))
    assert with_dates.model == without.model
    pd.testing.assert_frame_equal(with_dates.pairs, without.pairs)
    entities = with_dates.entities
    pd.testing.assert_frame_equal(entities.drop(columns=["recorded"]), without.entities)
    assert entities["recorded"].str.fullmatch(r"\d\d/\d\d/\d{4}").all()  # passed through
    assert "recorded" in with_dates.quality.columns


class TestIndex:
    def test_build_add_upsert_entity_and_export_carry_it(
        self, records: pd.DataFrame, tmp_path: Path
    ) -> None:
        given = _with_recorded(records)
        given.loc[given.index[1], "recorded"] = ""
        with identmatch.Index.build(given, tmp_path / "i.duckdb") as index:
            exported = index.export().set_index("record_id")
            assert exported.loc[given["record_id"].iloc[0], "recorded"] == "2022-01-01"
            assert pd.isna(exported.loc[given["record_id"].iloc[1], "recorded"])
            assert exported.loc[given["record_id"].iloc[2], "recorded"] == "2022-01-03"
            entity_id = exported.loc[given["record_id"].iloc[0], "entity_id"]
            shown = index.entity(entity_id).set_index("record_id")
            assert shown.loc[given["record_id"].iloc[0], "recorded"] == "2022-01-01"
            new = records.iloc[:1].assign(record_id="NEW-1", recorded="3 March 2024")
            index.add(new)
            assert index.export().set_index("record_id").loc["NEW-1", "recorded"] == "2024-03-03"
            index.upsert(new.assign(recorded="2025-01-31"))
            assert index.export().set_index("record_id").loc["NEW-1", "recorded"] == "2025-01-31"
            index.upsert(new.drop(columns=["recorded"]))
            assert pd.isna(index.export().set_index("record_id").loc["NEW-1", "recorded"])

    def test_a_file_from_before_opens_with_the_dates_empty(
        self, records: pd.DataFrame, tmp_path: Path
    ) -> None:
        """A file written before the column existed opens read-only as it is, and gains the
        column, empty, when opened writable; records added then keep their dates."""
        path = tmp_path / "old.duckdb"
        identmatch.Index.build(records.iloc[:200], path).close()
        connection = duckdb.connect(str(path))
        connection.execute("ALTER TABLE records DROP COLUMN recorded")
        connection.close()
        with identmatch.Index.open(path, read_only=True) as old:
            exported = old.export()
            assert exported["recorded"].isna().all()
            assert old.entity(exported["entity_id"].iloc[0])["recorded"].isna().all()
        with identmatch.Index.open(path) as opened:
            assert opened.export()["recorded"].isna().all()
            opened.add(records.iloc[200:201].assign(recorded="2024-03-03"))
            last = opened.export().iloc[-1]
            assert (last["record_id"], last["recorded"]) == (
                records["record_id"].iloc[200],
                "2024-03-03",
            )


def test_index_build_reads_it_from_a_csv(records: pd.DataFrame, tmp_path: Path) -> None:
    """The installed command, a mapped ``Date Recorded`` column with one bad value."""
    given = _with_recorded(records.iloc[:150]).rename(columns={"recorded": "Date Recorded"})
    given.loc[given.index[5], "Date Recorded"] = "unknown"
    given.to_csv(tmp_path / "people.csv", index=False)
    command = Path(sys.executable).with_name("identmatch")
    built = subprocess.run(
        [
            *(str(command), "index", "build", "people.csv", "--index", "k.duckdb"),
            *("--map", "Date Recorded=recorded"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert "recorded: 1 of 150 values not read as dates" in built.stderr
    assert "unknown" not in built.stdout + built.stderr
    with identmatch.Index.open(tmp_path / "k.duckdb", read_only=True) as index:
        exported = index.export()
    assert exported["recorded"].iloc[0] == "2022-01-01"
    assert exported["recorded"].notna().sum() == 149
    hinted = subprocess.run(
        [str(command), "index", "build", "people.csv", "--index", "h.duckdb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert hinted.returncode == 0, hinted.stderr
    assert "--map 'Date Recorded=recorded'" in hinted.stderr
