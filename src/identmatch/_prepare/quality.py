"""The data-quality summary of a run: rows read, and per column what was missing or unusable.

Counts, row numbers and source names only: never a person's values, so a summary can be
logged or returned over HTTP safely.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from identmatch._types import ExplicitDateOrder

__all__ = ["ColumnQuality", "DataQuality", "SourceQuality", "Unread"]

ROWS_SHOWN = 5
"""Row numbers kept per source for the values left unread."""


class SourceQuality(BaseModel, frozen=True, extra="forbid"):
    """How one source's dates of birth were read, within one input.

    Row numbers are 1-based data rows of the input (the header is not counted); no value is
    ever kept.
    """

    input: str = "input"
    """The input's name (a file name, or ``input``, ``left`` and ``right``)."""
    source: str = ""
    """The ``source`` column's value; empty when the input has none (or the cell is blank)."""
    date_order: ExplicitDateOrder = "DMY"
    """The order ambiguous numeric dates such as ``03/04/1980`` were read in."""
    detected: bool = False
    """Whether ``date_order`` was detected from this source's unambiguous values
    (``date_order="auto"``), rather than given or fallen back on."""
    unread: int = Field(default=0, ge=0)
    """Dates present but not read (unreadable, impossible, in the future): set to missing."""
    unread_rows: tuple[int, ...] = ()
    """The first few (at most 5) row numbers of the unread dates."""


class Unread(BaseModel, frozen=True, extra="forbid"):
    """Values of one column present but not read, within one input and source.

    Row numbers are 1-based data rows of the input; no value is ever kept.
    """

    input: str = "input"
    """The input's name (a file name, or ``input``, ``left`` and ``right``)."""
    source: str = ""
    """The ``source`` column's value; empty when the input has none (or the cell is blank)."""
    count: int = Field(ge=0)
    """Values present but not read: set to missing."""
    rows: tuple[int, ...] = ()
    """The first few (at most 5) row numbers of those values."""


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
    sources: tuple[SourceQuality, ...] = ()
    """Dates of birth: per input and source, the date order read in and the unread values."""
    wrong_type: int = Field(default=0, ge=0)
    """Names holding no letter at all (a number such as ``1.5``, where a name is expected):
    counted in ``invalid`` too, and set to missing."""
    unread: tuple[Unread, ...] = ()
    """Columns other than dates of birth: per input and source, the values counted in
    ``invalid`` and the first rows' numbers."""
    mixed_alphabets: int = Field(default=0, ge=0)
    """Names with a word mixing letters of different alphabets (Cyrillic ``е`` among Latin
    letters, ...): the letters that look Latin are read as Latin; worth checking at source."""


def _merged_unread(first: tuple[Unread, ...], second: tuple[Unread, ...]) -> tuple[Unread, ...]:
    """One entry per input and source: counts added, the earliest rows kept."""
    merged: dict[tuple[str, str], Unread] = {}
    for entry in (*first, *second):
        key = (entry.input, entry.source)
        seen = merged.get(key)
        if seen is None:
            merged[key] = entry
            continue
        rows = sorted({*seen.rows, *entry.rows})[:ROWS_SHOWN]
        merged[key] = seen.model_copy(
            update={"count": seen.count + entry.count, "rows": tuple(rows)}
        )
    return tuple(sorted(merged.values(), key=lambda u: (-u.count, u.input, u.source)))


def _merged_sources(
    first: tuple[SourceQuality, ...], second: tuple[SourceQuality, ...]
) -> tuple[SourceQuality, ...]:
    """One entry per input, source and order: counts added, the earliest rows kept."""
    merged: dict[tuple[str, str, str, bool], SourceQuality] = {}
    for entry in (*first, *second):
        key = (entry.input, entry.source, entry.date_order, entry.detected)
        seen = merged.get(key)
        if seen is None:
            merged[key] = entry
            continue
        rows = sorted({*seen.unread_rows, *entry.unread_rows})[:ROWS_SHOWN]
        merged[key] = seen.model_copy(
            update={"unread": seen.unread + entry.unread, "unread_rows": tuple(rows)}
        )
    return tuple(merged.values())


class DataQuality(BaseModel, frozen=True, extra="forbid"):
    """What a run read, per input and per standard column."""

    rows: int = Field(ge=0)
    columns: dict[str, ColumnQuality]
    unused_columns: dict[str, str] = Field(default_factory=dict)
    """Input columns left unused that look like a standard column (``given_name`` ->
    ``forename``): map them (``columns=`` or ``--map``) to use them. Column names only."""

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
                sources=_merged_sources(a.sources, b.sources),
                wrong_type=a.wrong_type + b.wrong_type,
                unread=_merged_unread(a.unread, b.unread),
                mixed_alphabets=a.mixed_alphabets + b.mixed_alphabets,
            )
        return DataQuality(
            rows=self.rows + other.rows,
            columns=merged,
            unused_columns={**self.unused_columns, **other.unused_columns},
        )

    def as_rows(self) -> list[dict[str, int | str]]:
        """One plain dict of counts per column, for printing or a DataFrame.

        The per-source detail is in each column's ``sources`` (dates of birth) and
        ``unread`` (other columns); ``wrong_type`` is counted in ``invalid``.
        """
        return [
            {"column": name, **counts.model_dump(exclude={"sources", "wrong_type", "unread"})}
            for name, counts in self.columns.items()
        ]

    def unread_dates(self) -> list[SourceQuality]:
        """The inputs and sources with dates of birth left unread, most unread first."""
        column = self.columns.get("dob")
        entries = [] if column is None else [s for s in column.sources if s.unread]
        return sorted(entries, key=lambda s: -s.unread)
