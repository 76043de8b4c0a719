"""Blocking keys of one record, computed in Python for the index and search.

A key is the rule's number and the values of its columns, joined; a list column (``name[]``)
gives one key per element. Two records share a key exactly when Splink's batch blocking would
pair them under that rule, so search finds the candidates batch would have compared.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from identmatch._blocking import BlockingRule

__all__ = ["record_keys"]

_SEP = "\x1f"


def _values(record: Mapping[str, Any], column: str) -> list[str]:
    if column.endswith("[]"):
        items = record.get(column[:-2])
        if items is None or isinstance(items, float):
            return []
        return sorted({str(item) for item in items if item is not None and item != ""})
    value = record.get(column)
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return []
    return [str(value)]


def record_keys(record: Mapping[str, Any], rules: Sequence[BlockingRule]) -> set[str]:
    """Every blocking key of a prepared record under ``rules``."""
    keys: set[str] = set()
    for number, rule in enumerate(rules):
        parts = [_values(record, column) for column in rule]
        if not all(parts):
            continue
        for combination in itertools.product(*parts):
            keys.add(_SEP.join((str(number), *combination)))
    return keys
