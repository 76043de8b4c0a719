"""Searching a file of queries: one row per query and rank, for ``Index.search_many``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from identmatch._config import STANDARD_COLUMNS, ReadConfig
from identmatch._prepare.read import read_records

if TYPE_CHECKING:
    from identmatch._index.index import Index

__all__ = ["COLUMNS", "search_queries"]

WARM_FOR_QUERIES = 200
"""The index is loaded first for more queries than this (each is then ~1 ms)."""
COLUMNS = ["record_id", "rank", "entity_id", "match_probability", "verdict", "unread"]


def search_queries(
    index: Index, queries: Any, *, columns: Mapping[str, str] | None, top: int
) -> pd.DataFrame:
    """Search every record of ``queries``; see :meth:`identmatch.Index.search_many`."""
    config = ReadConfig(columns=dict(columns or {}), date_order=index.date_order)
    frame = read_records(queries, config, name="queries")
    known = (*STANDARD_COLUMNS, *index.model.declared.columns)
    fields = [c for c in known if c in frame.columns and c != "record_id"]
    if len(frame) > WARM_FOR_QUERIES:
        index.warm()
    rows: list[dict[str, Any]] = []
    for query in frame.to_dict("records"):
        person = {k: query[k] for k in fields}
        hits = index.search(person, top=top)
        unread = "; ".join(field.field for field in hits.unread)
        if not hits:
            rows.append(
                {
                    "record_id": query["record_id"],
                    "rank": 1,
                    "verdict": "no match",
                    "unread": unread,
                }
            )
        for rank, hit in enumerate(hits, start=1):
            rows.append(
                {
                    "record_id": query["record_id"],
                    "rank": rank,
                    "entity_id": hit.entity_id,
                    "match_probability": hit.match_probability,
                    "verdict": hit.verdict,
                    "unread": unread,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)
