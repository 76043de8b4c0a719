"""The charts: the data behind each one checked against the run, model or index it draws, and
each rendered once, offline (SVG, PNG, and HTML with the Vega JavaScript inlined)."""

from __future__ import annotations

import itertools
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import identmatch
from identmatch._charts import render
from identmatch._synthetic.demo import demo_paths

pytestmark = pytest.mark.slow
pytest.importorskip("altair")
pytest.importorskip("vl_convert")

ADULTS, CHILDREN = demo_paths()
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def linked() -> identmatch.Result:
    return identmatch.link(ADULTS, CHILDREN)


@pytest.fixture(scope="module")
def deduped() -> identmatch.Result:
    """The adults' file deduplicated with a few decisions, so decisions can be drawn."""
    people = pd.read_csv(ADULTS, dtype=str, keep_default_na=False)
    first = identmatch.dedupe(people)
    top = first.pairs.head(6)
    decisions = pd.DataFrame(
        {
            "record_id_l": top["record_id_l"],
            "record_id_r": top["record_id_r"],
            "decision": ["same", "same", "same", "same", "different", "unsure"],
        }
    )
    return identmatch.dedupe(people, decisions=decisions)


def _layer_data(chart: object, index: int) -> pd.DataFrame:
    data = chart.layer[index].data  # type: ignore[attr-defined]
    assert isinstance(data, pd.DataFrame)
    return data


def _weight(p: float) -> float:
    return math.log2(p / (1 - p))


def _offline(html: str) -> None:
    """A self-contained page: scripts inline, nothing fetched from elsewhere."""
    assert "<script" in html
    assert re.findall(r"<script[^>]*\bsrc=", html) == []
    assert re.findall(r"""(?:src|href)=["']?https?:""", html) == []
    assert "vegaEmbed" in html


def test_match_weight_chart_counts_every_pair(linked: identmatch.Result) -> None:
    chart = linked.match_weight_chart()
    bins = chart.data
    assert bins["pairs"].sum() == len(linked.pairs)
    for _, row in bins.iterrows():
        inside = linked.pairs["match_weight"].between(row.lower, row.upper, inclusive="left")
        assert row.pairs == inside.sum()
        above = row.lower >= _weight(linked.threshold)
        assert row.side == ("at or above the threshold" if above else "below the threshold")
    rule = _layer_data(chart, 1)
    assert rule["at"].iloc[0] == pytest.approx(_weight(linked.threshold))
    svg = render.to_svg(chart)
    assert svg.startswith("<svg")
    assert "threshold 0.95" in svg


def test_waterfall_chart_adds_up_to_the_pair(linked: identmatch.Result) -> None:
    pair = linked.pairs.iloc[len(linked.pairs) // 2]
    explanation = linked.explain(pair.record_id_l, pair.record_id_r)
    chart = linked.waterfall_chart(pair.record_id_l, pair.record_id_r)
    steps = chart.data
    assert list(steps["label"].iloc[1:-1]) == [c.label for c in explanation.contributions]
    assert steps["weight"].iloc[0] == pytest.approx(explanation.prior_weight)
    assert steps["end"].iloc[-2] == pytest.approx(pair.match_weight, abs=1e-6)
    assert steps["kind"].iloc[-1] == "total"
    assert steps["end"].iloc[-1] == pytest.approx(pair.match_weight, abs=1e-6)
    threshold_rule = _layer_data(chart, 3)
    assert threshold_rule["at"].iloc[0] == pytest.approx(_weight(linked.threshold))
    assert render.to_png(chart).startswith(PNG)


def test_threshold_chart_from_truth(linked: identmatch.Result) -> None:
    sweep = linked.threshold_chart(truth="person_id").data
    entities = linked.entities
    person = {
        (i, r): p
        for i, r, p in zip(
            entities["input"], entities["record_id"], entities["person_id"], strict=True
        )
    }
    left = entities[entities["input"] == "left"]["person_id"].value_counts()
    right = entities[entities["input"] == "right"]["person_id"].value_counts()
    true_pairs = sum(n * right.get(p, 0) for p, n in left.items())
    same = [
        person[("left", a)] == person[("right", b)]
        for a, b in zip(linked.pairs["record_id_l"], linked.pairs["record_id_r"], strict=True)
    ]
    for cut in (0.1, 0.5, linked.threshold, 0.99):
        at = linked.pairs["match_probability"] >= cut
        tp = sum(s for s, a in zip(same, at, strict=True) if a)
        rows = sweep[sweep["threshold"] == cut].set_index("measure")["value"]
        assert rows["precision"] == pytest.approx(tp / at.sum())
        assert rows["recall"] == pytest.approx(tp / true_pairs)
    with pytest.raises(identmatch.SchemaError, match="nope"):
        linked.threshold_chart(truth="nope")


def test_threshold_chart_from_decisions(
    deduped: identmatch.Result, linked: identmatch.Result
) -> None:
    chart = deduped.threshold_chart()
    sweep = chart.data
    at_start = sweep[(sweep["threshold"] == 0.01)].set_index("measure")
    # 4 same and 1 different decided (the unsure left out), all scored above 0.01
    assert at_start.loc["precision", "predicted"] == 5
    assert at_start.loc["precision", "value"] == pytest.approx(4 / 5)
    assert at_start.loc["recall", "value"] == pytest.approx(1.0)
    assert _layer_data(chart, 1)["at"].iloc[0] == deduped.threshold
    with pytest.raises(identmatch.ConfigError, match="truth="):
        linked.threshold_chart()  # a run without decisions, and no truth given


def test_cluster_size_chart(deduped: identmatch.Result) -> None:
    sizes = deduped.cluster_size_chart().data
    counted = deduped.entities["entity_id"].value_counts().value_counts()
    assert dict(zip(sizes["size"], sizes["entities"], strict=True)) == counted.to_dict()
    assert sizes["records"].sum() == len(deduped.entities)


def test_rule_pairs_chart(linked: identmatch.Result) -> None:
    assert linked.blocking is not None
    rules = linked.rule_pairs_chart().data
    assert list(rules["rule"]) == [r.rule for r in linked.blocking.rules]
    assert list(rules["new_pairs"]) == [r.new_pairs for r in linked.blocking.rules]


def test_completeness_chart(linked: identmatch.Result) -> None:
    table = linked.completeness_chart().data
    entities = linked.entities
    for source, group in entities.groupby("source"):
        row = table[(table["field"] == "surname") & (table["group"] == source)].iloc[0]
        assert row["records"] == len(group)
        assert row["present"] == (group["surname"].str.strip() != "").sum()
        nhs = table[(table["field"] == "NHS number") & (table["group"] == source)].iloc[0]
        assert nhs["present"] <= (group["nhs_number"].str.strip() != "").sum()
    assert table["share"].between(0, 1).all()
    assert (table.groupby("field")["records"].sum() == len(entities)).all()
    _offline(render.to_html(linked.completeness_chart()))


def test_parameters_chart(linked: identmatch.Result) -> None:
    model = linked.model
    params = model.parameters_chart().data
    levels = [
        (s.name, i) for s in model.comparisons for i, lv in enumerate(s.levels) if lv.kind != "null"
    ]
    assert list(zip(params["comparison"], params["level"], strict=True)) == levels
    for _, row in params.iterrows():
        assert row.weight == pytest.approx(model.level_weight(row.comparison, row.level))
    assert params["row"].is_unique
    name = model.comparisons[1].name
    one = model.parameters_chart([name]).data
    assert set(one["comparison"]) == {name}
    assert len(one) == sum(1 for c, _ in levels if c == name)
    with pytest.raises(KeyError, match="no comparison named"):
        model.parameters_chart(["nope"])
    assert render.to_svg(model.parameters_chart()).startswith("<svg")


def test_index_charts_and_report_command(tmp_path: Path) -> None:
    """`identmatch report --charts DIR`, through the installed command, and the index's data."""
    path = tmp_path / "known.duckdb"
    index = identmatch.Index.build(ADULTS, path)
    try:
        histogram = index.match_weight_histogram()
        bins = index.match_weight_chart().data
        assert bins["pairs"].sum() == sum(n for _, _, n in histogram)
        sizes = index.cluster_size_chart().data
        assert sizes["records"].sum() == len(index)
        assert sizes["entities"].sum() == index.export()["entity_id"].nunique()
        table = index.completeness_chart().data
        assert set(table["group"]) == set(index.export()["source"])
        with pytest.raises(identmatch.ConfigError, match="no same/different decisions"):
            index.threshold_chart()
        pairs = list(itertools.islice(index.review_queue(limit=5).pairs, 2))
        assert pairs
        for pair, decision in zip(pairs, ("same", "different"), strict=False):
            index.decide(list(pair.record_ids), decision)  # type: ignore[arg-type]
        sweep = index.threshold_chart().data
        assert sweep[sweep["measure"] == "precision"]["predicted"].max() == len(pairs)
    finally:
        index.close()
    command = Path(sys.executable).with_name("identmatch")
    out = tmp_path / "charts"
    done = subprocess.run(
        [str(command), "report", "--index", str(path), "--charts", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    names = [
        "match_weights",
        "parameters",
        "cluster_sizes",
        "completeness",
        "threshold",
        "waterfall",
    ]
    for name in names:
        assert (out / f"{name}.png").read_bytes().startswith(PNG)
        _offline((out / f"{name}.html").read_text(encoding="utf-8"))
    assert f"{2 * len(names)} chart files written" in done.stderr


def test_text_xml_cannot_hold_is_drawn_replaced() -> None:
    """A control character or an unpaired surrogate in a label (a source name, a declared
    comparison's label) is replaced, not passed to the renderer, which would abort."""
    explanation = identmatch.Explanation(
        record_id_l="R\x011",
        record_id_r="R2\ud83a",
        match_weight=1.0,
        match_probability=0.6,
        prior_weight=-3.0,
        contributions=(
            identmatch.Contribution(comparison="x", level=0, label="bad\x11label", weight=4.0),
        ),
    )
    svg = render.to_svg(explanation.waterfall_chart())
    assert "bad\ufffdlabel" in svg
    assert render.to_png(explanation.waterfall_chart()).startswith(PNG)


def test_without_altair_the_error_gives_the_install_command() -> None:
    """``import identmatch`` needs no Altair; drawing without it says what to install."""
    code = (
        "import sys\n"
        "sys.modules['altair'] = None\n"
        "import identmatch\n"
        "e = identmatch.Explanation(record_id_l='a', record_id_r='b', match_weight=1.0,\n"
        "    match_probability=0.6, prior_weight=-2.0, contributions=())\n"
        "try:\n"
        "    e.waterfall_chart()\n"
        "except identmatch.MissingDependencyError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert "pip install 'identmatch[charts]'" in done.stdout
