"""Standardise every record once, before any pair is formed.

Each standardiser runs over the distinct values of a column, not over rows, and its results
are mapped back: a million-row column of a few thousand distinct names costs a few thousand
calls. The output columns are what blocking rules and comparisons read.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd

from identmatch._phonetic import phonetic_code
from identmatch._quality import ColumnQuality, DataQuality
from identmatch._standardise import (
    joined_name,
    name_tokens,
    parse_date,
    standardise_name,
    standardise_nhs_number,
    standardise_postcode,
    standardise_sex,
)
from identmatch._types import DateOrder

__all__ = ["PREPARED_COLUMNS", "prepare_records"]

PREPARED_COLUMNS: tuple[str, ...] = (
    "unique_id",
    "forename_std",
    "forename_ph",
    "middle_std",
    "surname_std",
    "surname_joined",
    "surname_ph",
    "surname_parts",
    "dob",
    "dob_year",
    "sex_std",
    "postcode_std",
    "postcode_outward",
    "postcode_sector",
    "nhs_std",
    "address_std",
    "town_std",
)
"""Columns of a prepared frame, in order. Missing values are ``None``."""


def _map_unique(series: pd.Series[Any], func: Callable[[Any], Any]) -> pd.Series[Any]:
    """Apply ``func`` once per distinct value of ``series`` and map the results back."""
    values = series.astype(object).where(series.notna(), None)
    distinct: dict[Hashable, Any] = {}
    for value in values.drop_duplicates():
        distinct[value] = func(value)
    return pd.Series([distinct[v] for v in values], index=series.index, dtype=object)


def _missing(series: pd.Series[Any]) -> pd.Series[bool]:
    text = series.astype("string")
    return series.isna() | (text.str.strip() == "")


def _absent(n: int) -> pd.Series[Any]:
    return pd.Series([None] * n, dtype=object)


def prepare_records(
    records: pd.DataFrame, *, date_order: DateOrder = "DMY"
) -> tuple[pd.DataFrame, DataQuality]:
    """Standardise ``records`` (as returned by ``read_records``) for matching.

    Returns:
        The prepared frame (``PREPARED_COLUMNS``, one row per input row, same order) and a
        data-quality summary counting missing and unusable values per standard column.
    """
    n = len(records)
    records = records.reset_index(drop=True)
    out: dict[str, pd.Series[Any]] = {"unique_id": records["record_id"].astype(object)}
    quality: dict[str, ColumnQuality] = {}

    def column(name: str) -> pd.Series[Any] | None:
        return records[name] if name in records.columns else None

    for field, std_name in (
        ("forename", "forename_std"),
        ("middle_names", "middle_std"),
        ("surname", "surname_std"),
        ("address", "address_std"),
        ("town", "town_std"),
    ):
        raw = column(field)
        if raw is None:
            out[std_name] = _absent(n)
            continue
        std = _map_unique(raw, standardise_name)
        out[std_name] = std
        missing = _missing(raw)
        quality[field] = ColumnQuality(
            missing=int(missing.sum()), invalid=int((~missing & std.isna()).sum())
        )

    out["forename_ph"] = _map_unique(out["forename_std"], phonetic_code)
    out["surname_ph"] = _map_unique(out["surname_std"], phonetic_code)
    out["surname_joined"] = _map_unique(out["surname_std"], joined_name)
    out["surname_parts"] = _map_unique(
        out["surname_std"], lambda v: list(name_tokens(v)) if v else None
    )

    raw_dob = column("dob")
    if raw_dob is None:
        out["dob"], out["dob_year"] = _absent(n), _absent(n)
    else:
        parsed = _map_unique(raw_dob, lambda v: parse_date(v, order=date_order))
        out["dob"] = parsed.map(lambda p: p.date.isoformat() if p.date else None)
        out["dob_year"] = parsed.map(lambda p: str(p.year) if p.year else None)
        status = parsed.map(lambda p: p.status)
        quality["dob"] = ColumnQuality(
            missing=int((status == "missing").sum()),
            invalid=int((status == "invalid").sum()),
            placeholder=int((status == "placeholder").sum()),
            partial=int((status == "partial").sum()),
        )

    raw_postcode = column("postcode")
    if raw_postcode is None:
        for name in ("postcode_std", "postcode_outward", "postcode_sector"):
            out[name] = _absent(n)
    else:
        postcodes = _map_unique(raw_postcode, standardise_postcode)
        out["postcode_std"] = postcodes.map(lambda p: p.postcode)
        out["postcode_outward"] = postcodes.map(lambda p: p.outward)
        out["postcode_sector"] = postcodes.map(lambda p: p.sector)
        missing = _missing(raw_postcode)
        quality["postcode"] = ColumnQuality(
            missing=int(missing.sum()), invalid=int((~missing & out["postcode_std"].isna()).sum())
        )

    for field, std_name, func in (
        ("sex", "sex_std", standardise_sex),
        ("nhs_number", "nhs_std", standardise_nhs_number),
    ):
        raw = column(field)
        if raw is None:
            out[std_name] = _absent(n)
            continue
        std = _map_unique(raw, func)
        out[std_name] = std
        missing = _missing(raw)
        quality[field] = ColumnQuality(
            missing=int(missing.sum()), invalid=int((~missing & std.isna()).sum())
        )

    prepared = pd.DataFrame({name: out[name] for name in PREPARED_COLUMNS})
    return prepared, DataQuality(rows=n, columns=quality)
