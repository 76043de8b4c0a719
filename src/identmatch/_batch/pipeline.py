"""dedupe and link: read -> standardise -> block -> compare -> score -> cluster."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd
from pydantic import ValidationError

from identmatch._batch.cluster import assign_entity_ids
from identmatch._batch.decisions import Decisions, read_decisions
from identmatch._batch.engine import Engine
from identmatch._batch.plan import (
    blocking_report,
    candidate_frame,
    candidate_query,
    count_patterns,
    default_model,
    training_fraction,
    training_pairs,
    training_sample,
)
from identmatch._batch.result import Result
from identmatch._batch.spark import SparkEngine, is_spark_session, spark_session
from identmatch._candidates.blocking import (
    BlockingReport,
)
from identmatch._candidates.choose import (
    CANDIDATE_COLUMN,
)
from identmatch._config import ModelConfig, ReadConfig
from identmatch._exceptions import ConfigError, SchemaError, backend_errors
from identmatch._model.model import (
    Model,
    SplinkLinkType,
    block_pair_count,
    build_settings,
    pair_completeness,
    train_model,
)
from identmatch._prepare.declared import (
    AttributeSpec,
    DeclaredSchema,
    Identifiers,
    declared_schema,
)
from identmatch._prepare.files import is_prepared_directory, prepared_schema, read_prepared
from identmatch._prepare.quality import DataQuality
from identmatch._prepare.read import read_records
from identmatch._prepare.records import is_prepared_column, prepare_records
from identmatch._types import Backend, DateOrder

DecisionsSource = Decisions | str | Path | pd.DataFrame | None
"""Decisions as a batch run takes them: a decisions CSV, a DataFrame, or read already."""

__all__ = ["PipelineHooks", "dedupe", "dedupe_then", "link"]

logger = logging.getLogger("identmatch")

Progress = Callable[[str], None]


class PipelineHooks(NamedTuple):
    """Calls into a dedupe run, for work that can go on beside it (an index build's writes)."""

    prepared: Callable[[pd.DataFrame, pd.DataFrame, Model], None]
    """Called with the read records, the prepared records and the model (blocking rules and
    comparisons chosen), before training and scoring."""
    clustering: Callable[[], None]
    """Called as clustering starts: from then on the run uses one core."""


def dedupe(
    records: Any,
    *,
    columns: Mapping[str, str] | None = None,
    date_order: DateOrder = "auto",
    threshold: float | None = None,
    model: Model | str | Path | None = None,
    config: ModelConfig | None = None,
    progress: Progress | None = None,
    backend: Backend | Any = "duckdb",
    identifiers: Identifiers | None = None,
    attributes: Sequence[str | AttributeSpec] | None = None,
    decisions: DecisionsSource = None,
) -> Result:
    """Find the records in one input that belong to the same person.

    Args:
        records: a pandas DataFrame, a path to a CSV or Parquet file, or a DuckDB relation,
            with a unique ``record_id`` column and any of the standard columns; or the
            directory of records prepared by :func:`prepare_parquet` (out of core), which
            Spark reads in parallel and which gives ``entities`` of ids only.
        columns: input column name -> standard column name, e.g. ``{"given_name": "forename"}``.
        date_order: how to read ambiguous numeric dates such as ``03/04/1980``. ``auto`` (the
            default) reads each source (each value of the ``source`` column, or the whole
            input) in the order its unambiguous dates show (``25/12/1980`` is day-first,
            ``12/25/1980`` month-first), UK day-first when they show none clearly;
            ``DMY``, ``MDY`` or ``YMD`` read every value so. ``result.quality`` says which
            order each source was read in.
        threshold: match probability in (0, 1) at which records join one entity;
            ``config.threshold`` (0.95) when not given.
        model: a trained :class:`Model` or the path of a saved one; trained on the input
            when not given.
        config: training, scoring and clustering settings.
        progress: called with a short message as each stage starts.
        backend: where pairs are formed and scored: ``"duckdb"`` (in process, the
            default), ``"spark"`` (a local SparkSession from :func:`spark_session`), or a
            SparkSession of your own (a cluster, Databricks). The same model gives the same
            pairs and entities on either; needs ``pip install 'identmatch[spark]'``.
        identifiers: columns holding identifiers beyond the NHS number, each with a kind
            (``{"pnc": "pnc_id", "case_ref": "plain"}``, or ``["pnc:pnc_id", "case_ref"]``;
            kinds in ``identmatch.IDENTIFIER_KINDS``): standardised, blocked on and compared,
            invalid values treated as missing. A cell may hold several values (a list, or
            text separated by ``;``). A given model keeps the identifiers it was trained with.
        attributes: columns of categorical or free text (occupation, birth place, school)
            compared exactly and by spelling.
        decisions: people's decisions about pairs of records (a decisions CSV such as
            ``identmatch decisions export`` writes, a DataFrame, or :class:`Decisions`):
            ``different`` pairs never share an entity, directly or through a chain;
            ``same`` pairs are joined first. Decisions about records not in the input are
            skipped.

    Returns:
        A :class:`Result` with ``entities``, ``pairs``, ``quality`` and ``explain()``.
    """
    read_config = _read_config(columns, date_order)
    schema = declared_schema(identifiers, attributes)
    return _run(
        [records],
        ["input"],
        read_config,
        threshold,
        model,
        config,
        progress,
        backend,
        schema=schema,
        decisions=read_decisions(decisions),
    )


def link(
    left: Any,
    right: Any,
    *,
    columns: Mapping[str, str] | None = None,
    date_order: DateOrder = "auto",
    threshold: float | None = None,
    model: Model | str | Path | None = None,
    config: ModelConfig | None = None,
    progress: Progress | None = None,
    backend: Backend | Any = "duckdb",
    identifiers: Identifiers | None = None,
    attributes: Sequence[str | AttributeSpec] | None = None,
    decisions: DecisionsSource = None,
) -> Result:
    """Find the same people across two inputs (e.g. adults' and children's services).

    Pairs are formed only across the inputs. Arguments are as for :func:`dedupe`;
    ``entities`` has an ``input`` column (``left`` or ``right``), and an entity id is shared
    by the records of one person in both inputs.
    """
    read_config = _read_config(columns, date_order)
    schema = declared_schema(identifiers, attributes)
    return _run(
        [left, right],
        ["left", "right"],
        read_config,
        threshold,
        model,
        config,
        progress,
        backend,
        schema=schema,
        decisions=read_decisions(decisions),
    )


def dedupe_then(
    records: Any,
    hooks: PipelineHooks,
    *,
    columns: Mapping[str, str] | None,
    date_order: DateOrder,
    model: Model | str | Path | None,
    config: ModelConfig,
    schema: DeclaredSchema | None = None,
    decisions: Decisions | None = None,
    progress: Progress | None = None,
) -> Result:
    """:func:`dedupe` on DuckDB, calling ``hooks`` as it goes."""
    read_config = _read_config(columns, date_order)
    return _run(
        [records],
        ["input"],
        read_config,
        None,
        model,
        config,
        progress,
        "duckdb",
        hooks,
        schema,
        decisions=decisions,
    )


def _read_config(columns: Mapping[str, str] | None, date_order: DateOrder) -> ReadConfig:
    try:
        return ReadConfig(columns=dict(columns or {}), date_order=date_order)
    except ValidationError as exc:
        reasons = "; ".join(
            str(error["msg"]).removeprefix("Value error, ") for error in exc.errors()
        )
        raise ConfigError(reasons) from None


@contextmanager
def _stage(
    timings: dict[str, float], name: str, message: str, progress: Progress | None
) -> Iterator[None]:
    if progress is not None:
        progress(message)
    start = time.perf_counter()
    yield
    timings[name] = timings.get(name, 0.0) + time.perf_counter() - start


def _run(
    sources: list[Any],
    names: list[str],
    read_config: ReadConfig,
    threshold: float | None,
    model: Model | str | Path | None,
    config: ModelConfig | None,
    progress: Progress | None,
    backend: Backend | Any,
    hooks: PipelineHooks | None = None,
    schema: DeclaredSchema | None = None,
    *,
    decisions: Decisions | None = None,
) -> Result:
    config = config or ModelConfig()
    if threshold is not None:
        if not 0.0 < threshold < 1.0:
            msg = f"threshold must be a match probability strictly between 0 and 1, got {threshold}"
            raise ConfigError(msg)
        config = config.model_copy(
            update={"threshold": threshold, "pair_floor": min(config.pair_floor, threshold)}
        )
    with backend_errors("starting the backend"):
        engine = _open_engine(backend)
    with _quiet_splink():
        return _run_inner(
            sources, names, read_config, model, config, progress, engine, hooks, schema, decisions
        )


@contextmanager
def _quiet_splink() -> Iterator[None]:
    """Keep Splink's INFO/WARNING chatter out of the user's terminal unless they asked for it.

    Only when the application has not set a level on the ``splink`` logger itself.
    """
    splink_logger = logging.getLogger("splink")
    if splink_logger.level != logging.NOTSET:
        yield
        return
    splink_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        splink_logger.setLevel(logging.NOTSET)


def _open_engine(backend: Backend | Any) -> Engine | SparkEngine:
    """The engine for ``backend``; pyspark is imported only for a Spark backend."""
    if isinstance(backend, str):
        if backend == "duckdb":
            return Engine()
        if backend == "spark":
            return SparkEngine(spark_session())
        msg = f"backend must be 'duckdb', 'spark' or a SparkSession, got {backend!r}"
        raise ConfigError(msg)
    if is_spark_session(backend):
        return SparkEngine(backend)
    msg = f"backend must be 'duckdb', 'spark' or a SparkSession, got a {type(backend).__name__}"
    raise ConfigError(msg)


def _run_inner(
    sources: list[Any],
    names: list[str],
    read_config: ReadConfig,
    model: Model | str | Path | None,
    config: ModelConfig,
    progress: Progress | None,
    engine: Engine | SparkEngine,
    hooks: PipelineHooks | None = None,
    schema: DeclaredSchema | None = None,
    decisions: Decisions | None = None,
) -> Result:
    linked = len(sources) == 2
    link_type: SplinkLinkType = "link_only" if linked else "dedupe_only"
    timings: dict[str, float] = {}

    # A directory holds records prepared already (prepare_parquet, out of core): it is read
    # as is, and Spark reads its parts itself.
    parts = [Path(src) if is_prepared_directory(src) else None for src in sources]
    if read_config.columns and any(part is not None for part in parts):
        msg = (
            "columns= maps an input's columns when it is read; prepared records were mapped "
            "by prepare_parquet (pass columns= there)"
        )
        raise ConfigError(msg)
    with _stage(timings, "read", "reading input", progress):
        raw = [
            None
            if part is not None
            else read_records(src, read_config, name=_display_name(src, name))
            for src, name, part in zip(sources, names, parts, strict=True)
        ]
        ready = [read_prepared(part) if part is not None else None for part in parts]
    if isinstance(model, str | Path):
        model = Model.load(model)
    if model is None and not (schema and schema.columns):
        # Records prepared with declared columns are compared on them.
        schema = next((prepared_schema(p) for p in parts if p is not None), schema)
    declared = _declared_for(model, schema)
    for src, name, frame, part in zip(sources, names, raw, parts, strict=True):
        shown = _display_name(src, name)
        if frame is not None:
            declared.check_columns(frame.columns, name=shown)
        elif part is not None and not _holds(prepared_schema(part), declared):
            held = ", ".join(prepared_schema(part).columns) or "none"
            msg = (
                f"{shown}: the run declares the column(s) "
                f"{', '.join(declared.columns) or 'none'} and the prepared records hold "
                f"{held}; prepare them with the same identifiers= and attributes="
            )
            raise SchemaError(msg)
    n_records = sum(len(frame) for frame in raw if frame is not None) + sum(
        len(done[0]) for done in ready if done is not None
    )
    with _stage(timings, "standardise", f"standardising {n_records:,} records", progress):
        prepared_and_quality = [
            done
            if done is not None
            else _prepare(frame, read_config, declared, _display_name(src, name))
            for src, name, frame, done in zip(sources, names, raw, ready, strict=True)
        ]
    prepared = [p for p, _ in prepared_and_quality]
    records = [
        frame if frame is not None else _record_ids(p)
        for frame, p in zip(raw, prepared, strict=True)
    ]
    quality = prepared_and_quality[0][1]
    for _, q in prepared_and_quality[1:]:
        quality = quality.combine(q)
    available = {
        column
        for frame in prepared
        for column in frame.columns
        if column != "unique_id" and is_prepared_column(column) and frame[column].notna().any()
    }

    given_model = model is not None
    if model is None:
        model = default_model(available, [len(f) for f in prepared], linked, declared)
    if hooks is not None:
        hooks.prepared(records[0], prepared[0], model)

    with backend_errors("loading records"):
        # Table names reach Splink's SQL unquoted, and LEFT/RIGHT are SQL keywords.
        sdfs = [
            engine.load_parquet(part, f"input_{name}", prepared_schema(part).prepared_columns)
            if part is not None and isinstance(engine, SparkEngine)
            else engine.load_prepared(frame, f"input_{name}")
            for frame, name, part in zip(prepared, names, parts, strict=True)
        ]
    with (
        _stage(timings, "block", "choosing candidate pairs", progress),
        backend_errors("choosing candidate pairs"),
    ):
        sdfs, chosen = engine.add_candidates(
            sdfs, candidate_query(engine.dialect, model, n_records)
        )
    candidates = candidate_frame(chosen, linked)
    blocking: BlockingReport | None = None
    if config.count_blocked_pairs:
        blocking = blocking_report(chosen, model, n_records)
    from splink import Linker

    def make_linker(m: Model, inputs: list[Any]) -> Any:
        with backend_errors("building the model"):
            return Linker(
                inputs if linked else inputs[0],
                build_settings(
                    m,
                    link_type,
                    engine.dialect,
                    max_iterations=config.em_max_iterations,
                ),
                log_level=None,
            )

    if not given_model:
        with _stage(timings, "train", "training the model (u by sampling, m by EM)", progress):
            training_inputs = training_sample(engine, prepared, names, sdfs, config)
            model = train_model(
                lambda m: make_linker(m, training_inputs),
                model,
                records=n_records,
                available=available,
                config=config,
                pairs=training_pairs(prepared, linked, config),
                present=pair_completeness(prepared, linked),
                block_pairs=lambda rule: block_pair_count(
                    prepared, rule, linked, training_fraction(prepared, config)
                ),
                count_patterns=lambda m, rule: count_patterns(engine, training_inputs, m, rule),
            )
            if training_inputs is not sdfs:
                _forget_intermediate_tables(engine)
    linker = make_linker(model, sdfs)

    scoring = f"scoring {len(candidates):,} pairs"
    with (
        _stage(timings, "predict", scoring, progress),
        backend_errors("scoring pairs"),
    ):
        predictions_sdf = linker.inference.predict(threshold_match_probability=config.pair_floor)
        predictions = _scored_pairs(engine, predictions_sdf)
    predictions["unique_id_l"] = predictions["unique_id_l"].astype(str)
    predictions["unique_id_r"] = predictions["unique_id_r"].astype(str)
    if linked:
        for side in ("l", "r"):
            column = f"source_dataset_{side}"
            predictions[column] = predictions[column].astype(str).str.removeprefix("input_")

    def score(a: str, b: str) -> dict[str, Any]:
        return _score_pair(linker, prepared, a, b)

    result = Result(
        entities=_entities(records, names, linked),
        predictions=predictions,
        quality=quality,
        blocking=blocking,
        model=model,
        threshold=config.threshold,
        linked=linked,
        scorer=score,
        timings=timings,
        prepared=prepared,
        conflict_below=config.conflict_below,
        candidates=candidates,
        decisions=decisions,
    )
    if hooks is not None:
        hooks.clustering()
    with _stage(timings, "cluster", "clustering", progress):
        result.entities = result.entities_at(config.threshold)
    result.timings = dict(timings)
    return result


_PAIR_KEYS = (
    "unique_id_l",
    "unique_id_r",
    "source_dataset_l",
    "source_dataset_r",
    "match_weight",
    "match_probability",
)


def _scored_pairs(engine: Engine | SparkEngine, predictions: Any) -> pd.DataFrame:
    """Splink's predictions without the records' own columns: ids, weights and the per-field
    levels and weights that explanations need (the ``_l``/``_r`` value columns would double
    the memory of a large run)."""
    return engine.scored_pairs(predictions, _is_pair_column)


def _is_pair_column(column: str) -> bool:
    return column in _PAIR_KEYS or column.startswith(("gamma_", "mw_"))


def _forget_intermediate_tables(engine: Engine | SparkEngine) -> None:
    """Drop the tables Splink computed on the training sample.

    Splink caches intermediate tables on the database API, and term-frequency tables under
    names that do not carry the linker's id: the scoring linker would otherwise take the
    sample's term frequencies instead of the whole input's (and disagree with the same model
    given, and with the index's search).
    """
    with backend_errors("dropping the training tables"):
        engine.db_api._intermediate_table_cache.invalidate_cache()
        engine.db_api.delete_tables_created_by_splink_from_db()


def _prepare(
    frame: pd.DataFrame | None, read_config: ReadConfig, schema: DeclaredSchema, name: str
) -> tuple[pd.DataFrame, DataQuality]:
    assert frame is not None
    return prepare_records(frame, date_order=read_config.date_order, schema=schema, name=name)


def _holds(prepared: DeclaredSchema, declared: DeclaredSchema) -> bool:
    """Whether records prepared with ``prepared`` hold every column ``declared`` declares."""
    return set(declared.identifiers) <= set(prepared.identifiers) and set(
        declared.attributes
    ) <= set(prepared.attributes)


def _declared_for(model: Model | None, schema: DeclaredSchema | None) -> DeclaredSchema:
    """The schema of a run: a given model's own, else the one declared for training.

    Raises:
        ConfigError: a model is given and the declared schema is not the model's.
    """
    declared = schema or DeclaredSchema()
    if model is None:
        return declared
    if declared.columns and declared != model.declared:
        msg = (
            "identifiers= and attributes= (--identifier, --attribute) declare columns for "
            "training; the given model keeps its own "
            f"({', '.join(model.declared.columns) or 'none'}): leave them out"
        )
        raise ConfigError(msg)
    return model.declared


def _record_ids(prepared: pd.DataFrame) -> pd.DataFrame:
    """The records of a prepared directory, for the entities: only their ids are known."""
    return pd.DataFrame({"record_id": prepared["unique_id"].astype(str)})


def _display_name(source: Any, default: str) -> str:
    if isinstance(source, str | Path):
        return Path(source).name
    return default


def _field(record: Any, name: str) -> Any:
    return record[name] if isinstance(record, Mapping) else getattr(record, name)


def _entities(raw: list[pd.DataFrame], names: list[str], linked: bool) -> pd.DataFrame:
    """Every input record once, in input order, with a provisional entity of its own."""
    frames = []
    for frame, name in zip(raw, names, strict=True):
        part = frame.reset_index(drop=True).copy()
        if linked:
            part.insert(0, "input", name)
        frames.append(part)
    records = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    leading = ["input", "record_id"] if linked else ["record_id"]
    out = records[leading].copy()
    out["entity_id"] = assign_entity_ids(list(range(len(records))))
    for column in records.columns:
        if column not in leading:
            out[column] = records[column]
    return out


def _score_pair(linker: Any, prepared: list[pd.DataFrame], a: str, b: str) -> dict[str, Any]:
    left_frame, right_frame = prepared[0], prepared[-1]
    left = _plain(left_frame.set_index("unique_id").loc[a], a)
    right = _plain(right_frame.set_index("unique_id").loc[b], b)
    with backend_errors("scoring a pair"):
        scored = linker.inference.score_pair(left, right).as_pandas_dataframe()
    row: dict[str, Any] = scored.iloc[0].to_dict()
    row["unique_id_l"], row["unique_id_r"] = a, b
    return row


def _plain(values: Any, uid: str) -> dict[str, Any]:
    out = {str(k): (None if (isinstance(v, float) and v != v) else v) for k, v in values.items()}
    out["unique_id"] = uid
    out[CANDIDATE_COLUMN] = None  # read by the prediction blocking rule, not by scoring
    return out
