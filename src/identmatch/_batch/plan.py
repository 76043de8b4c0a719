"""What a batch run is made of before it runs: the default model for the columns at hand, the
training sample, and the query choosing candidate pairs (with its report)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from identmatch._batch.engine import CandidateQuery, Engine
from identmatch._batch.spark import SparkEngine
from identmatch._candidates.blocking import (
    DEFAULT_BLOCKING_RULES,
    BlockingReport,
    RuleCount,
    choose_blocking_rules,
    describe_rule,
)
from identmatch._candidates.choose import (
    SqlDialect,
    Statement,
    candidate_sql,
    with_candidates_sql,
)
from identmatch._config import ModelConfig
from identmatch._exceptions import ConfigError, backend_errors
from identmatch._model.catalogue import default_comparisons
from identmatch._model.declared import declared_blocking_rules, declared_comparisons
from identmatch._model.estimate import Patterns
from identmatch._model.model import Model, patterns_from_levels
from identmatch._model.patterns import pattern_counts_sql
from identmatch._prepare.declared import (
    DeclaredSchema,
)

__all__ = [
    "blocking_report",
    "candidate_frame",
    "candidate_query",
    "count_patterns",
    "default_model",
    "training_fraction",
    "training_pairs",
    "training_sample",
]


def training_sample(
    engine: Engine | SparkEngine,
    prepared: list[pd.DataFrame],
    names: list[str],
    inputs: list[Any],
    config: ModelConfig,
) -> list[Any]:
    """The inputs to train on: all of them, or a uniform sample of each when they are large.

    Sampling every input by the same fraction leaves the m and u probabilities and the prior
    (the share of record pairs that match) unbiased, and keeps EM's pair count bounded.
    """
    fraction = training_fraction(prepared, config)
    if fraction >= 1.0:
        return inputs
    sampled = []
    with backend_errors("sampling records for training"):
        for frame, name in zip(prepared, names, strict=True):
            sample = frame.sample(frac=fraction, random_state=config.seed)
            sampled.append(engine.load_prepared(sample, f"train_{name}"))
    return sampled


def default_model(
    available: set[str], sizes: list[int], linked: bool, declared: DeclaredSchema
) -> Model:
    personal = [s for s in declared.identifiers if s.personal]
    comparisons = default_comparisons(
        sorted(available),
        [s.prepared for s in personal],
        [(s.prepared, s.prepared_swaps) for s in personal],
    ) + declared_comparisons(declared, available)
    if not comparisons:
        msg = (
            "the input has no columns to compare: give at least one of forename, surname, "
            "dob, postcode, nhs_number (map yours with columns={...} or --map)"
        )
        raise ConfigError(msg)
    # Declared identifiers' keys come first, as the NHS number's does: a shared identifier
    # is the strongest evidence a pair can share.
    blocking_rules = choose_blocking_rules(
        sorted(available), (*declared_blocking_rules(declared), *DEFAULT_BLOCKING_RULES)
    )
    if not blocking_rules:
        msg = (
            "the input has too few columns to form candidate pairs; give at least a surname "
            "and a date of birth, or an NHS number"
        )
        raise ConfigError(msg)
    # Before training: assume about one true match per record (a documented default).
    biggest = max(max(sizes), 2)
    prior = 1.0 / biggest if linked else 2.0 / (biggest - 1)
    return Model(
        comparisons=comparisons,
        blocking_rules=blocking_rules,
        probability_two_random_records_match=min(max(prior, 1e-9), 0.5),
        declared=declared,
    )


def candidate_query(dialect: str, model: Model, n_records: int) -> CandidateQuery:
    def build(
        tables: list[str],
    ) -> tuple[list[Statement], str, Callable[[str, str, int], str]]:
        sql_dialect: SqlDialect = "spark" if dialect == "spark" else "duckdb"
        statements = candidate_sql(
            sql_dialect, model.blocking_rules, tables, model.candidates, n_records, "__im_cand"
        )

        def extend(table: str, kept: str, position: int) -> str:
            return with_candidates_sql(sql_dialect, table, kept, position)

        return statements, statements[-1].table, extend

    return build


def candidate_frame(chosen: pd.DataFrame, linked: bool) -> pd.DataFrame:
    """The chosen pairs as record ids (and, in a link, ``left``/``right``)."""
    out = pd.DataFrame({"unique_id_l": chosen["uid_l"], "unique_id_r": chosen["uid_r"]})
    if linked:
        names = {0: "left", 1: "right"}
        out["source_dataset_l"] = chosen["src_l"].map(names)
        out["source_dataset_r"] = chosen["src_r"].map(names)
    # In record-id order: a backend returns the pairs in an order of its own.
    out = out.sort_values(["unique_id_l", "unique_id_r"], kind="stable")
    return out.reset_index(drop=True)


def blocking_report(chosen: pd.DataFrame, model: Model, n_records: int) -> BlockingReport:
    """Chosen pairs in all, and by the first rule (in catalogue order) whose key they share."""
    counts = chosen["first_rule"].value_counts().to_dict() if len(chosen) else {}
    rules = tuple(
        RuleCount(rule=describe_rule(rule), new_pairs=int(counts.get(number, 0)))
        for number, rule in enumerate(model.blocking_rules)
    )
    return BlockingReport(records=n_records, pairs=len(chosen), rules=rules)


def training_fraction(prepared: list[pd.DataFrame], config: ModelConfig) -> float:
    """The share of the records training reads (all, or a uniform sample)."""
    total = sum(len(frame) for frame in prepared)
    return min(1.0, config.max_records_to_train / total) if total else 1.0


def training_pairs(prepared: list[pd.DataFrame], linked: bool, config: ModelConfig) -> float:
    """Record pairs among the training inputs (all records, or the uniform sample)."""
    fraction = training_fraction(prepared, config)
    n = [len(frame) * fraction for frame in prepared]
    return n[0] * n[-1] if linked else n[0] * (n[0] - 1) / 2


def count_patterns(
    engine: Engine | SparkEngine, inputs: list[Any], model: Model, rule: tuple[str, ...]
) -> Patterns | None:
    """An EM block's agreement patterns, counted by the backend in one query."""

    def sql(tables: list[str], columns: list[str]) -> str:
        return pattern_counts_sql(model.comparisons, rule, tables, columns, engine.dialect)

    with backend_errors("counting agreement patterns for training"):
        table = engine.query_arrow(inputs, sql).to_pandas()
    return patterns_from_levels(model, table)
