"""Helpers shared by test modules: the bundled FEBRL files and their column mapping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

DATA = Path(__file__).parent / "data"


def read_febrl(name: str) -> pd.DataFrame:
    """A FEBRL file with its true person id (``rec-N-...`` shares N) in ``true_id``."""
    frame = pd.read_csv(DATA / name, dtype=str, skipinitialspace=True, keep_default_na=False)
    frame.columns = [c.strip() for c in frame.columns]
    frame["true_id"] = frame["rec_id"].str.extract(r"rec-(\d+)-")[0]
    return frame


FEBRL_COLUMNS = {
    "rec_id": "record_id",
    "given_name": "forename",
    "surname": "surname",
    "date_of_birth": "dob",
    "postcode": "postcode",
    "street_number": "address",
    "address_1": "address",
    "address_2": "address",
    "suburb": "town",
}
"""How FEBRL's columns map to identmatch's (soc_sec_id is left out on purpose)."""
