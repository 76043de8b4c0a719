"""The data-quality summary of a run: rows read, and per column what was missing or unusable.

Counts only: no values, so a summary can be logged or returned over HTTP safely.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["ColumnQuality", "DataQuality"]


class ColumnQuality(BaseModel, frozen=True, extra="forbid"):
    """Counts for one standard column."""

    missing: int = Field(ge=0)
    """Blank in the input."""
    invalid: int = Field(default=0, ge=0)
    """Present but unusable (unparseable date, failed NHS check digit, ...): set to missing."""
    placeholder: int = Field(default=0, ge=0)
    """Dates of birth that are known placeholders such as 1900-01-01: set to missing."""
    partial: int = Field(default=0, ge=0)
    """Dates of birth with only a year (or month and year): kept as a year."""


class DataQuality(BaseModel, frozen=True, extra="forbid"):
    """What a run read, per input and per standard column."""

    rows: int = Field(ge=0)
    columns: dict[str, ColumnQuality]

    def combine(self, other: DataQuality) -> DataQuality:
        """Add two summaries, e.g. of the two inputs of a link."""
        names = list(dict.fromkeys([*self.columns, *other.columns]))
        zero = ColumnQuality(missing=0)
        merged = {}
        for name in names:
            a, b = self.columns.get(name, zero), other.columns.get(name, zero)
            merged[name] = ColumnQuality(
                missing=a.missing + b.missing,
                invalid=a.invalid + b.invalid,
                placeholder=a.placeholder + b.placeholder,
                partial=a.partial + b.partial,
            )
        return DataQuality(rows=self.rows + other.rows, columns=merged)

    def as_rows(self) -> list[dict[str, int | str]]:
        """One plain dict per column, for printing or a DataFrame."""
        return [{"column": name, **counts.model_dump()} for name, counts in self.columns.items()]
