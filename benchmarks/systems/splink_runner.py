"""Splink 5 on DuckDB, trained and run step by step as its example notebooks do."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from benchmarks.progress import note
from benchmarks.systems import PAIR_COLUMNS, SystemOutput
from benchmarks.systems.splink_models import SplinkModel, model_for, prepare_sql

if TYPE_CHECKING:
    from pathlib import Path

    from benchmarks.datasets import Dataset

__all__ = ["run"]

# Only the columns the synthetic model reads (the generator's frame has lists and labels too).
_SYNTHETIC_COLUMNS = [
    "record_id",
    "person_id",
    "forename",
    "surname",
    "dob",
    "sex",
    "postcode",
    "nhs_number",
]


def _rule_sql(rule: Any) -> str:
    return (
        rule if isinstance(rule, str) else str(rule.get_blocking_rule("duckdb").blocking_rule_sql)
    )


def run(dataset: Dataset, work: Path) -> SystemOutput:
    """Train Splink on ``dataset`` and predict and cluster, timing each stage."""
    del work  # everything stays in DuckDB
    from splink import DuckDBAPI, Linker, SettingsCreator

    spec = dataset.spec
    model = model_for(spec.source, spec.with_ssid)
    link = spec.task == "link"
    con = duckdb.connect()
    db_api = DuckDBAPI(connection=con)

    note("preparing the input")
    start = time.perf_counter()
    tables = {}
    for name, frame in dataset.inputs.items():
        raw = frame[_SYNTHETIC_COLUMNS] if spec.source == "synthetic" else frame
        con.register(f"raw_{name}", raw)
        sql = prepare_sql(spec.source, spec.with_ssid, f"raw_{name}")
        con.execute(f"create table prepared_{name} as {sql}")
        con.unregister(f"raw_{name}")
        tables[name] = f"prepared_{name}"
    sdfs = [
        db_api.register(table, dataset_display_name=f"ds_{name}") for name, table in tables.items()
    ]
    settings = SettingsCreator(
        unique_id_column_name=model.unique_id,
        link_type="link_only" if link else "dedupe_only",
        blocking_rules_to_generate_predictions=model.blocking_rules,
        comparisons=model.comparisons,
        retain_intermediate_calculation_columns=True,
    )
    linker = Linker(sdfs if link else sdfs[0], settings)
    prepared = time.perf_counter()

    note("training (prior, u by sampling, m by EM)")
    linker.training.estimate_probability_two_random_records_match(
        model.deterministic_rules, recall=model.recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=model.u_max_pairs, seed=model.u_seed)
    for rule in model.em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=model.em_without_tf
        )
    trained = time.perf_counter()

    note("predicting")
    predictions = linker.inference.predict(threshold_match_probability=model.predict_threshold)
    predicted = time.perf_counter()

    note("clustering")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=model.cluster_threshold
    ).as_pandas_dataframe()
    done = time.perf_counter()

    floor = model.predict_threshold or 0.01
    timings = {
        "train": trained - prepared,
        "predict": predicted - trained,
        "cluster": done - predicted,
        "other": prepared - start,
        "total": done - start,
    }

    def replay(true_pairs: pd.DataFrame) -> tuple[int, int]:
        scored = _pairs_scored(predictions, sdfs, model, link)
        return scored, _blocked_true_pairs(con, tables, model, true_pairs)

    return SystemOutput(
        entities=_entities(clusters, model.unique_id, link, dataset),
        pairs=None,
        load_pairs=lambda: _pairs(predictions, model.unique_id, link, floor),
        release=con.close,
        default_threshold=model.cluster_threshold,
        pair_floor=floor,
        pairs_scored=None,
        timings=timings,
        settings=model.description,
        replay_blocking=replay,
    )


def _source(values: pd.Series[Any]) -> pd.Series[str]:
    return values.astype(str).str.replace(r"^.*ds_", "", regex=True)


def _entities(clusters: pd.DataFrame, uid: str, link: bool, dataset: Dataset) -> pd.DataFrame:
    inputs = _source(clusters["source_dataset"]) if link else "input"
    out = pd.DataFrame({"input": inputs, "record_id": clusters[uid].astype(str)})
    out["entity_id"] = clusters["cluster_id"].astype(str).to_numpy()
    if len(out) != sum(len(f) for f in dataset.inputs.values()):
        msg = f"Splink returned {len(out)} clustered records for {dataset.spec.name}"
        raise RuntimeError(msg)
    return out


def _pairs(predictions: Any, uid: str, link: bool, floor: float) -> pd.DataFrame:
    sides = "source_dataset_l, source_dataset_r, " if link else ""
    frame = (
        predictions.as_duckdbpyrelation()
        .filter(f"match_probability >= {floor}")
        .project(f"{sides}{uid}_l, {uid}_r, match_probability")
        .df()
    )
    out = pd.DataFrame(
        {
            "input_l": _source(frame["source_dataset_l"]) if link else "input",
            "record_id_l": frame[f"{uid}_l"].astype(str),
            "input_r": _source(frame["source_dataset_r"]) if link else "input",
            "record_id_r": frame[f"{uid}_r"].astype(str),
            "match_probability": frame["match_probability"].astype(float),
        }
    )
    return out[PAIR_COLUMNS]


def _pairs_scored(predictions: Any, sdfs: list[Any], model: SplinkModel, link: bool) -> int:
    """Pairs Splink compared: all predictions when unfiltered, else Splink's exact count."""
    if model.predict_threshold is None:
        return int(predictions.as_duckdbpyrelation().count("*").fetchall()[0][0])
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    counts = count_comparisons_from_blocking_rules(
        sdfs if link else sdfs[0],
        blocking_rules=model.blocking_rules,
        link_type="link_only" if link else "dedupe_only",
        unique_id_column_name=model.unique_id,
        record_sample_proportion=1.0,
    )
    return sum(int(_field(c, "marginal_comparison_count")) for c in counts)


def _field(record: Any, name: str) -> Any:
    return record[name] if isinstance(record, dict) else getattr(record, name)


def _blocked_true_pairs(
    con: duckdb.DuckDBPyConnection,
    tables: dict[str, str],
    model: SplinkModel,
    true_pairs: pd.DataFrame,
) -> int:
    """True pairs that meet at least one of the model's blocking rules (replayed in SQL)."""
    con.register("true_pairs", true_pairs)
    uid = model.unique_id
    condition = " or ".join(f"({_rule_sql(rule)})" for rule in model.blocking_rules)
    left = tables.get("left", tables.get("input"))
    right = tables.get("right", tables.get("input"))
    sql = f"""
        select count(*) from true_pairs t
        join {left} l on l.{uid} = t.record_id_l
        join {right} r on r.{uid} = t.record_id_r
        where coalesce({condition}, false)
    """
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0
