"""Shared fixtures: a clean environment, the bundled data, and one hypothesis profile."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

DATA = Path(__file__).parent / "data"

settings.register_profile(
    "identmatch",
    max_examples=100,
    deadline=None,  # standardisers warm caches on first use; timing is for benchmarks
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("identmatch")


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No IDENTMATCH_* variable from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("IDENTMATCH_"):
            monkeypatch.delenv(name)


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
