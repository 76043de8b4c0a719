"""``identmatch report --charts DIR``: an index's charts as offline HTML and PNG files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

import identmatch
from identmatch._charts.render import save_chart

__all__ = ["write_index_charts"]


def write_index_charts(index: identmatch.Index, folder: Path) -> list[Path]:
    """Write each chart the index can draw into ``folder``; say which it cannot and why.

    ``match_weights``, ``parameters``, ``cluster_sizes``, ``completeness``, ``threshold``
    (from the decisions) and ``waterfall`` (the pair at the head of the review queue,
    else of its first entity).
    """

    def waterfall() -> Any:
        queue = index.review_queue(limit=1)
        found = [p.explanation for p in queue.pairs] + [e.explanation for e in queue.entities]
        if not found:
            msg = "the review queue holds no pair to draw"
            raise identmatch.ConfigError(msg)
        return found[0].waterfall_chart(threshold=index.config.threshold)

    charts: dict[str, Callable[[], Any]] = {
        "match_weights": index.match_weight_chart,
        "parameters": index.model.parameters_chart,
        "cluster_sizes": index.cluster_size_chart,
        "completeness": index.completeness_chart,
        "threshold": index.threshold_chart,
        "waterfall": waterfall,
    }
    written: list[Path] = []
    for name, draw in charts.items():
        try:
            chart = draw()
        except identmatch.ConfigError as exc:
            click.echo(f"chart {name} left out: {exc}", err=True)
            continue
        written += save_chart(chart, folder, name)
    return written
