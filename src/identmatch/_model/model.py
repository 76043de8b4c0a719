"""The Fellegi-Sunter model: comparisons with their m and u, blocking rules and the prior.

A :class:`Model` is plain data. Its levels carry their m and u probabilities, so the same
object drives Splink on any backend (it is compiled fresh for each run) and in-process
scoring. Training runs Splink's estimators (u by random sampling, m by EM) and reads the
estimates back into a new Model.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from identmatch._candidates.blocking import BlockingRule, CandidateSettings, compile_blocking_rule
from identmatch._candidates.choose import CANDIDATE_COLUMN
from identmatch._config import ModelConfig
from identmatch._exceptions import ModelError, backend_errors
from identmatch._model.estimate import (
    LevelHealth,
    MatchCounts,
    Patterns,
    em_on_patterns,
    regularise,
)
from identmatch._model.level_sql import compile_comparison
from identmatch._model.levels import ComparisonSpec
from identmatch._model.run_config import RunConfig
from identmatch._prepare.declared import DeclaredSchema

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

__all__ = [
    "Model",
    "TrainingSummary",
    "block_pair_count",
    "build_settings",
    "pair_completeness",
    "patterns_from_levels",
    "train_model",
]

logger = logging.getLogger("identmatch")

_FORMAT = "identmatch-model"
_FORMAT_VERSION = 1

SplinkLinkType = Literal["dedupe_only", "link_only"]


class TrainingSummary(BaseModel, frozen=True, extra="forbid"):
    """What was estimated from data and what kept its documented default."""

    records: int = Field(ge=0)
    prior: Literal["estimated", "default"]
    u: Literal["estimated", "default"]
    m: Literal["estimated", "default"]
    em_blocking_rules: tuple[str, ...] = ()
    levels: tuple[LevelHealth, ...] = ()
    """The model-health table: per level, the matching pairs EM saw, the raw and final
    weights and what was constrained (:mod:`identmatch._model.estimate`)."""


class Model(BaseModel, frozen=True, extra="forbid"):
    """A matching model. Weights are in bits: ``log2(m / u)`` per level.

    Create one by training (``identmatch.dedupe`` does it) or load a saved one with
    :meth:`load`. The default levels' m and u are the documented priors used when the
    input is too small to train on.
    """

    comparisons: tuple[ComparisonSpec, ...]
    blocking_rules: tuple[BlockingRule, ...]
    """Candidate keys (see :mod:`identmatch._candidates.choose`)."""
    candidates: CandidateSettings = CandidateSettings()
    """How candidates are chosen among the records sharing keys, in batch and in search."""
    probability_two_random_records_match: float = Field(gt=0.0, lt=1.0)
    training: TrainingSummary | None = None
    declared: DeclaredSchema = DeclaredSchema()
    """Identifiers and attributes declared beyond the standard columns: how they are
    standardised and compared. Model files written before there were any lack it, and load
    with none."""
    run_config: RunConfig | None = None
    """The config file (``identmatch.toml``) of the run that saved the model, if any."""

    def level_weight(self, comparison: str, level: int) -> float:
        """Match weight (bits) of a level, without term-frequency adjustment; 0 for null."""
        spec = self.comparison(comparison)
        lv = spec.levels[level]
        if lv.kind == "null":
            return 0.0
        return math.log2(lv.m / lv.u)

    def comparison(self, name: str) -> ComparisonSpec:
        """The comparison called ``name``.

        Raises:
            KeyError: no comparison has that name.
        """
        for spec in self.comparisons:
            if spec.name == name:
                return spec
        msg = f"the model has no comparison named {name!r}"
        raise KeyError(msg)

    def health(self) -> pd.DataFrame:
        """The model-health table of the last training, one row per level (empty if untrained).

        Columns: ``comparison``, ``label``, ``matches_seen`` (matching pairs EM saw in the
        level), ``raw_weight`` (EM's maximum-likelihood estimate, bits; NaN where EM did
        not see the comparison), ``weight`` (what the model uses), ``default_weight`` and
        ``constrained`` (what changed the raw estimate, ``; ``-separated).
        """
        import pandas as pd

        rows = [
            {**row.model_dump(), "constrained": "; ".join(row.constrained)}
            for row in (self.training.levels if self.training else ())
        ]
        columns = [
            "comparison",
            "label",
            "matches_seen",
            "raw_weight",
            "weight",
            "default_weight",
            "constrained",
        ]
        frame = pd.DataFrame(rows, columns=columns)
        frame["raw_weight"] = frame["raw_weight"].astype(float)
        return frame

    def parameters_chart(self, comparisons: Sequence[str] | None = None) -> alt.HConcatChart:
        """A chart of each level's weight (bits) and its m and u probabilities.

        Args:
            comparisons: the comparisons to draw, by name; None: all of them.

        Null levels (a value missing) weigh nothing and are left out. The chart's ``data``
        holds ``comparison``, ``level``, ``label``, ``m``, ``u`` and ``weight`` per level.

        Raises:
            KeyError: a name in ``comparisons`` is not a comparison of the model.
            MissingDependencyError: Altair is not installed (``identmatch[charts]``).
        """
        from identmatch._charts.data import level_parameters
        from identmatch._charts.specs import parameters_chart

        specs = (
            self.comparisons
            if comparisons is None
            else tuple(self.comparison(name) for name in comparisons)
        )
        rows = [
            {
                "comparison": spec.name,
                "level": i,
                "label": lv.label,
                "kind": lv.kind,
                "m": lv.m,
                "u": lv.u,
            }
            for spec in specs
            for i, lv in enumerate(spec.levels)
        ]
        return parameters_chart(level_parameters(rows))

    @property
    def tf_columns(self) -> list[str]:
        """Columns whose exact-match weight is adjusted for how common the value is."""
        return sorted(
            {lv.column for spec in self.comparisons for lv in spec.levels if lv.tf and lv.column}
        )

    @property
    def prior_weight(self) -> float:
        """Match weight (bits) of the prior probability that two random records match."""
        p = self.probability_two_random_records_match
        return math.log2(p / (1.0 - p))

    def save(self, path: str | Path) -> None:
        """Write the model as JSON; written to a temporary file, then renamed into place."""
        target = Path(path)
        payload = {"format": _FORMAT, "format_version": _FORMAT_VERSION, **self.model_dump()}
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(payload, indent=2), encoding="utf-8")
        tmp.replace(target)

    @classmethod
    def load(cls, path: str | Path) -> Model:
        """Read a model saved by :meth:`save`.

        Raises:
            ModelError: the file is missing, not JSON, or not an identmatch model.
        """
        source = Path(path)
        try:
            payload = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            msg = f"{source}: no such model file"
            raise ModelError(msg) from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            msg = f"{source.name}: not a model file (expected JSON written by identmatch)"
            raise ModelError(msg) from exc
        if not isinstance(payload, dict) or payload.pop("format", None) != _FORMAT:
            msg = f"{source.name}: not an identmatch model file"
            raise ModelError(msg)
        version = payload.pop("format_version", None)
        if version != _FORMAT_VERSION:
            msg = (
                f"{source.name}: model format version {version} is not supported; "
                f"this identmatch reads version {_FORMAT_VERSION}"
            )
            raise ModelError(msg)
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()[:3])
            msg = f"{source.name}: the model file is damaged or incomplete (fields: {fields})"
            raise ModelError(msg) from None


def build_settings(
    model: Model,
    link_type: SplinkLinkType,
    dialect: str = "duckdb",
    *,
    max_iterations: int = 25,
    blocking: Literal["candidates", "keys"] | BlockingRule = "candidates",
) -> Any:
    """Splink settings for ``model``, its custom levels written for ``dialect``.

    The model itself is dialect-neutral: the same saved file compiles for DuckDB or Spark.
    ``max_iterations`` caps each EM session (``ModelConfig.em_max_iterations``).
    ``blocking="candidates"`` pairs the records that the candidate generator chose (inputs
    need their ``candidate_pairs`` column); ``"keys"`` pairs every two records sharing any
    of the model's keys, for Splink's own one-record paths (``predict_between``); a
    blocking rule (a tuple of columns) pairs the records equal on all of them, keeping only
    the comparison levels of each pair (training counts their agreement patterns).
    """
    from splink import SettingsCreator

    if blocking == "candidates":
        rules = [compile_blocking_rule((f"{CANDIDATE_COLUMN}[]",))]
    elif blocking == "keys":
        rules = [compile_blocking_rule(rule) for rule in model.blocking_rules]
    else:
        rules = [compile_blocking_rule(blocking)]

    return SettingsCreator(
        link_type=link_type,
        comparisons=[compile_comparison(spec, dialect) for spec in model.comparisons],
        # The chosen pairs (identmatch._candidates.choose): two records share an element of
        # this list exactly when they are a candidate pair.
        blocking_rules_to_generate_predictions=rules,
        probability_two_random_records_match=model.probability_two_random_records_match,
        max_iterations=max_iterations,
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
    )


_PRIOR_RULES: tuple[BlockingRule, ...] = (
    ("forename_std", "surname_joined", "dob"),
    ("nhs_std",),
)
_PRIOR_RECALL = 0.7  # share of true matches the deterministic rules above are taken to find

_EM_RULES: tuple[BlockingRule, ...] = (
    ("dob",),
    ("forename_ph", "surname_ph"),
    ("postcode_std",),
)


def train_model(
    make_linker: Callable[[Model], Any],
    model: Model,
    *,
    records: int,
    available: set[str],
    config: ModelConfig,
    count_patterns: Callable[[Model, BlockingRule], Patterns | None],
    pairs: float | None = None,
    present: dict[str, float] | None = None,
    block_pairs: Callable[[BlockingRule], float] | None = None,
) -> Model:
    """Estimate the prior, u and m, and return the trained Model with its health table.

    Splink estimates the prior (deterministic rules) and u (random sampling). m is estimated
    by :mod:`identmatch._model.estimate`: EM with prior counts over the agreement patterns of
    each EM block, then the order and bounds a person would accept. A block with no pairs is
    skipped.

    Args:
        make_linker: builds a Splink Linker for a model (``build_settings`` on the inputs),
            for the prior and u.
        model: the untrained model (its m and u are the defaults).
        records: number of input records.
        available: prepared columns holding any values.
        config: training settings.
        pairs: record pairs in the training inputs (``n(n-1)/2`` for a dedupe, ``n_l n_r``
            for a link). Given, the prior is estimated from the EM blocks (below).
        present: per column, the share of record pairs with a value on both sides
            (:func:`pair_completeness`).
        block_pairs: the training pairs an EM blocking rule makes; a block over
            ``config.max_pairs_for_em`` is skipped.
        count_patterns: counts a block's agreement patterns in the backend without holding
            its pairs (:func:`patterns_from_levels` of
            :func:`identmatch._model.patterns.pattern_counts_sql`); tests hold it to Splink's
            own comparison of the block's pairs (:func:`_block_patterns`).

    The prior: each EM block on one column whose equality is a comparison's exact level
    (date of birth, postcode) finds ``lambda_b * N_b`` matching pairs, which are the share
    ``m(exact)`` of the matching pairs with a value on both sides, themselves the share
    ``present`` of all matching pairs (missing values taken as independent of matching); so
    all matching pairs number ``lambda_b N_b / (m(exact) present)`` and the prior is that
    over ``pairs``. The median over such blocks is used; without any, Splink's
    deterministic-rule estimate stays.
    """
    if config.train == "never":
        return _regularised(
            model,
            model,
            MatchCounts(),
            TrainingSummary(records=records, prior="default", u="default", m="default"),
        )
    train_m = config.train == "always" or records >= config.min_records_to_train
    prior_state: Literal["estimated", "default"] = "default"
    counts = MatchCounts()
    found: list[tuple[str, float]] = []  # (column, matching pairs in its block)
    with backend_errors("training the model"):
        linker = make_linker(model)
        prior_rules = [
            r
            for r in (*_PRIOR_RULES, *((s.prepared,) for s in model.declared.identifiers))
            if set(r) <= available
        ]
        if train_m and prior_rules:
            try:
                linker.training.estimate_probability_two_random_records_match(
                    [compile_blocking_rule(r) for r in prior_rules], recall=_PRIOR_RECALL
                )
                prior_state = "estimated"
            except Exception:
                logger.info("prior kept at its default: too few exact matches to estimate it")
        linker.training.estimate_u_using_random_sampling(
            max_pairs=config.max_pairs_for_u, seed=config.seed
        )
        estimated = _read_back(linker, model)
        trained = _regularised(model, estimated, counts, None)
        if train_m:
            for rule in _EM_RULES:
                if not set(rule) <= available:
                    continue
                if block_pairs is not None and block_pairs(rule) > config.max_pairs_for_em:
                    logger.info("EM skipped for one blocking rule: too many pairs")
                    continue
                patterns = count_patterns(trained, rule)
                if patterns is None:
                    logger.info("EM skipped for one blocking rule: no usable pairs")
                    continue
                train = {
                    spec.name for spec in trained.comparisons if not set(spec.columns) & set(rule)
                }
                expected, share = em_on_patterns(
                    patterns, trained.comparisons, train, iterations=config.em_max_iterations
                )
                if len(rule) == 1:
                    found.append((rule[0], share * float(patterns.counts.sum())))
                for name, per_level in expected.items():
                    counts.add(name, per_level)
                counts.blocks.append(" + ".join(rule))
                trained = _regularised(model, estimated, counts, None)
    final = _regularised(model, estimated, counts, None)
    prior = _prior_from_blocks(final, found, pairs, present or {})
    if prior is not None:
        estimated = estimated.model_copy(update={"probability_two_random_records_match": prior})
        prior_state = "estimated"
    summary = TrainingSummary(
        records=records,
        prior=prior_state,
        u="estimated",
        m="estimated" if counts.blocks else "default",
        em_blocking_rules=tuple(counts.blocks),
    )
    return _regularised(model, estimated, counts, summary)


def block_pair_count(
    frames: list[pd.DataFrame], rule: BlockingRule, linked: bool, fraction: float = 1.0
) -> float:
    """Record pairs equal on every column of ``rule`` (missing values pair with nothing),
    scaled by ``fraction**2`` for a uniform sample of that fraction of the records."""
    if any(column not in frame.columns for frame in frames for column in rule):
        return 0.0
    sizes = [frame.groupby(list(rule), dropna=True).size() for frame in frames]
    if linked:
        left, right = sizes[0], sizes[-1]
        pairs = float((left * right.reindex(left.index, fill_value=0)).sum())
    else:
        pairs = float((sizes[0] * (sizes[0] - 1) / 2).sum())
    return pairs * fraction**2


def pair_completeness(frames: list[pd.DataFrame], linked: bool) -> dict[str, float]:
    """Per single-column EM blocking column, the share of record pairs holding a value on
    both sides (a dedupe's one input, or a link's two)."""
    out = {}
    for (column,) in (rule for rule in _EM_RULES if len(rule) == 1):
        shares = []
        for frame in frames:
            if column not in frame.columns or len(frame) < 2:
                break
            shares.append(float(frame[column].notna().mean()))
        else:
            if shares:
                out[column] = shares[0] * shares[-1] if linked else shares[0] ** 2
    return out


def _prior_from_blocks(
    model: Model, found: list[tuple[str, float]], pairs: float | None, present: dict[str, float]
) -> float | None:
    """The prior from EM blocks on one column (see :func:`train_model`), or None."""
    if not pairs or pairs <= 0:
        return None
    estimates = []
    for column, matches in found:
        share = present.get(column, 1.0)
        for spec in model.comparisons:
            level = next((lv for lv in spec.levels if lv.kind != "null"), None)
            if level is not None and level.kind == "exact" and level.column == column and share:
                estimates.append(matches / level.m / share / pairs)
    if not estimates:
        return None
    return float(min(max(np.median(estimates), 1e-12), 0.5))


def _regularised(
    defaults: Model, estimated: Model, counts: MatchCounts, summary: TrainingSummary | None
) -> Model:
    """``estimated`` (its u and prior) with m from ``counts``, ordered and bounded."""
    comparisons = []
    health: list[LevelHealth] = []
    by_name = {spec.name: spec for spec in estimated.comparisons}
    for spec in defaults.comparisons:
        u = np.array([lv.u for lv in by_name[spec.name].levels], dtype=float)
        final, rows = regularise(spec, u, counts.by_comparison.get(spec.name))
        comparisons.append(final)
        health.extend(rows)
    update: dict[str, Any] = {"comparisons": tuple(comparisons)}
    if summary is not None:
        update["training"] = summary.model_copy(update={"levels": tuple(health)})
    return estimated.model_copy(update=update)


def patterns_from_levels(model: Model, table: pd.DataFrame) -> Patterns | None:
    """Patterns from a frame of ``level_<i>`` columns (level indices of the model's
    comparisons, in order) and ``pairs``; None if it holds no pairs."""
    if table.empty:
        return None
    names = [spec.name for spec in model.comparisons]
    levels = table[[f"level_{i}" for i in range(len(names))]].to_numpy(dtype=np.int64)
    return Patterns(
        comparisons=tuple(names), levels=levels, counts=table["pairs"].to_numpy(dtype=float)
    )


def _block_patterns(linker: Any, model: Model) -> Patterns | None:
    """The distinct agreement patterns of a block's pairs and their counts, or None if none.

    Splink compares the pairs; the patterns are counted in the backend, so only the small
    table of distinct patterns reaches Python.
    """
    names = [spec.name for spec in model.comparisons]
    gammas = ", ".join(f"gamma_{name}" for name in names)
    try:
        predictions = linker.inference.predict()
        counted = linker.misc.query_sql(
            f"select {gammas}, count(*) as pairs from {predictions.physical_name} "
            f"group by {gammas}",
            output_type="splink_df",
        )
        # Through Arrow on every backend (Spark's own pandas conversion warns under pandas 3).
        table = counted.as_pyarrow_table().to_pandas()
        counted.drop_table_from_database_and_remove_from_cache()
        predictions.drop_table_from_database_and_remove_from_cache()
    except Exception:
        logger.info("no pairs to train on under one EM blocking rule", exc_info=True)
        return None
    if table.empty:
        return None
    sizes = np.array([len(spec.levels) for spec in model.comparisons])
    gamma = table[[f"gamma_{name}" for name in names]].to_numpy(dtype=np.int64)
    levels = np.where(gamma < 0, 0, sizes[None, :] - 1 - gamma)
    return Patterns(
        comparisons=tuple(names),
        levels=levels,
        counts=table["pairs"].to_numpy(dtype=float),
    )


def _read_back(linker: Any, model: Model) -> Model:
    """Copy Splink's estimates into the model's levels, keeping defaults where none exist."""
    settings = linker.misc.save_model_to_json(out_path=None)
    by_name = {c["output_column_name"]: c for c in settings["comparisons"]}
    comparisons = []
    for spec in model.comparisons:
        levels = by_name[spec.name]["comparison_levels"]
        new_levels = []
        for level, estimated in zip(spec.levels, levels, strict=True):
            update: dict[str, float] = {}
            for key, field in (("m_probability", "m"), ("u_probability", "u")):
                value = estimated.get(key)
                if value is not None and 0.0 < float(value) < 1.0 and level.kind != "null":
                    update[field] = float(value)
            new_levels.append(level.model_copy(update=update))
        comparisons.append(spec.model_copy(update={"levels": tuple(new_levels)}))
    prior = float(settings["probability_two_random_records_match"])
    return model.model_copy(
        update={
            "comparisons": tuple(comparisons),
            "probability_two_random_records_match": min(max(prior, 1e-12), 0.5),
        }
    )
