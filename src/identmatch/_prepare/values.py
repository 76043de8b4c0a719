"""What counts as missing, and a raw value as text: the one rule every layer uses.

A value is missing when it is ``None``, a NaN float (Python's or NumPy's), ``pandas.NA``,
``pandas.NaT`` or a NumPy not-a-time. Blank text is a value here; each standardiser decides
what blank means for its field (usually missing), and prepared values are never blank.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["is_missing", "map_unique", "to_text"]


def is_missing(value: object) -> bool:
    """Whether ``value`` is missing: ``None``, a NaN float, ``pandas.NA`` or a NaT."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    return False


def to_text(value: Any, *, strip: bool = False) -> str | None:
    """A raw value as text, or ``None`` when missing (and, with ``strip``, when blank).

    Whole-number floats lose their ``.0``: a numeric column with gaps is read as float, and
    ``9434765919.0`` must still read as the NHS number ``9434765919``.
    """
    if is_missing(value):
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, float | np.floating) and float(value).is_integer():
        text = str(int(value))
    else:
        text = str(value)
    if strip:
        text = text.strip()
        return text or None
    return text


def map_unique(series: pd.Series[Any], func: Callable[[Any], Any]) -> pd.Series[Any]:
    """Apply ``func`` once per distinct value of ``series`` and map the results back.

    Missing values (NaN, ``pandas.NA``) reach ``func`` as ``None``; the result keeps
    ``series``'s index and holds objects.
    """
    values = series.astype(object).where(series.notna(), None)
    distinct: dict[Hashable, Any] = {}
    for value in values.drop_duplicates():
        distinct[value] = func(value)
    return pd.Series([distinct[v] for v in values], index=series.index, dtype=object)
