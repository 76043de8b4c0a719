"""Blocking keys of records: in Python for one record, in SQL for a stored table.

A key is the rule's number and the values of its columns, joined; a list column (``name[]``)
gives one key per element. Two records share a key exactly when Splink's batch blocking would
pair them under that rule, so search finds the candidates batch would have compared.

The index stores each key as a 64-bit hash (the first 8 bytes of its MD5, read big-endian).
:func:`keys_sql` computes the stored keys inside DuckDB; :func:`record_keys` and
:func:`key_hash` compute a query's in Python; a test holds the two to the same keys.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from identmatch._candidates.blocking import BlockingRule
from identmatch._sql import dialect as sql_dialect
from identmatch._sql import quote_identifier

__all__ = ["hashed_keys", "key_hash", "key_text_selects", "keys_sql", "record_keys"]

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


def hashed_keys(record: Mapping[str, Any], rules: Sequence[BlockingRule]) -> list[tuple[int, int]]:
    """``(rule number, key hash)`` of every blocking key of a prepared record."""
    return sorted((int(key.split(_SEP, 1)[0]), key_hash(key)) for key in record_keys(record, rules))


def key_hash(key: str) -> int:
    """A key's stored form: an unsigned 64-bit hash, the same in Python and in DuckDB."""
    digest = hashlib.md5(key.encode("utf-8"), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big")


def key_text_selects(
    rules: Sequence[BlockingRule],
    table: str,
    carry: Sequence[str],
    *,
    dialect: str = "duckdb",
    where: str = "",
) -> list[str]:
    """Per rule, a SELECT of the ``carry`` columns and ``key_text`` for every key of ``table``.

    ``key_text`` is exactly the key :func:`record_keys` makes in Python (the rule's number and
    its values, joined), one row per element of a list column; ``where`` filters the rows of
    ``table`` (alias ``t``). The one place key SQL is written: the index's stored keys
    (:func:`keys_sql`) and the batch's candidate keys (``identmatch._candidates.choose``) read it.
    """
    quote = sql_dialect(dialect).column
    explode = "explode" if dialect == "spark" else "unnest"
    carried = ", ".join(carry)
    selects = []
    for number, rule in enumerate(rules):
        values = [f"c{position}" for position in range(len(rule))]
        picked = ", ".join(
            f"t.{quote(column.removesuffix('[]'))} AS {v}"
            for column, v in zip(rule, values, strict=True)
        )
        carried_t = ", ".join(f"t.{c}" for c in carry)
        source = f"SELECT {carried_t}, {picked} FROM {table} AS t{where}"
        # A list column gives one row per element: unnest in the select list, one column a
        # level, so two lists give their product (a lateral UNNEST join is several times
        # slower in DuckDB).
        listed = [v for column, v in zip(rule, values, strict=True) if column.endswith("[]")]
        for value in listed:
            kept = ", ".join(f"{explode}({v}) AS {v}" if v == value else v for v in values)
            source = f"SELECT {carried}, {kept} FROM ({source}) AS x"
        conditions = " AND ".join(f"{v} IS NOT NULL AND {v} <> ''" for v in values)
        key = f"concat_ws(chr(31), '{int(number)}', {', '.join(values)})"
        selects.append(
            f"SELECT {carried}, {key} AS key_text FROM ({source}) AS y WHERE {conditions}"
        )
    return selects


def keys_sql(rules: Sequence[BlockingRule], table: str, *, min_seq: int = 0) -> str:
    """SQL selecting ``(seq, key_hash)`` for every blocking key of the rows of ``table``.

    Only rows with ``seq >= min_seq`` (an integer, written as a literal). The SQL twin of
    :func:`record_keys` followed by :func:`key_hash`.
    """
    selects = key_text_selects(
        rules, quote_identifier(table), ["seq"], where=f" WHERE t.seq >= {int(min_seq)}"
    )
    # A record has one key per rule, unless a list column repeats a value.
    return "\nUNION ALL\n".join(
        f"SELECT {'DISTINCT ' if any(c.endswith('[]') for c in rule) else ''}seq, "
        f"('0x' || left(md5(key_text), 16))::UBIGINT AS key_hash FROM ({select}) AS k"
        for rule, select in zip(rules, selects, strict=True)
    )
