"""The index's reads of its review state and neighbours: decisions, the review queue, the
label report, the weight histogram and the household. A part of :class:`Index`, kept apart
to keep ``index.py`` readable; they read the file through the index's connection.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, cast

import duckdb
import pandas as pd

from identmatch._exceptions import ConfigError

if TYPE_CHECKING:
    from identmatch._batch.decisions import Decisions
    from identmatch._index.index import Index
    from identmatch._index.queue import ReviewQueue
    from identmatch._index.report import LabelReport

__all__ = ["IndexReads"]


class IndexReads:
    """Reads :class:`Index` inherits (see its docs)."""

    _connection: duckdb.DuckDBPyConnection

    def _cursor(self) -> contextlib.AbstractContextManager[duckdb.DuckDBPyConnection]:
        raise NotImplementedError  # Index's

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

        with self._cursor() as cursor:
            return household(cursor, entity_id, limit)

    def decisions(self) -> Decisions:
        """Every decision recorded in the index, oldest first (``.frame`` to export)."""
        from identmatch._index.review import load_decisions

        with self._cursor() as cursor:
            return load_decisions(cursor)

    def review_queue(self, *, limit: int = 50) -> ReviewQueue:
        """What a person should look at: uncertain pairs and suspicious entities.

        Pairs scored (by the build or an add) with a match probability in
        ``ModelConfig.review_band``, closest to the threshold first, and entities that look
        wrong (possible twins, conflicting identifiers, very large, a weak bridge), each
        with the pair to decide on and its explanation. Pairs already decided are left out.
        """
        from identmatch._index.queue import review_queue

        if not 1 <= limit <= 1_000:
            msg = f"limit must be between 1 and 1000, got {limit}"
            raise ConfigError(msg)
        return review_queue(cast("Index", self), limit=limit, connection=self._connection)

    def report(self, *, threshold: float | None = None) -> LabelReport:
        """Precision and recall estimated from the decisions, with intervals and advice.

        Every ``same`` / ``different`` decision in force about records still here is a label
        for the pair's score now; see ``identmatch report``.
        """
        from identmatch._index.report import label_report

        if threshold is not None and not 0.0 < threshold < 1.0:
            msg = f"threshold must be a match probability in (0, 1), got {threshold}"
            raise ConfigError(msg)
        return label_report(cast("Index", self), threshold=threshold, connection=self._connection)

    def match_weight_histogram(self) -> list[tuple[float, float, int]]:
        """The build's scored pairs by match weight: ``(lower, upper, count)`` bins of 1 bit."""
        from identmatch._index.review import weight_histogram

        with self._cursor() as cursor:
            return weight_histogram(cursor)
