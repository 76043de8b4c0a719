"""The charts, as Altair (Vega-Lite) specifications built from the tables of ``data``.

Each function returns an Altair chart whose top-level ``data`` is the table it draws (so a
test or a user can read the numbers behind the picture); reference lines (the threshold,
zero) carry their own one-row data. Long labels are never cut (``labelLimit=0``).
"""

from __future__ import annotations

import pandas as pd

from identmatch._charts.data import ABOVE, BELOW
from identmatch._exceptions import MissingDependencyError

__all__ = [
    "INSTALL_HINT",
    "cluster_size_chart",
    "completeness_chart",
    "match_weight_chart",
    "parameters_chart",
    "rule_pairs_chart",
    "threshold_chart",
    "waterfall_chart",
]

INSTALL_HINT = (
    "charts need Altair and vl-convert: pip install 'identmatch[charts]' "
    "(or pip install altair vl-convert-python)"
)

try:  # this module is imported only when a chart is drawn
    import altair as alt
except ImportError as exc:  # pragma: no cover - the test environment has Altair
    raise MissingDependencyError(INSTALL_HINT) from exc

FOR, AGAINST, TOTAL, PRIOR = "#1b7837", "#b2182b", "#2c3e50", "#7f8c8d"
WIDTH = 520


def _threshold_marks(
    weight: float, text: str, *, y: int = 8, left: bool = False
) -> tuple[alt.Chart, alt.Chart]:
    """A dashed rule at ``weight`` with its label (``y`` pixels from the top, on the rule's
    left or right), on a one-row table of their own."""
    frame = pd.DataFrame({"at": [weight], "text": [text]})
    base = alt.Chart(frame)
    rule = base.mark_rule(strokeDash=[6, 4], color=TOTAL, size=2).encode(x="at:Q")
    label = base.mark_text(
        align="right" if left else "left", dx=-4 if left else 4, color=TOTAL
    ).encode(x="at:Q", y=alt.value(y), text="text:N")
    return rule, label


def match_weight_chart(bins: pd.DataFrame, threshold: float, weight: float) -> alt.LayerChart:
    """Pairs per bin of match weight, coloured by side of the threshold, with its line."""
    colour = alt.Color(
        "side:N",
        scale=alt.Scale(domain=[ABOVE, BELOW], range=[FOR, AGAINST]),
        legend=alt.Legend(title=None, orient="top"),
    )
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            x=alt.X("lower:Q", bin="binned", title="match weight (bits)"),
            x2="upper:Q",
            y=alt.Y("pairs:Q", title="pairs (symmetric log scale)", scale=alt.Scale(type="symlog")),
            color=colour,
            tooltip=["lower:Q", "upper:Q", "pairs:Q"],
        )
    )
    rule, label = _threshold_marks(weight, f"threshold {threshold:g} ({weight:+.1f} bits)")
    return alt.LayerChart(layer=[bars, rule, label], data=bins).properties(
        width=WIDTH, height=220, title="Scored pairs by match weight"
    )


def parameters_chart(params: pd.DataFrame) -> alt.HConcatChart:
    """Each level's weight (bits), and its m and u probabilities, comparison by comparison."""
    order = list(params["row"])
    y = alt.Y("row:N", sort=order, title=None, axis=alt.Axis(labelLimit=0))
    weights = (
        alt.Chart()
        .mark_bar()
        .encode(
            x=alt.X("weight:Q", title="weight: log2(m / u), bits"),
            y=y,
            color=alt.condition(alt.datum.weight >= 0, alt.value(FOR), alt.value(AGAINST)),
            tooltip=["comparison:N", "label:N", alt.Tooltip("weight:Q", format="+.2f")],
        )
        .properties(width=260, title="Level weights")
    )
    probabilities = (
        alt.Chart()
        .transform_fold(["m", "u"], as_=["parameter", "probability"])
        .mark_point(filled=True, size=60)
        .encode(
            x=alt.X(
                "probability:Q",
                scale=alt.Scale(type="log"),
                title="probability (log scale)",
                axis=alt.Axis(values=[1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1], format="~e"),
            ),
            y=alt.Y("row:N", sort=order, title=None, axis=None),
            color=alt.Color(
                "parameter:N",
                scale=alt.Scale(domain=["m", "u"], range=[FOR, TOTAL]),
                legend=alt.Legend(orient="top", title=None),
            ),
            shape=alt.Shape("parameter:N", legend=None),
            tooltip=["label:N", "parameter:N", alt.Tooltip("probability:Q", format=".3g")],
        )
        .properties(width=200, title="m (true matches) and u (different people)")
    )
    return alt.hconcat(weights, probabilities, data=params).properties(
        title="The model's parameters"
    )


def waterfall_chart(steps: pd.DataFrame, weight: float | None, title: str) -> alt.LayerChart:
    """One pair's match weight built from the prior and each comparison, bar by bar."""
    frame = steps.assign(
        row=[f"{s + 1}. {lbl}" for s, lbl in zip(steps["step"], steps["label"], strict=True)]
    )
    order = list(frame["row"])
    y = alt.Y("row:N", sort=order, title=None, axis=alt.Axis(labelLimit=0))
    colour = alt.Color(
        "kind:N",
        scale=alt.Scale(
            domain=["prior", "for", "against", "total"], range=[PRIOR, FOR, AGAINST, TOTAL]
        ),
        legend=alt.Legend(orient="top", title=None),
    )
    bars = (
        alt.Chart()
        .mark_bar()
        .encode(
            x=alt.X("start:Q", title="match weight (bits)"),
            x2="end:Q",
            y=y,
            color=colour,
            tooltip=["label:N", alt.Tooltip("weight:Q", format="+.2f")],
        )
    )
    values = (
        alt.Chart()
        .mark_text(align="left", dx=4)
        .encode(x=alt.X("max_end:Q"), y=y, text=alt.Text("weight:Q", format="+.2f"))
        .transform_calculate(max_end="max(datum.start, datum.end)")
    )
    zero = alt.Chart(pd.DataFrame({"at": [0.0]})).mark_rule(color="#444").encode(x="at:Q")
    layers: list[alt.Chart] = [bars, values, zero]
    if weight is not None:
        rule = (
            alt.Chart(pd.DataFrame({"at": [weight]}))
            .mark_rule(strokeDash=[6, 4], color=TOTAL, size=2)
            .encode(
                x="at:Q", tooltip=[alt.Tooltip("at:Q", title="threshold (bits)", format="+.2f")]
            )
        )
        layers.append(rule)
    return alt.LayerChart(layer=layers, data=frame).properties(width=WIDTH, title=title)


def threshold_chart(sweep: pd.DataFrame, threshold: float, title: str) -> alt.LayerChart:
    """Precision, recall and F1 against the threshold, with the threshold in use marked."""
    lines = (
        alt.Chart()
        .mark_line(point=False)
        .encode(
            x=alt.X(
                "threshold:Q", title="threshold (match probability)", scale=alt.Scale(domain=[0, 1])
            ),
            y=alt.Y("value:Q", title=None, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color(
                "measure:N",
                scale=alt.Scale(domain=["precision", "recall", "F1"], range=[FOR, AGAINST, TOTAL]),
                legend=alt.Legend(orient="top", title=None),
            ),
            tooltip=[
                "threshold:Q",
                "measure:N",
                alt.Tooltip("value:Q", format=".3f"),
                "predicted:Q",
            ],
        )
    )
    rule, label = _threshold_marks(
        threshold, f"threshold in use {threshold:g}", y=245, left=threshold > 0.5
    )
    return alt.LayerChart(layer=[lines, rule, label], data=sweep).properties(
        width=WIDTH, height=260, title=title
    )


def cluster_size_chart(sizes: pd.DataFrame) -> alt.LayerChart:
    """How many entities hold one record, two, three, ..."""
    x = alt.X("size:O", title="records in the entity")
    bars = (
        alt.Chart()
        .mark_bar(color=TOTAL)
        .encode(
            x=x,
            y=alt.Y("entities:Q", title="entities"),
            tooltip=["size:O", "entities:Q", "records:Q"],
        )
    )
    text = alt.Chart().mark_text(dy=-6).encode(x=x, y="entities:Q", text="entities:Q")
    return alt.LayerChart(layer=[bars, text], data=sizes).properties(
        width=WIDTH, height=220, title="Entities by size"
    )


def rule_pairs_chart(rules: pd.DataFrame) -> alt.LayerChart:
    """Pairs each candidate rule brought that no earlier rule had."""
    y = alt.Y("rule:N", sort=list(rules["rule"]), title=None, axis=alt.Axis(labelLimit=0))
    bars = (
        alt.Chart()
        .mark_bar(color=TOTAL)
        .encode(
            x=alt.X("new_pairs:Q", title="pairs compared, new with this rule"),
            y=y,
            tooltip=["rule:N", "new_pairs:Q"],
        )
    )
    text = (
        alt.Chart().mark_text(align="left", dx=4).encode(x="new_pairs:Q", y=y, text="new_pairs:Q")
    )
    return alt.LayerChart(layer=[bars, text], data=rules).properties(
        width=WIDTH, title="Pairs per candidate rule"
    )


def completeness_chart(table: pd.DataFrame, group_title: str) -> alt.LayerChart:
    """Share of records with a usable value, per field (columns) and source (rows)."""
    x = alt.X(
        "field:N",
        sort=list(dict.fromkeys(table["field"])),
        title=None,
        axis=alt.Axis(labelAngle=0, labelLimit=0),
    )
    y = alt.Y("group:N", title=group_title, axis=alt.Axis(labelLimit=0))
    cells = (
        alt.Chart()
        .mark_rect()
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "share:Q",
                scale=alt.Scale(domain=[0, 1], scheme="greens"),
                legend=alt.Legend(title="usable", format="%"),
            ),
            tooltip=[
                "field:N",
                "group:N",
                "present:Q",
                "records:Q",
                alt.Tooltip("share:Q", format=".1%"),
            ],
        )
    )
    text = (
        alt.Chart()
        .mark_text()
        .encode(
            x=x,
            y=y,
            text=alt.Text("share:Q", format=".0%"),
            color=alt.condition(alt.datum.share > 0.6, alt.value("white"), alt.value("black")),
        )
    )
    return alt.LayerChart(layer=[cells, text], data=table).properties(
        width=WIDTH, title="Usable values per field and " + group_title
    )
