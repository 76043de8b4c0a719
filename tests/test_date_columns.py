"""Tests for identmatch._prepare.date_columns: a column of dates of birth read as a whole.

Each source's date order is detected from its unambiguous values, and the dates left unread
are counted per source with their row numbers (never their values) in the quality summary.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

import identmatch._prepare.date_columns as date_columns
from identmatch._prepare.date_columns import MIN_CLEAR, read_dob_column
from identmatch._prepare.quality import ColumnQuality, DataQuality, SourceQuality
from identmatch._prepare.records import prepare_one, prepare_records

DAY_FIRST = ["25/12/1980", "13/01/1975", "28/02/1990", "31/07/1966", "14/03/2001", "19/11/1958"]
MONTH_FIRST = ["12/25/1980", "01/13/1975", "02/28/1990", "07/31/1966", "03/14/2001", "11/19/1958"]


def frame(dobs: list[Any], source: str | None = None, start: int = 0) -> pd.DataFrame:
    out = pd.DataFrame({"record_id": [f"r{start + i}" for i in range(len(dobs))], "dob": dobs})
    if source is not None:
        out["source"] = source
    return out


def dobs(records: pd.DataFrame, **kwargs: Any) -> list[str | None]:
    prepared, _ = prepare_records(records, **kwargs)
    return list(prepared["dob"])


class TestDetectedOrder:
    def test_day_first_column_reads_ambiguous_day_first(self) -> None:
        """A column of mostly 25/12/1980-style dates reads 03/04/1980 as 3 April."""
        assert dobs(frame([*DAY_FIRST, "03/04/1980"]))[-1] == "1980-04-03"

    def test_month_first_column_reads_ambiguous_month_first(self) -> None:
        """A column of mostly 12/25/1980-style dates reads 03/04/1980 as 4 March."""
        assert dobs(frame([*MONTH_FIRST, "03/04/1980"]))[-1] == "1980-03-04"

    def test_eight_digits_follow_the_column(self) -> None:
        """Eight digits read in the column's order: 10032019 is 3 October in a US column."""
        assert dobs(frame([*MONTH_FIRST, "10032019", "19780127"]))[-2:] == [
            "2019-10-03",
            "1978-01-27",
        ]
        assert dobs(frame([*DAY_FIRST, "10032019", "19780127"]))[-2:] == [
            "2019-03-10",
            "1978-01-27",
        ]

    def test_each_source_in_its_own_order(self) -> None:
        """Sources of one input that write dates differently are each read their own way."""
        records = pd.concat(
            [
                frame([*DAY_FIRST, "03/04/1980"], source="uk"),
                frame([*MONTH_FIRST, "03/04/1980"], source="us", start=100),
                frame(["03/04/1980"], source="new", start=200),
            ],
            ignore_index=True,
        )
        prepared, quality = prepare_records(records)
        by_id = dict(zip(prepared["unique_id"], prepared["dob"], strict=True))
        assert by_id["r6"] == "1980-04-03"
        assert by_id["r106"] == "1980-03-04"
        assert by_id["r200"] == "1980-04-03"  # nothing to detect from: day-first
        orders = {s.source: (s.date_order, s.detected) for s in quality.columns["dob"].sources}
        assert orders == {"uk": ("DMY", True), "us": ("MDY", True), "new": ("DMY", False)}

    def test_too_few_clear_values_read_day_first(self) -> None:
        """Fewer than MIN_CLEAR unambiguous values decide nothing: the default day-first."""
        assert dobs(frame([*MONTH_FIRST[: MIN_CLEAR - 1], "03/04/1980"]))[-1] == "1980-04-03"

    def test_an_unclear_mix_reads_day_first(self) -> None:
        """Unambiguous values that disagree too often decide nothing."""
        mixed = [*MONTH_FIRST, *DAY_FIRST[:2], "03/04/1980"]  # 6 of 8 month-first: 75%
        assert dobs(frame(mixed))[-1] == "1980-04-03"

    def test_an_explicit_order_is_kept(self) -> None:
        """An order given explicitly is used as it always was, whatever the column shows."""
        assert dobs(frame([*MONTH_FIRST, "03/04/1980"]), date_order="DMY")[-1] == "1980-04-03"
        assert dobs(frame([*DAY_FIRST, "03/04/1980"]), date_order="MDY")[-1] == "1980-03-04"

    def test_known_orders_are_the_fallback(self) -> None:
        """A source that shows no order takes its known one (e.g. the index's)."""
        records = frame(["03/04/1980"], source="us")
        assert dobs(records, known_orders={"us": "MDY"}) == ["1980-03-04"]
        assert dobs(records, known_orders={"uk": "DMY", "other": "MDY"}) == ["1980-04-03"]
        assert dobs(records, known_orders={"uk": "MDY"}) == ["1980-03-04"]  # the one order

    def test_each_distinct_value_is_parsed_once(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Columnar: a repeated value is parsed once, however many rows hold it."""
        calls: list[object] = []
        real = date_columns.parse_date

        def counting(value: object, **kwargs: Any) -> Any:
            calls.append(value)
            return real(value, **kwargs)

        monkeypatch.setattr(date_columns, "parse_date", counting)
        read_dob_column(pd.Series([*DAY_FIRST, "03/04/1980"] * 50), None, date_order="auto")
        assert len(calls) == len(DAY_FIRST) + 1

    def test_no_records(self) -> None:
        """An empty column reads as nothing, with nothing unread."""
        parsed, quality = read_dob_column(pd.Series([], dtype=object), None, date_order="auto")
        assert parsed.empty
        assert quality == ColumnQuality(missing=0)


class TestUnreadInQuality:
    def test_unread_per_source_with_row_numbers_and_no_values(self) -> None:
        """The summary names the unread count per source and 1-based rows, never a value."""
        records = pd.concat(
            [
                frame(["1980-01-02", "XYZZY unknown", "1975-05-06"], source="adults"),
                frame(["N/A", "1990-01-01", "3rd of Jul 95", "13/13/1999"], "kids", start=10),
            ],
            ignore_index=True,
        )
        _, quality = prepare_records(records, name="people.csv")
        dob = quality.columns["dob"]
        assert dob.invalid == 3
        unread = {s.source: (s.input, s.unread, s.unread_rows) for s in dob.sources}
        assert unread == {"adults": ("people.csv", 1, (2,)), "kids": ("people.csv", 2, (4, 7))}
        text = quality.model_dump_json()
        for value in ("XYZZY", "N/A", "13/13/1999", "1980-01-02"):
            assert value not in text

    def test_row_numbers_are_capped_and_offset(self) -> None:
        """At most five rows are kept, counted from the chunk's first data row."""
        _, quality = prepare_records(frame(["bad"] * 8), first_row=1001)
        (entry,) = quality.columns["dob"].sources
        assert entry.unread == 8
        assert entry.unread_rows == (1001, 1002, 1003, 1004, 1005)

    def test_combine_merges_one_input_source(self) -> None:
        """Combining chunks adds the counts of one input and source and keeps the first rows."""
        first = prepare_records(frame(["bad", "1980-01-02"]), name="f.csv")[1]
        second = prepare_records(frame(["bad"] * 6, start=2), name="f.csv", first_row=3)[1]
        (entry,) = first.combine(second).columns["dob"].sources
        assert (entry.unread, entry.unread_rows) == (7, (1, 3, 4, 5, 6))

    def test_json_round_trip_and_old_summaries(self) -> None:
        """The summary survives JSON, and a summary written before ``sources`` still loads."""
        _, quality = prepare_records(frame([*DAY_FIRST, "bad"], source="a"))
        assert DataQuality.model_validate_json(quality.model_dump_json()) == quality
        old = DataQuality.model_validate(
            json.loads('{"rows": 2, "columns": {"dob": {"missing": 1, "invalid": 1}}}')
        )
        assert old.columns["dob"] == ColumnQuality(missing=1, invalid=1)
        assert old.unread_dates() == []

    def test_as_rows_stays_flat(self) -> None:
        """as_rows keeps one flat dict of counts per column; the unread are listed apart."""
        _, quality = prepare_records(frame(["bad", "1980-01-02"], source="a"))
        assert quality.as_rows() == [
            {
                "column": "dob",
                "missing": 0,
                "invalid": 1,
                "placeholder": 0,
                "partial": 0,
                "mixed_alphabets": 0,
            }
        ]
        assert quality.unread_dates() == [
            SourceQuality(input="input", source="a", unread=1, unread_rows=(1,))
        ]


class TestSearchQuery:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("3rd of July 95", "1995-07-03"),
            ("July 3rd, 1995", "1995-07-03"),
            ("the 3rd of July 1995", "1995-07-03"),
            ("19712506", "1971-06-25"),
            ("10032019", "2019-03-10"),
            ("1971-25-06", "1971-06-25"),
        ],
    )
    def test_prepare_one_reads_the_written_forms(self, value: str, expected: str) -> None:
        """A search query reads each form as a batch does."""
        assert prepare_one({"dob": value})["dob"] == expected
        batch, _ = prepare_records(frame([value]))
        assert batch["dob"].iloc[0] == expected

    def test_prepare_one_uses_the_known_order_of_its_source(self) -> None:
        """One value shows no order: the query's source's known order reads it."""
        known = {"us": "MDY", "uk": "DMY"}
        assert prepare_one({"dob": "03/04/1980", "source": "us"}, known_orders=known)["dob"] == (
            "1980-03-04"
        )
        assert prepare_one({"dob": "03/04/1980"}, known_orders=known)["dob"] == "1980-04-03"
        assert prepare_one({"dob": "03/04/1980"}, known_orders={"us": "MDY"})["dob"] == (
            "1980-03-04"
        )
