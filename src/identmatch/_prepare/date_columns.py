"""A column of dates of birth read as a whole: each source's date order, and what stayed unread.

Whether ``03/04/1980`` is 3 April or 4 March cannot be told from the value; it can often be
told from the values around it. Under ``date_order="auto"`` each source of an input (each
value of its ``source`` column, or the whole input when it has none) is read in the order its
unambiguous values show: ``25/12/1980`` can only be day-first, ``12/25/1980`` only
month-first. When at least :data:`MIN_CLEAR` of them are unambiguous and at least
:data:`MIN_SHARE` of those agree, the source's ambiguous values are read that way; otherwise
in the order known for the source (``known``, e.g. what an index detected when it was built),
else day-first (``DMY``). An explicit order is used as given for every source.

Everything is columnar: each distinct value is looked at once (:func:`map_unique`), and the
counts per source come from pandas, never from a loop over records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from identmatch._prepare.dates import date_order_hint, explicit_order, parse_date
from identmatch._prepare.quality import ROWS_SHOWN, ColumnQuality, SourceQuality
from identmatch._prepare.values import map_unique, to_text
from identmatch._types import DateOrder, ExplicitDateOrder

__all__ = ["MIN_CLEAR", "MIN_SHARE", "order_for", "read_dob_column", "source_keys"]

MIN_CLEAR = 5
"""Unambiguous dates a source needs before its order is detected from them."""
MIN_SHARE = 0.9
"""Share of a source's unambiguous dates that must agree on one order."""


def source_keys(source: pd.Series[Any] | None, n: int) -> pd.Series[str]:
    """Each row's source as text; ``""`` without a ``source`` column or in a blank cell."""
    if source is None:
        return pd.Series([""] * n, dtype=object)
    return map_unique(source, lambda v: to_text(v, strip=True) or "")


def order_for(
    source: str, date_order: DateOrder, known: Mapping[str, ExplicitDateOrder] | None
) -> ExplicitDateOrder:
    """The order to read one value of ``source`` in, with nothing to detect from.

    An explicit ``date_order`` is itself; under ``auto``, the source's ``known`` order, else
    the one order all ``known`` sources share, else ``DMY``.
    """
    if date_order != "auto":
        return date_order
    known = known or {}
    if source in known:
        return known[source]
    shared = set(known.values())
    return shared.pop() if len(shared) == 1 else explicit_order(date_order)


def _detected(keys: pd.Series[str], hints: pd.Series[Any]) -> dict[str, ExplicitDateOrder]:
    """The sources whose unambiguous dates clearly favour one order, with that order."""
    clear = pd.DataFrame({"source": keys, "hint": hints}).dropna()
    if clear.empty:
        return {}
    counts = pd.crosstab(clear["source"], clear["hint"])
    found: dict[str, ExplicitDateOrder] = {}
    for order in ("DMY", "MDY"):
        if order not in counts.columns:
            continue
        agreeing = counts[order]
        total = counts.sum(axis=1)
        chosen = agreeing[(total >= MIN_CLEAR) & (agreeing >= MIN_SHARE * total)]
        found.update(dict.fromkeys((str(s) for s in chosen.index), order))
    return found


def read_dob_column(
    raw: pd.Series[Any],
    source: pd.Series[Any] | None,
    *,
    date_order: DateOrder,
    known: Mapping[str, ExplicitDateOrder] | None = None,
    name: str = "input",
    first_row: int = 1,
) -> tuple[pd.Series[Any], ColumnQuality]:
    """Read a column of dates of birth, each source in its order (see the module docstring).

    Args:
        raw: the ``dob`` column as read (text, date objects, missing values).
        source: the ``source`` column, or ``None`` when the input has none.
        date_order: an explicit order, or ``auto`` to detect one per source.
        known: orders to fall back on per source under ``auto`` when a source shows none.
        name: the input's name, for the quality summary.
        first_row: the input's data row number of ``raw``'s first value (a chunk's offset).

    Returns:
        The :class:`ParsedDate` of each row (same index as ``raw``), and the column's quality:
        counts by status, and per source the order used and the unread dates' row numbers.
    """
    raw = raw.reset_index(drop=True)
    keys = source_keys(None if source is None else source.reset_index(drop=True), len(raw))
    detected = _detected(keys, map_unique(raw, date_order_hint)) if date_order == "auto" else {}
    orders = {key: detected.get(key) or order_for(key, date_order, known) for key in keys.unique()}
    row_orders = keys.map(orders)
    parts = [_parsed(raw[row_orders == order], order) for order in row_orders.unique()]
    parsed = pd.concat(parts).sort_index() if parts else pd.Series([], dtype=object)
    status = map_unique(parsed, lambda p: p.status)
    unread = (status == "invalid").to_numpy()
    return parsed, ColumnQuality(
        missing=int((status == "missing").sum()),
        invalid=int(unread.sum()),
        placeholder=int((status == "placeholder").sum()),
        partial=int((status == "partial").sum()),
        sources=_per_source(keys, unread, orders, detected, name=name, first_row=first_row),
    )


def _parsed(raw: pd.Series[Any], order: ExplicitDateOrder) -> pd.Series[Any]:
    return map_unique(raw, lambda value: parse_date(value, order=order))


def _per_source(
    keys: pd.Series[str],
    unread: np.ndarray[Any, np.dtype[np.bool_]],
    orders: Mapping[str, ExplicitDateOrder],
    detected: Mapping[str, ExplicitDateOrder],
    *,
    name: str,
    first_row: int,
) -> tuple[SourceQuality, ...]:
    """Per source: the order used, the unread count and the first unread rows' numbers."""
    at = np.flatnonzero(unread)
    unread_keys = keys.to_numpy()[at]
    counts = pd.Series(unread_keys).value_counts()
    rows = pd.Series(at + first_row).groupby(unread_keys).head(ROWS_SHOWN)
    shown = rows.groupby(unread_keys[rows.index]).agg(tuple)
    return tuple(
        SourceQuality(
            input=name,
            source=key,
            date_order=order,
            detected=key in detected,
            unread=int(counts.get(key, 0)),
            unread_rows=tuple(int(r) for r in shown.get(key, ())),
        )
        for key, order in orders.items()
    )
