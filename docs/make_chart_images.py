"""Regenerate the chart pictures in docs/images/charts/ from the bundled demo files.

    PYTHONPATH=src python docs/make_chart_images.py

Links the two demo files (synthetic people) and writes one PNG per chart, rendered offline by
vl-convert exactly as ``identmatch report --charts`` renders them.
"""

from __future__ import annotations

from pathlib import Path

import identmatch
from identmatch._charts.render import to_png
from identmatch.testing import demo_paths

OUT = Path(__file__).parent / "images" / "charts"


def main() -> None:
    adults, children = demo_paths()
    result = identmatch.link(adults, children)
    near = result.pairs.iloc[
        (result.pairs["match_probability"] - result.threshold).abs().argsort()[:1]
    ].iloc[0]
    charts = {
        "match_weights": result.match_weight_chart(),
        "parameters": result.model.parameters_chart(),
        "waterfall": result.waterfall_chart(near.record_id_l, near.record_id_r),
        "threshold": result.threshold_chart(truth="person_id"),
        "cluster_sizes": result.cluster_size_chart(),
        "rule_pairs": result.rule_pairs_chart(),
        "completeness": result.completeness_chart(),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    for name, chart in charts.items():
        (OUT / f"{name}.png").write_bytes(to_png(chart, scale=1.0))
        print(OUT / f"{name}.png")  # noqa: T201


if __name__ == "__main__":
    main()
