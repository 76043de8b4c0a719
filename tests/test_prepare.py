"""Preparing records: the one-record path (search) equals the batch path, field for field."""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

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
