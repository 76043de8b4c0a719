"""Batch commands: dedupe, link, prepare and the demo."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

import identmatch
from identmatch._cli.common import (
    DATE_ORDER,
    MAP,
    QUIET,
    STRICT,
    backend_for,
    check_truth,
    common_options,
    print_evaluation,
    run_settings,
    say,
    with_declared_options,
    write_table,
)
from identmatch._cli.group import cli
from identmatch._cli.notes import check_outputs, print_unused, strict_check
from identmatch._cli.progress import Reporter
from identmatch._cli.summary import print_summary


@cli.command()
@click.argument("records", type=click.Path(path_type=Path))
@common_options
def dedupe(
    records: Path,
    out: Path,
    pairs: Path | None,
    entities: Path | None,
    threshold: float | None,
    model: Path | None,
    save_model: Path | None,
    mapping: tuple[str, ...],
    date_order: str | None,
    identifiers: tuple[str, ...],
    attributes: tuple[str, ...],
    config_path: Path | None,
    backend: str | None,
    spark_master: str | None,
    spark_partitions: int | None,
    decisions: Path | None,
    truth: str | None,
    by: tuple[str, ...],
    strict: bool,
    quiet: bool,
) -> None:
    """Find the records in RECORDS (CSV or Parquet, or a directory written by
    `identmatch prepare`) that are the same person."""
    check_truth(truth, by)
    settings = run_settings(
        config_path,
        mapping=mapping,
        date_order=date_order,
        identifiers=identifiers,
        attributes=attributes,
        threshold=threshold,
        model=model,
        save_model=save_model,
        backend=backend,
        strict=strict,
    )
    run = settings[0]
    check_outputs(out=out, pairs=pairs, entities=entities, save_model=run_save(run))
    strict_check([(records, records.name)], run)
    with Reporter(quiet, stages=5 if run.model else 6) as reporter:
        result = identmatch.dedupe(
            records,
            columns=run.columns,
            date_order=run.date_order,
            threshold=run.threshold,
            model=run.model,
            progress=reporter,
            backend=backend_for(run.backend, spark_master, spark_partitions),
            identifiers=None if run.model else run.identifiers,
            attributes=None if run.model else run.attributes,
            decisions=decisions if decisions is not None else run.decisions,
        )
    finish_run(result, out, pairs, entities, settings, quiet)
    print_evaluation(result, truth, by, quiet)


def finish_run(
    result: identmatch.Result,
    out: Path,
    pairs: Path | None,
    entities: Path | None,
    settings: tuple[identmatch.RunConfig, bool],
    quiet: bool,
) -> None:
    """Write a run's outputs, then print its tables and what it could not read or use."""
    run_config, from_file = settings
    write_table(result.entities, out)
    if pairs is not None:
        write_table(result.pairs, pairs)
    if entities is not None:
        write_table(result.entity_names, entities)
    if run_config.save_model is not None:
        model = result.model
        if from_file:
            model = model.model_copy(update={"run_config": run_config})
        model.save(run_config.save_model)
    print_summary(result, quiet)
    print_unused(result.quality, quiet)


def run_save(run: identmatch.RunConfig) -> Path | None:
    """Where the run saves its model, if it does."""
    return None if run.save_model is None else Path(run.save_model)


@cli.command()
@click.argument("records", type=click.Path(path_type=Path))
@click.argument("directory", type=click.Path(path_type=Path))
@MAP
@DATE_ORDER
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1_000),
    default=200_000,
    show_default=True,
    help="Records standardised at a time (about 2 KB of memory each).",
)
@with_declared_options
@STRICT
@QUIET
def prepare(
    records: Path,
    directory: Path,
    mapping: tuple[str, ...],
    date_order: str | None,
    chunk_rows: int,
    identifiers: tuple[str, ...],
    attributes: tuple[str, ...],
    config_path: Path | None,
    strict: bool,
    quiet: bool,
) -> None:
    """Standardise RECORDS (CSV or Parquet, any size) into DIRECTORY as Parquet parts, one
    chunk at a time; then `identmatch dedupe DIRECTORY` (on Spark, the executors read them).
    Declared identifiers and attributes are prepared too, and compared by runs on DIRECTORY."""
    run, _ = run_settings(
        config_path,
        mapping=mapping,
        date_order=date_order,
        identifiers=identifiers,
        attributes=attributes,
        threshold=None,
        model=None,
        save_model=None,
        backend=None,
        strict=strict,
    )
    strict_check([(records, records.name)], run)
    with Reporter(quiet, stages=1) as reporter:
        reporter(f"standardising {records.name} into {directory}, {chunk_rows:,} records a part")
        quality = identmatch.prepare_parquet(
            records,
            directory,
            columns=run.columns,
            date_order=run.date_order,
            chunk_rows=chunk_rows,
            identifiers=run.identifiers,
            attributes=run.attributes,
            progress=reporter.records,
        )
    if not quiet:
        click.echo(f"prepared {quality.rows:,} records into {directory}")
    print_unused(quality, quiet)


@cli.command()
@click.argument("left", type=click.Path(path_type=Path))
@click.argument("right", type=click.Path(path_type=Path))
@common_options
def link(
    left: Path,
    right: Path,
    out: Path,
    pairs: Path | None,
    entities: Path | None,
    threshold: float | None,
    model: Path | None,
    save_model: Path | None,
    mapping: tuple[str, ...],
    date_order: str | None,
    identifiers: tuple[str, ...],
    attributes: tuple[str, ...],
    config_path: Path | None,
    backend: str | None,
    spark_master: str | None,
    spark_partitions: int | None,
    decisions: Path | None,
    truth: str | None,
    by: tuple[str, ...],
    strict: bool,
    quiet: bool,
) -> None:
    """Find the same people across LEFT and RIGHT (CSV or Parquet)."""
    check_truth(truth, by)
    settings = run_settings(
        config_path,
        mapping=mapping,
        date_order=date_order,
        identifiers=identifiers,
        attributes=attributes,
        threshold=threshold,
        model=model,
        save_model=save_model,
        backend=backend,
        strict=strict,
    )
    run = settings[0]
    check_outputs(out=out, pairs=pairs, entities=entities, save_model=run_save(run))
    strict_check([(left, left.name), (right, right.name)], run)
    with Reporter(quiet, stages=5 if run.model else 6) as reporter:
        result = identmatch.link(
            left,
            right,
            columns=run.columns,
            date_order=run.date_order,
            threshold=run.threshold,
            model=run.model,
            progress=reporter,
            backend=backend_for(run.backend, spark_master, spark_partitions),
            identifiers=None if run.model else run.identifiers,
            attributes=None if run.model else run.attributes,
            decisions=decisions if decisions is not None else run.decisions,
        )
    finish_run(result, out, pairs, entities, settings, quiet)
    print_evaluation(result, truth, by, quiet)


@cli.command()
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    help="Also write the entities here (.csv or .parquet).",
)
@click.option(
    "--explain",
    "n_explain",
    type=int,
    default=3,
    show_default=True,
    help="How many matched pairs to explain.",
)
@click.option(
    "--serve",
    is_flag=True,
    help="Instead: index both files and serve the index with its web page, printing a key.",
)
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("identmatch-demo"),
    show_default=True,
    help="With --serve: where the demo index and service config go (kept between runs).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="With --serve: the port to serve on (on 127.0.0.1).",
)
@QUIET
def demo(
    out: Path | None, n_explain: int, serve: bool, folder: Path, port: int, quiet: bool
) -> None:
    """Link the bundled synthetic adults' and children's services files and score the result.

    With --serve, index both files instead and serve the index on 127.0.0.1 with the web page
    (search, review, model), printing a new key of role review to sign in with.
    """
    from identmatch._batch.evaluate import pairwise_scores
    from identmatch._synthetic.demo import demo_paths

    adults, children = demo_paths()
    if serve:
        _serve_demo(adults, children, folder, port)
        return
    say(f"Linking {adults.name} with {children.name} (bundled synthetic data)", quiet)
    check_outputs(out=out)
    with Reporter(quiet) as reporter:
        result = identmatch.link(adults, children, progress=reporter)
    if out is not None:
        write_table(result.entities, out)
    print_summary(result, quiet)
    print_unused(result.quality, quiet)
    truth = result.entities["person_id"].astype(str)
    scores = pairwise_scores(result.entities["entity_id"], truth, groups=result.entities["input"])
    click.echo("")
    click.echo(
        f"Against the known truth (pairs across the two files), at match probability "
        f">= {result.threshold}:"
    )
    click.echo(
        f"  precision {scores.precision:.3f}  recall {scores.recall:.3f}  "
        f"F1 {scores.f1:.3f}  ({scores.true_positives} of {scores.true_pairs} true pairs found, "
        f"{scores.false_positives} false)"
    )
    click.echo("")
    click.echo(str(result.evaluate("person_id")))
    click.echo("")
    click.echo("Some explained matches:")
    shown = result.pairs[result.pairs["match_probability"] >= result.threshold]
    # Show the least certain accepted matches: they are the instructive ones.
    for row in shown.tail(n_explain).itertuples():
        click.echo(str(result.explain(str(row.record_id_l), str(row.record_id_r))))
        click.echo("")


def _serve_demo(adults: Path, children: Path, folder: Path, port: int) -> None:
    """Build the demo index in ``folder`` (once), write a config with a new key, serve it."""
    from identmatch._synthetic.demo import demo_recorded

    try:
        from identmatch._service.server import serve as run
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None
    folder.mkdir(parents=True, exist_ok=True)
    index_path = folder / "demo.duckdb"
    config_path = folder / "service.toml"
    if not index_path.exists():
        click.echo(f"Indexing {adults.name} and {children.name} into {index_path}", err=True)
        both = pd.concat([pd.read_csv(p, dtype=str) for p in (adults, children)])
        both["recorded"] = demo_recorded(both["record_id"])  # shown on the person screen
        identmatch.Index.build(both, index_path).close()
    # A throwaway config (only this run's key works), naming one source in plain words (the
    # others are shown as their codes in words: "mental_health" is "Mental health"). Synthetic
    # people on loopback: the demo key gets room to explore (a deployment's keys keep the
    # case-worker budgets unless their config says otherwise).
    config_path.unlink(missing_ok=True)
    demo_config = identmatch.ServiceConfig(
        limits=identmatch.ServiceLimits(
            lookups_per_minute=600,
            lookups_per_day=50_000,
            entity_reads_per_hour=600,
            decisions_per_minute=600,
            decisions_per_day=50_000,
        ),
        sources={"childrens_services": "Children's services"},
    )
    config_path.write_text(demo_config.to_toml(), encoding="utf-8")
    config_path.chmod(0o600)
    _, token = identmatch.create_api_key(config_path, name="demo", role="review")
    click.echo(f"Serving the demo index on http://127.0.0.1:{port}/ (Ctrl-C stops it).")
    click.echo("Open that page and sign in with this key (role review: search, review, decide):")
    click.echo(token)
    run(index_path, config_path, host="127.0.0.1", port=port)
