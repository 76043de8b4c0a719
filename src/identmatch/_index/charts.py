"""The index's charts: what ``Index``'s ``*_chart`` methods draw (a mixin of ``Index``).

From what the file keeps: the build's histogram of match weights, the entities' sizes, the
usable values per field and source of the records held, and the decisions scored now (the
same labels as ``Index.report``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from identmatch._charts import data
from identmatch._exceptions import ConfigError

if TYPE_CHECKING:
    import altair as alt

    from identmatch._index.index import Index

__all__ = ["IndexCharts", "USABLE_COLUMNS"]

USABLE_COLUMNS = {
    "forename": "forename_std",
    "middle names": "middle_std",
    "surname": "surname_std",
    "date of birth": "dob",
    "sex": "sex_std",
    "postcode": "postcode_std",
    "NHS number": "nhs_std",
}
"""A field's name on the chart -> the records column of its usable (standardised) value."""


class IndexCharts:
    """The charts of a known-person index (each needs ``identmatch[charts]``)."""

    def match_weight_chart(self) -> alt.LayerChart:
        """The pairs the build scored, by match weight, with the threshold's weight marked.

        Raises:
            ConfigError: the file keeps no histogram (built before it was kept).
        """
        from identmatch._charts import specs

        index = cast("Index", self)
        bins = index.match_weight_histogram()
        if not bins:
            msg = "this index keeps no histogram of match weights (built before it was kept)"
            raise ConfigError(msg)
        threshold = index.config.threshold
        weight = data.probability_to_weight(threshold)
        return specs.match_weight_chart(data.bins_frame(bins, threshold), threshold, weight)

    def threshold_chart(self) -> alt.LayerChart:
        """Precision, recall and F1 against the threshold, on the decisions (scored now).

        Raises:
            ConfigError: no same/different decision about records still indexed.
        """
        from identmatch._charts import specs
        from identmatch._index.report import scored_labels

        index = cast("Index", self)
        scored, _, _, _ = scored_labels(index, connection=index._connection)
        if not scored:
            msg = "no same/different decisions about indexed records to draw precision from"
            raise ConfigError(msg)
        sweep = data.threshold_sweep([p for p, _ in scored], [s for _, s in scored])
        title = f"Precision and recall on {len(scored)} decided pairs"
        return specs.threshold_chart(sweep, index.config.threshold, title)

    def cluster_size_chart(self) -> alt.LayerChart:
        """How many entities hold 1, 2, 3, ... records."""
        from identmatch._charts import specs

        entity_ids = cast("Index", self).export()["entity_id"]
        return specs.cluster_size_chart(data.cluster_sizes(entity_ids))

    def completeness_chart(self) -> alt.LayerChart:
        """Share of records with a usable value per field and source."""
        from identmatch._charts import specs

        columns = ", ".join(USABLE_COLUMNS.values())
        with cast("Index", self)._cursor() as cursor:
            frame = cursor.execute(
                f"SELECT coalesce(source, '(none)') AS source, {columns} FROM records"
            ).fetch_df()
        table = data.completeness(frame, USABLE_COLUMNS, list(frame["source"]))
        return specs.completeness_chart(table, "source")
