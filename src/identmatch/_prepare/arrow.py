"""Arrow types of the prepared columns: text, or a list of text for list columns."""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from identmatch._prepare.records import is_list_column, is_prepared_column

__all__ = ["arrow_schema", "prepared_columns"]


def arrow_schema(columns: list[str]) -> pa.Schema:
    """The Arrow schema of prepared ``columns``: text, or a list of text for list columns."""
    fields = []
    for name in columns:
        kind = pa.list_(pa.string()) if is_list_column(name) else pa.string()
        fields.append(pa.field(name, kind))
    return pa.schema(fields)


def prepared_columns(columns: Iterable[str]) -> list[str]:
    """The columns, in order, that a backend needs of a prepared frame."""
    return [c for c in columns if is_prepared_column(c) or c == "source_dataset"]
