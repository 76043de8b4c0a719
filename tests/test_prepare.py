"""Preparing records: the one-record path (search) equals the batch path, field for field."""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from identmatch._prepare.declared import declared_schema
from identmatch._prepare.quality import DataQuality
from identmatch._prepare.read import read_records
from identmatch._prepare.records import PREPARED_COLUMNS, prepare_one, prepare_records

from _support import disguised

texts = (
    st.sampled_from(
        ["Bill", "William", "Mr John", "Smith-Jones", "O'Neil", "Wójcik", "", "J", "Mary Jane"]
    )
    | st.sampled_from([" ann ", disguised("Benedict"), disguised("TOM"), "Иван", "Гenedict"])
    | st.text(max_size=12)
)
dates = st.sampled_from(
    ["1987-03-04", "04/03/1987", "1987", "1900-01-01", "bad", ""]
) | st.dates().map(str)
postcodes = st.sampled_from(["LS6 4AB", "ls64ab", "2119", "", "SW1A1AA"]) | st.text(max_size=8)


@given(
    forename=texts,
    middle=texts,
    surname=texts,
    dob=dates,
    postcode=postcodes,
    sex=st.sampled_from(["M", "female", "x", ""]),
    nhs=st.sampled_from(["943 476 5919", "9434765918", ""]),
    aliases=st.lists(texts, max_size=3),
)
def test_prepare_one_equals_batch(
    forename: str,
    middle: str,
    surname: str,
    dob: str,
    postcode: str,
    sex: str,
    nhs: str,
    aliases: list[str],
) -> None:
    """A record prepared alone (search) equals the same record prepared in a batch."""
    fields: dict[str, Any] = {
        "record_id": "r1",
        "forename": forename,
        "middle_names": middle,
        "surname": surname,
        "dob": dob,
        "postcode": postcode,
        "sex": sex,
        "nhs_number": nhs,
        "aliases": aliases,
    }
    frame = read_records(pd.DataFrame([fields]).replace("", None))
    batch, _ = prepare_records(frame)
    expected = batch.iloc[0].to_dict()
    one = prepare_one(fields)
    for column in PREPARED_COLUMNS:
        assert one[column] == expected[column], column


def test_a_number_is_not_a_name() -> None:
    """A forename, middle name or surname with no letter (a float 1.5 from Parquet, "12")
    is read as missing, counted as invalid and as a wrong type, per source with its rows;
    a search query reads it the same way."""
    frame = read_records(
        pd.DataFrame(
            {
                "record_id": ["a", "b", "c", "d"],
                "source": ["x", "y", "x", "x"],
                "surname": [1.5, "Smith", "12", "O'Neil"],
                "nhs_number": ["943 476 5919", "123", None, "1"],
            }
        )
    )
    prepared, quality = prepare_records(frame, name="p.parquet", first_row=11)
    assert prepared["surname_std"].tolist() == [None, "smith", None, "oneil"]
    surname = quality.columns["surname"]
    assert (surname.invalid, surname.wrong_type) == (2, 2)
    assert [(u.input, u.source, u.count, u.rows) for u in surname.unread] == [
        ("p.parquet", "x", 2, (11, 13))
    ]
    nhs = quality.columns["nhs_number"]
    assert (nhs.missing, nhs.invalid, nhs.wrong_type) == (1, 2, 0)
    assert {(u.source, u.rows) for u in nhs.unread} == {("y", (12,)), ("x", (14,))}
    assert prepare_one({"record_id": "q", "surname": 1.5})["surname_std"] is None
    assert prepare_one({"record_id": "q", "surname": "Smith"})["surname_std"] == "smith"


def test_unused_columns_that_look_like_standard_ones() -> None:
    """Unmapped columns named as other systems name a standard column (or a close spelling
    of one) are listed with that column; others, declared ones and those whose standard
    column is already there are not."""
    frame = read_records(
        pd.DataFrame(
            {
                "record_id": ["a"],
                "given_name": ["Ann"],
                "Date Of Birth": ["1980-01-02"],
                "surnme": ["Smith"],
                "occupation": ["nurse"],
                "gender": ["F"],
                "sex": ["F"],
                "city": ["Leeds"],
            }
        )
    )
    _, quality = prepare_records(frame, schema=declared_schema(None, ["city"]))
    assert quality.unused_columns == {
        "given_name": "forename",
        "Date Of Birth": "dob",
        "surnme": "surname",
    }
    left, right = (
        DataQuality(rows=1, columns={}, unused_columns={"a": "dob"}),
        DataQuality(rows=2, columns={}, unused_columns={"b": "sex"}),
    )
    assert left.combine(right).unused_columns == {"a": "dob", "b": "sex"}
