"""The index's reads of its neighbours and scores: the household and the weight histogram.
A part of :class:`Index` (the review methods are in ``reviewing``), kept apart to keep
``index.py`` readable; they read the file through the index's connection.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from identmatch._exceptions import ConfigError
from identmatch._index.store import cursor

__all__ = ["IndexReads"]


class IndexReads:
    """Reads :class:`Index` inherits (see its docs)."""

    _connection: duckdb.DuckDBPyConnection

    def household(self, entity_id: str, *, limit: int = 20) -> pd.DataFrame:
        """The other people known at the entity's addresses: the "others in the household".

        Another entity is listed when one of its records has a postcode of one of this
        entity's records: ``basis`` is ``address`` when both records also give the same
        address line, else ``postcode`` (a postcode covers a street or a block, so those are
        neighbours at most). Same-address people come first, then by how many of their
        records share the postcode.

        Returns:
            At most ``limit`` rows: ``entity_id``, ``basis``, ``records`` (how many of its
            records are there), ``name``, ``dob``, ``sources`` (a list) and ``postcode``.
        """
        if not 1 <= limit <= 1_000:
            msg = f"limit must be between 1 and 1000, got {limit}"
            raise ConfigError(msg)
        from identmatch._index.search import household

        with cursor(self._connection) as read:
            return household(read, entity_id, limit)

    def match_weight_histogram(self) -> list[tuple[float, float, int]]:
        """The build's scored pairs by match weight: ``(lower, upper, count)`` bins of 1 bit."""
        from identmatch._index.review import weight_histogram

        with cursor(self._connection) as read:
            return weight_histogram(read)
