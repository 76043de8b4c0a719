"""The ``identmatch`` command: parse arguments, call the public API, print. No logic here."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import pandas as pd

import identmatch

__all__ = ["main"]

_EXIT_USAGE = 2


def _parse_map(values: tuple[str, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in values:
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            msg = (
                f"--map takes INPUT_COLUMN=STANDARD_COLUMN, e.g. given_name=forename; got {item!r}"
            )
            raise click.BadParameter(msg, param_hint="--map")
        mapping[source.strip()] = target.strip()
    return mapping


def _parse_identifiers(values: tuple[str, ...]) -> dict[str, str]:
    """``--identifier COLUMN[:KIND]`` options as column -> kind (``plain`` when not given)."""
    out: dict[str, str] = {}
    for item in values:
        column, _, kind = item.partition(":")
        if not column.strip():
            msg = f"--identifier takes COLUMN or COLUMN:KIND, e.g. pnc:pnc_id; got {item!r}"
            raise click.BadParameter(msg, param_hint="--identifier")
        out[column.strip()] = kind.strip() or "plain"
    return out


def _settings(
    config_path: Path | None,
    *,
    mapping: tuple[str, ...],
    date_order: str | None,
    identifiers: tuple[str, ...],
    attributes: tuple[str, ...],
    threshold: float | None,
    model: Path | None,
    save_model: Path | None,
    backend: str | None,
) -> tuple[identmatch.RunConfig, bool]:
    """The run's settings: the config file's, if any, with the options given taking over.

    Returns the settings and whether a config file was read.
    """
    base = identmatch.RunConfig.load(config_path) if config_path is not None else None
    merged = (base or identmatch.RunConfig()).merged(
        columns=_parse_map(mapping),
        date_order=date_order,
        identifiers=_parse_identifiers(identifiers),
        attributes=tuple(attributes),
        threshold=threshold,
        model=None if model is None else str(model),
        save_model=None if save_model is None else str(save_model),
        backend=backend,
    )
    return merged, base is not None


def _write_table(frame: Any, path: Path) -> None:
    """Write ``frame`` to ``path`` (.csv or .parquet), readable by its owner only.

    Written to a new file beside ``path`` (an unpredictable name, created exclusively, mode
    0600) and renamed over it: a file or link already at ``path`` is replaced, never
    written through, and keeps none of its old permissions.
    """
    suffix = path.suffix.lower()
    if suffix not in {".parquet", ".pq", ".csv"}:
        msg = f"{path.name}: output must end in .csv or .parquet"
        raise click.BadParameter(msg)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        if suffix == ".csv":
            out = frame.copy()
            if "aliases" in out.columns:
                out["aliases"] = out["aliases"].map(
                    lambda v: ";".join(v) if isinstance(v, list | tuple) else v
                )
            for column in out.columns:
                if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
                    out[column] = out[column].map(_inert_cell)
            out.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (``=HYPERLINK(...)``), quoted with ``'``.

    Spreadsheets treat a leading ``'`` as "this is text" and do not show it; numbers are
    not text and are left alone.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class _Reporter:
    """Stage-by-stage progress on stderr, so stdout stays clean for results."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            elapsed = time.perf_counter() - self.start
            click.echo(f"[{elapsed:6.1f}s] {message}...", err=True)


def _print_summary(result: identmatch.Result, quiet: bool) -> None:
    if quiet:
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True)
    table = Table(title=f"Data quality ({result.quality.rows:,} rows read)")
    for heading in ("column", "missing", "invalid", "placeholder", "partial"):
        table.add_column(heading, justify="left" if heading == "column" else "right")
    for row in result.quality.as_rows():
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row.values()))
    console.print(table)
    if result.blocking is not None:
        _print_blocking(console, result.blocking)
    n_entities = result.entities["entity_id"].nunique()
    console.print(
        f"{len(result.entities):,} records -> {n_entities:,} entities at match probability "
        f">= {result.threshold}"
    )


def _print_blocking(console: Any, blocking: identmatch.BlockingReport) -> None:
    from rich.table import Table

    rules = Table(
        title=f"Blocking: {blocking.pairs:,} pairs compared "
        f"({blocking.pairs_per_record:.1f} per record)"
    )
    rules.add_column("rule")
    rules.add_column("new pairs", justify="right")
    for rule in blocking.rules:
        rules.add_row(rule.rule, f"{rule.new_pairs:,}")
    console.print(rules)


def _declared_options() -> list[Any]:
    kinds = ", ".join(identmatch.IDENTIFIER_KINDS)
    return [
        click.option(
            "--identifier",
            "identifiers",
            multiple=True,
            metavar="COLUMN[:KIND]",
            help=f"Declare an identifier column (repeatable); KIND is one of {kinds} "
            "[default: plain].",
        ),
        click.option(
            "--attribute",
            "attributes",
            multiple=True,
            metavar="COLUMN",
            help="Declare a categorical or text attribute column (repeatable), e.g. occupation.",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(path_type=Path),
            help="Read settings from this TOML file (identmatch.toml); options override it.",
        ),
    ]


def _with_declared_options(func: Any) -> Any:
    for option in reversed(_declared_options()):
        func = option(func)
    return func


_DECISIONS = click.option(
    "--decisions",
    "decisions",
    type=click.Path(path_type=Path),
    help="A decisions file (from 'identmatch decisions export'): pairs decided 'different' "
    "never share an entity, pairs decided 'same' are joined first.",
)


def _common_options(func: Any) -> Any:
    options = [
        click.option(
            "--out",
            "out",
            type=click.Path(path_type=Path),
            required=True,
            help="Where to write one row per record with its entity_id (.csv or .parquet).",
        ),
        click.option(
            "--pairs",
            "pairs",
            type=click.Path(path_type=Path),
            help="Also write the scored pairs here (.csv or .parquet).",
        ),
        click.option(
            "--entities",
            "entities",
            type=click.Path(path_type=Path),
            help="Also write each entity's names and dates of birth, with the sources and "
            "record ids behind each (.csv or .parquet).",
        ),
        click.option(
            "--threshold",
            type=click.FloatRange(0, 1, min_open=True, max_open=True),
            default=None,
            help="Match probability at which records join one entity [default: 0.95].",
        ),
        click.option(
            "--model",
            "model",
            type=click.Path(path_type=Path),
            help="Use this saved model instead of training one.",
        ),
        click.option(
            "--save-model",
            "save_model",
            type=click.Path(path_type=Path),
            help="Save the trained model here (JSON).",
        ),
        click.option(
            "--map",
            "mapping",
            multiple=True,
            metavar="INPUT=STANDARD",
            help="Rename an input column to a standard one; repeat as needed.",
        ),
        click.option(
            "--date-order",
            type=click.Choice(["DMY", "MDY", "YMD"]),
            default=None,
            help="How to read ambiguous dates like 04/03/1987 [default: DMY].",
        ),
        *_declared_options(),
        click.option(
            "--backend",
            type=click.Choice(["duckdb", "spark"]),
            default=None,
            help="Where pairs are formed and scored: DuckDB in this process, or Spark "
            "(needs pip install 'identmatch[spark]' and Java) [default: duckdb].",
        ),
        click.option(
            "--spark-master",
            "spark_master",
            metavar="URL",
            help="Spark master URL with --backend spark, e.g. local[4] or spark://host:7077 "
            "[default: Spark's own, local[*] outside a cluster].",
        ),
        click.option(
            "--spark-partitions",
            "spark_partitions",
            type=click.IntRange(min=1),
            help="spark.sql.shuffle.partitions with --backend spark (2-4 per core).",
        ),
        _DECISIONS,
        click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _backend(backend: str, master: str | None, partitions: int | None) -> Any:
    if backend != "spark":
        if master is not None or partitions is not None:
            msg = "--spark-master and --spark-partitions need --backend spark"
            raise click.BadParameter(msg, param_hint="--backend")
        return backend
    return identmatch.spark_session(master, shuffle_partitions=partitions)


def _finish(
    result: identmatch.Result,
    out: Path,
    pairs: Path | None,
    entities: Path | None,
    settings: tuple[identmatch.RunConfig, bool],
    quiet: bool,
) -> None:
    run_config, from_file = settings
    _write_table(result.entities, out)
    if pairs is not None:
        _write_table(result.pairs, pairs)
    if entities is not None:
        _write_table(result.entity_names, entities)
    if run_config.save_model is not None:
        model = result.model
        if from_file:
            model = model.model_copy(update={"run_config": run_config})
        model.save(run_config.save_model)
    _print_summary(result, quiet)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(identmatch.__version__, prog_name="identmatch")
def cli() -> None:
    """identmatch: find the same person across records that disagree."""


@cli.command()
@click.argument("records", type=click.Path(path_type=Path))
@_common_options
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
    quiet: bool,
) -> None:
    """Find the records in RECORDS (CSV or Parquet, or a directory written by
    `identmatch prepare`) that are the same person."""
    settings = _settings(
        config_path,
        mapping=mapping,
        date_order=date_order,
        identifiers=identifiers,
        attributes=attributes,
        threshold=threshold,
        model=model,
        save_model=save_model,
        backend=backend,
    )
    run = settings[0]
    result = identmatch.dedupe(
        records,
        columns=run.columns,
        date_order=run.date_order,
        threshold=run.threshold,
        model=run.model,
        progress=_Reporter(quiet),
        backend=_backend(run.backend, spark_master, spark_partitions),
        identifiers=None if run.model else run.identifiers,
        attributes=None if run.model else run.attributes,
        decisions=decisions if decisions is not None else run.decisions,
    )
    _finish(result, out, pairs, entities, settings, quiet)


@cli.command()
@click.argument("records", type=click.Path(path_type=Path))
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="INPUT=STANDARD",
    help="Rename an input column to a standard one; repeat as needed.",
)
@click.option(
    "--date-order",
    type=click.Choice(["DMY", "MDY", "YMD"]),
    default="DMY",
    show_default=True,
    help="How to read ambiguous dates like 04/03/1987.",
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1_000),
    default=200_000,
    show_default=True,
    help="Records standardised at a time (about 2 KB of memory each).",
)
@click.option("--identifier", "identifiers", multiple=True, metavar="COLUMN[:KIND]")
@click.option("--attribute", "attributes", multiple=True, metavar="COLUMN")
def prepare(
    records: Path,
    directory: Path,
    mapping: tuple[str, ...],
    date_order: str,
    chunk_rows: int,
    identifiers: tuple[str, ...],
    attributes: tuple[str, ...],
) -> None:
    """Standardise RECORDS (CSV or Parquet, any size) into DIRECTORY as Parquet parts, one
    chunk at a time; then `identmatch dedupe DIRECTORY` (on Spark, the executors read them).
    Declared identifiers and attributes are prepared too, and compared by runs on DIRECTORY."""
    quality = identmatch.prepare_parquet(
        records,
        directory,
        columns=_parse_map(mapping),
        date_order=date_order,  # type: ignore[arg-type]
        chunk_rows=chunk_rows,
        identifiers=_parse_identifiers(identifiers),
        attributes=attributes,
    )
    click.echo(f"prepared {quality.rows:,} records into {directory}")


@cli.command()
@click.argument("left", type=click.Path(path_type=Path))
@click.argument("right", type=click.Path(path_type=Path))
@_common_options
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
    quiet: bool,
) -> None:
    """Find the same people across LEFT and RIGHT (CSV or Parquet)."""
    settings = _settings(
        config_path,
        mapping=mapping,
        date_order=date_order,
        identifiers=identifiers,
        attributes=attributes,
        threshold=threshold,
        model=model,
        save_model=save_model,
        backend=backend,
    )
    run = settings[0]
    result = identmatch.link(
        left,
        right,
        columns=run.columns,
        date_order=run.date_order,
        threshold=run.threshold,
        model=run.model,
        progress=_Reporter(quiet),
        backend=_backend(run.backend, spark_master, spark_partitions),
        identifiers=None if run.model else run.identifiers,
        attributes=None if run.model else run.attributes,
        decisions=decisions if decisions is not None else run.decisions,
    )
    _finish(result, out, pairs, entities, settings, quiet)


@cli.command()
@click.option("--out", "out", type=click.Path(path_type=Path), help="Also write the entities here.")
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
@click.option("--port", type=int, default=8000, show_default=True, help="With --serve.")
def demo(out: Path | None, n_explain: int, serve: bool, folder: Path, port: int) -> None:
    """Link the bundled synthetic adults' and children's services files and score the result.

    With --serve, index both files instead and serve the index on 127.0.0.1 with the web page
    (search, review, model), printing a new key of role review to sign in with.
    """
    from identmatch.testing import demo_paths, pairwise_scores

    adults, children = demo_paths()
    if serve:
        _serve_demo(adults, children, folder, port)
        return
    click.echo(f"Linking {adults.name} with {children.name} (bundled synthetic data)", err=True)
    result = identmatch.link(adults, children, progress=_Reporter(False))
    if out is not None:
        _write_table(result.entities, out)
    _print_summary(result, False)
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
    click.echo("Some explained matches:")
    shown = result.pairs[result.pairs["match_probability"] >= result.threshold]
    # Show the least certain accepted matches: they are the instructive ones.
    for row in shown.tail(n_explain).itertuples():
        click.echo(str(result.explain(str(row.record_id_l), str(row.record_id_r))))
        click.echo("")


def _serve_demo(adults: Path, children: Path, folder: Path, port: int) -> None:
    """Build the demo index in ``folder`` (once), write a config with a new key, serve it."""
    import pandas as pd

    try:
        from identmatch._server import serve as run
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None
    folder.mkdir(parents=True, exist_ok=True)
    index_path = folder / "demo.duckdb"
    config_path = folder / "service.toml"
    if not index_path.exists():
        click.echo(f"Indexing {adults.name} and {children.name} into {index_path}", err=True)
        both = pd.concat([pd.read_csv(p, dtype=str) for p in (adults, children)])
        identmatch.Index.build(both, index_path).close()
    config_path.unlink(missing_ok=True)  # a throwaway config: only this run's key works
    _, token = identmatch.create_api_key(config_path, name="demo", role="review")
    click.echo(f"Serving the demo index on http://127.0.0.1:{port}/ (Ctrl-C stops it).")
    click.echo("Open that page and sign in with this key (role review: search, review, decide):")
    click.echo(token)
    run(index_path, config_path, host="127.0.0.1", port=port)


@cli.group()
def index() -> None:
    """Build, extend and export a known-person index (one DuckDB file)."""


@index.command("build")
@click.argument("records", type=click.Path(path_type=Path))
@click.option("--index", "index_path", type=click.Path(path_type=Path), required=True)
@click.option("--map", "mapping", multiple=True, metavar="INPUT=STANDARD")
@click.option("--date-order", type=click.Choice(["DMY", "MDY", "YMD"]), default=None)
@click.option("--model", "model", type=click.Path(path_type=Path))
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True))
@_DECISIONS
@_with_declared_options
def index_build(
    records: Path,
    index_path: Path,
    mapping: tuple[str, ...],
    date_order: str | None,
    model: Path | None,
    threshold: float | None,
    decisions: Path | None,
    identifiers: tuple[str, ...],
    attributes: tuple[str, ...],
    config_path: Path | None,
) -> None:
    """Resolve RECORDS into entities and store everything in --index."""
    run, _ = _settings(
        config_path,
        mapping=mapping,
        date_order=date_order,
        identifiers=identifiers,
        attributes=attributes,
        threshold=threshold,
        model=model,
        save_model=None,
        backend=None,
    )
    config = run.model_config_for()
    built = identmatch.Index.build(
        records,
        index_path,
        columns=run.columns,
        date_order=run.date_order,
        model=run.model,
        config=config,
        identifiers=None if run.model else run.identifiers,
        attributes=None if run.model else run.attributes,
        decisions=decisions if decisions is not None else run.decisions,
    )
    n_entities = built.export()["entity_id"].nunique()
    click.echo(
        f"indexed {len(built):,} records as {n_entities:,} entities in {index_path}", err=True
    )
    built.close()


@index.command("add")
@click.argument("records", type=click.Path(path_type=Path))
@click.option("--index", "index_path", type=click.Path(path_type=Path), required=True)
@click.option("--map", "mapping", multiple=True, metavar="INPUT=STANDARD")
@click.option(
    "--out", "out", type=click.Path(path_type=Path), help="Write which entity each joined."
)
def index_add(records: Path, index_path: Path, mapping: tuple[str, ...], out: Path | None) -> None:
    """Add RECORDS to --index; each joins the entity it matches or starts a new one."""
    opened = identmatch.Index.open(index_path)
    try:
        outcome = opened.add(records, columns=_parse_map(mapping))
    finally:
        opened.close()
    if out is not None:
        _write_table(outcome, out)
    counts = outcome["action"].value_counts().to_dict()
    summary = ", ".join(f"{counts.get(k, 0):,} {k}" for k in ("joined", "new", "merged"))
    click.echo(f"added {len(outcome):,} records: {summary}", err=True)


@index.command("compact")
@click.option("--index", "index_path", type=click.Path(path_type=Path), required=True)
@click.option(
    "--encrypt",
    is_flag=True,
    help="Read an index that is not encrypted yet and write it encrypted under the index key "
    "(IDENTMATCH_INDEX_KEY_FILE).",
)
def index_compact(index_path: Path, encrypt: bool) -> None:
    """Rewrite --index so removed records' values are gone from the file's bytes.

    Run it with the service stopped, after removals that must be complete erasures. With an
    index key set, the rewritten file is encrypted under it.
    """
    before, after = identmatch.Index.compact(index_path, encrypt=encrypt)
    click.echo(f"compacted {index_path}: {before:,} -> {after:,} bytes", err=True)


@index.command("new-key")
@click.argument("path", type=click.Path(path_type=Path))
def index_new_key(path: Path) -> None:
    """Write a new index encryption key to PATH (owner-only; never overwrites a file).

    Point IDENTMATCH_INDEX_KEY_FILE at it: every index built, compacted or opened is then
    encrypted with it. Keep it apart from the index and its backups, and keep a copy: an
    index cannot be read without its key.
    """
    from identmatch._audit_chain import new_chain_key

    new_chain_key(path)
    click.echo(f"wrote a new index key to {path}; set IDENTMATCH_INDEX_KEY_FILE={path}", err=True)


_URL = click.option(
    "--url",
    metavar="URL",
    help="Ask a running service (http(s)://host:port) instead of opening --index; the API "
    "key is read from IDENTMATCH_API_KEY, never from the command line.",
)


class _ServiceError(click.ClickException):
    """A running service refused a call or could not be reached (exit 2, one line)."""

    exit_code = _EXIT_USAGE


_PURPOSE = click.option(
    "--purpose",
    required=True,
    help="Why you are reading these people's data (a case reference, a reason); audited.",
)


_AUDIT_KEY_FILE = click.option(
    "--audit-key-file",
    "audit_key_file",
    type=click.Path(path_type=Path),
    envvar="IDENTMATCH_AUDIT_KEY_FILE",
    help="The audit chain key (see 'identmatch audit new-key'); needed once a trail is "
    "chained. Also read from IDENTMATCH_AUDIT_KEY_FILE.",
)


def _audit_log(opened: identmatch.Index, key_file: Path | None) -> identmatch.AuditLog:
    key = identmatch.AuditLog.read_key(key_file) if key_file is not None else None
    return identmatch.AuditLog(opened, chain_key=key)


def _cli_key() -> str:
    """The audit trail's key id for a local command: ``cli:`` and the OS user."""
    from identmatch._audited import default_caller

    return default_caller("cli")


def _audited(opened: identmatch.Index, key_file: Path | None) -> identmatch.AuditedIndex:
    """The index's audited reads, as this command's user."""
    key = identmatch.AuditLog.read_key(key_file) if key_file is not None else None
    return opened.audited(caller=_cli_key(), chain_key=key)


def _checked_purpose(purpose: str) -> str:
    text = purpose.strip()
    if len(text) < 3 or len(text) > 500:
        msg = "--purpose must be 3 to 500 characters"
        raise click.BadParameter(msg, param_hint="--purpose")
    return text


@index.command("export")
@click.option("--index", "index_path", type=click.Path(path_type=Path))
@_URL
@click.option("--out", "out", type=click.Path(path_type=Path), required=True)
@_PURPOSE
@_AUDIT_KEY_FILE
def index_export(
    index_path: Path | None, url: str | None, out: Path, purpose: str, audit_key_file: Path | None
) -> None:
    """Write record_id and entity_id for every record in --index, or of a service (audited)."""
    purpose = _checked_purpose(purpose)
    index_path = _one_source(index_path, url)
    if url is not None:
        reply = _remote(url, "GET", "/v1/export", params={"purpose": purpose})
        columns = ["record_id", "entity_id", "source"]
        _write_table(pd.DataFrame(reply["records"], columns=columns), out)
        return
    with identmatch.Index.open(index_path) as opened, _audited(opened, audit_key_file) as reads:
        _write_table(reads.export(purpose=purpose), out)


@cli.group()
def decisions() -> None:
    """People's decisions about pairs of records: record, export."""


@decisions.command("export")
@click.option("--index", "index_path", type=click.Path(path_type=Path))
@_URL
@click.option("--out", "out", type=click.Path(path_type=Path), required=True)
@_PURPOSE
@_AUDIT_KEY_FILE
def decisions_export(
    index_path: Path | None, url: str | None, out: Path, purpose: str, audit_key_file: Path | None
) -> None:
    """Write every decision in --index (or of a service) as a decisions file (audited).

    Pass it to 'index build --decisions', 'dedupe --decisions' or 'link --decisions' to
    rebuild under the same decisions.
    """
    purpose = _checked_purpose(purpose)
    index_path = _one_source(index_path, url)
    if url is not None:
        reply = _remote(url, "GET", "/v1/decisions", params={"purpose": purpose})
        found = identmatch.read_decisions(pd.DataFrame(reply["decisions"]))
        found.to_csv(out, escape=_inert_cell)
        click.echo(f"wrote {len(found):,} decisions to {out}", err=True)
        return
    with identmatch.Index.open(index_path) as opened, _audited(opened, audit_key_file) as reads:
        found = reads.decisions(purpose=purpose)
        found.to_csv(out, escape=_inert_cell)
    click.echo(f"wrote {len(found):,} decisions to {out}", err=True)


@decisions.command("add")
@click.argument("record_a")
@click.argument("record_b")
@click.option("--index", "index_path", type=click.Path(path_type=Path), required=True)
@click.option("--decision", type=click.Choice(["same", "different", "unsure"]), required=True)
@click.option("--reason", required=True, help="Why, in a few words (kept with the decision).")
@_PURPOSE
@_AUDIT_KEY_FILE
def decisions_add(
    record_a: str,
    record_b: str,
    index_path: Path,
    decision: str,
    reason: str,
    purpose: str,
    audit_key_file: Path | None,
) -> None:
    """Decide whether RECORD_A and RECORD_B are the same person, and apply it (audited)."""
    purpose = _checked_purpose(purpose)
    opened = identmatch.Index.open(index_path)
    try:
        log = _audit_log(opened, audit_key_file)
        outcome = opened.decide(
            (record_a, record_b),
            decision,  # type: ignore[arg-type]  # click.Choice checked it
            reason=reason.strip(),
            purpose=purpose,
            decided_by=_cli_key(),
        )
        log.write(
            key_id=_cli_key(),
            action="decision",
            purpose=purpose,
            entity_ids=list(dict.fromkeys(outcome.entity_ids)),
            record_ids=[record_a, record_b],
            detail=f"{outcome.decision} (decision {outcome.decision_id})",
        )
        log.close()
    finally:
        opened.close()
    moved = f"; {len(outcome.moved)} record(s) moved" if outcome.moved else ""
    click.echo(
        f"decision {outcome.decision_id}: {outcome.decision}; now in "
        f"{outcome.entity_ids[0]} and {outcome.entity_ids[1]}{moved}",
        err=True,
    )


@cli.command()
@click.option("--index", "index_path", type=click.Path(path_type=Path), required=True)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Judge this threshold instead of the index's own.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def report(index_path: Path, threshold: float | None, as_json: bool) -> None:
    """Estimate precision and recall from the decisions in --index, and judge the threshold."""
    opened = identmatch.Index.open(index_path, read_only=True)
    try:
        found = opened.report(threshold=threshold)
    finally:
        opened.close()
    click.echo(found.model_dump_json(indent=2) if as_json else str(found))


_SEARCH_FIELDS = ("forename", "middle_names", "surname", "dob", "sex", "postcode", "nhs_number")


@cli.command()
@click.argument("queries", type=click.Path(path_type=Path), required=False)
@click.option("--index", "index_path", type=click.Path(path_type=Path))
@_URL
@click.option("--out", "out", type=click.Path(path_type=Path), help="Results file for QUERIES.")
@click.option("--top", type=click.IntRange(1, 100), default=5, show_default=True)
@click.option("--forename")
@click.option("--middle-names")
@click.option("--surname")
@click.option("--dob")
@click.option("--sex")
@click.option("--postcode")
@click.option("--nhs-number")
@click.option("--alias", "aliases", multiple=True, help="Another name the person is known by.")
@click.option(
    "--field",
    "declared",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="A declared identifier or attribute of the index, e.g. pnc=2008/0012345P; repeat.",
)
@click.option("--map", "mapping", multiple=True, metavar="INPUT=STANDARD")
@_PURPOSE
@_AUDIT_KEY_FILE
def search(
    queries: Path | None,
    index_path: Path | None,
    url: str | None,
    out: Path | None,
    top: int,
    forename: str | None,
    middle_names: str | None,
    surname: str | None,
    dob: str | None,
    sex: str | None,
    postcode: str | None,
    nhs_number: str | None,
    aliases: tuple[str, ...],
    declared: tuple[str, ...],
    mapping: tuple[str, ...],
    purpose: str,
    audit_key_file: Path | None,
) -> None:
    """Is this person already known? One person from the options, or a file of QUERIES.

    Audited in the index, as the service's searches are (key id ``cli:`` and your user);
    with --url the service searches and audits it under the API key.
    """
    purpose = _checked_purpose(purpose)
    index_path = _one_source(index_path, url)
    values = (forename, middle_names, surname, dob, sex, postcode, nhs_number)
    person: dict[str, Any] = {k: v for k, v in zip(_SEARCH_FIELDS, values, strict=True) if v}
    if aliases:
        person["aliases"] = list(aliases)
    for item in declared:
        column, sep, value = item.partition("=")
        if not sep or not column.strip():
            msg = "--field takes COLUMN=VALUE, e.g. pnc=2008/0012345P"
            raise click.BadParameter(msg, param_hint="--field")
        person[column.strip()] = value
    if queries is None and not person:
        msg = "give at least one field (--forename, --surname, --dob, ...) or a file"
        raise click.UsageError(msg)
    if url is not None:
        if queries is not None:
            msg = "--url searches one person; search a file of queries with --index"
            raise click.UsageError(msg)
        if declared:
            msg = "--field is for --index; with --url, search declared columns through the API"
            raise click.UsageError(msg)
        reply = _remote(
            url, "POST", "/v1/search", body={"purpose": purpose, "person": person, "top": top}
        )
        _print_hits([identmatch.Hit.model_validate(h) for h in reply["results"][0]["hits"]])
        return
    if queries is not None and out is None:
        msg = "searching a file of queries needs --out for the results"
        raise click.UsageError(msg)
    with identmatch.Index.open(index_path) as opened, _audited(opened, audit_key_file) as reads:
        if queries is None:
            _print_hits(reads.search(person, purpose=purpose, top=top))
            return
        assert out is not None
        found = reads.search_many(queries, purpose=purpose, columns=_parse_map(mapping), top=top)
        _write_table(found, out)


def _one_source(index_path: Path | None, url: str | None) -> Path:
    """--index, checked to be the one source given (with --url, a placeholder never opened)."""
    if (index_path is None) == (url is None):
        msg = "give --index FILE, or --url of a running service (not both)"
        raise click.UsageError(msg)
    return index_path if index_path is not None else Path()


def _remote(
    url: str,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
) -> Any:
    """One call to a running service, as JSON; errors exit 2 with the status and detail."""
    import urllib.error
    import urllib.parse
    import urllib.request

    if not url.startswith(("http://", "https://")):
        msg = "--url must start with http:// or https://"
        raise click.BadParameter(msg, param_hint="--url")
    token = os.environ.get("IDENTMATCH_API_KEY", "").strip()
    if not token:
        msg = "--url needs the API key in the IDENTMATCH_API_KEY environment variable"
        raise click.UsageError(msg)
    query = "?" + urllib.parse.urlencode(params) if params else ""
    request = urllib.request.Request(  # http(s) only: checked above
        url.rstrip("/") + path + query,
        data=json.dumps(body).encode("utf-8") if body is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("detail", exc.reason)
        except (ValueError, AttributeError):
            detail = exc.reason
        failure = _ServiceError(f"{url}: HTTP {exc.code}: {detail}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        failure = _ServiceError(f"{url}: cannot reach the service ({reason})")
    raise failure


@cli.command()
@click.option("--index", "index_path", type=click.Path(path_type=Path), required=True)
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log each request's method, path and status (never bodies or query strings).",
)
@click.option(
    "--docs/--no-docs",
    default=False,
    show_default=True,
    help="Serve the OpenAPI description and its pages (/openapi.json, /docs, /redoc).",
)
@click.option("--ssl-certfile", type=click.Path(path_type=Path), help="Serve HTTPS: certificate.")
@click.option("--ssl-keyfile", type=click.Path(path_type=Path), help="Serve HTTPS: private key.")
def serve(
    index_path: Path,
    config_path: Path,
    host: str,
    port: int,
    access_log: bool,
    docs: bool,
    ssl_certfile: Path | None,
    ssl_keyfile: Path | None,
) -> None:
    """Serve --index over HTTP, with the API keys and limits in --config.

    SIGTERM or SIGINT stop it cleanly; SIGHUP reloads the keys from --config.
    """
    try:
        from identmatch._server import serve as run
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None
    run(
        index_path,
        config_path,
        host=host,
        port=port,
        access_log=access_log,
        docs=docs,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
    )


@cli.group()
def keys() -> None:
    """Manage the service's API keys (stored hashed in the config file)."""


@keys.command("create")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True)
@click.option("--role", type=click.Choice(["search", "review", "write", "audit"]), required=True)
@click.option("--name", required=True, help="Who or what uses the key, e.g. case-system.")
@click.option(
    "--expires",
    default="",
    metavar="DATE",
    help="When the key stops working: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC).",
)
def keys_create(config_path: Path, role: str, name: str, expires: str) -> None:
    """Create a key; it is printed once, alone on the last line, and stored only hashed.

    A running service picks it up on SIGHUP (kill -HUP PID), as it does a revoked key.
    """
    key, token = identmatch.create_api_key(
        config_path,
        name=name,
        role=role,  # type: ignore[arg-type]
        expires=expires,
    )
    until = f", expires {key.expires}" if key.expires else ""
    click.echo(f"created key {key.id} ({key.role}) named {key.name!r}{until} in {config_path}")
    click.echo("store it now: it is not kept and cannot be shown again")
    click.echo(token)


_DATES = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])


@cli.group(invoke_without_command=True)
@click.option("--index", "index_path", type=click.Path(path_type=Path))
@_URL
@click.option("--since", type=_DATES, help="Only entries at or after this time (UTC).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--verify",
    is_flag=True,
    help="Check the hash chain under --audit-key-file instead of listing; exit 1 if broken.",
)
@_AUDIT_KEY_FILE
@click.pass_context
def audit(
    ctx: click.Context,
    index_path: Path | None,
    url: str | None,
    since: Any,
    as_json: bool,
    verify: bool,
    audit_key_file: Path | None,
) -> None:
    """List the audit trail of --index: who searched or changed what, when and why.

    Or check its chain (--verify), purge old entries (audit purge), answer a subject access
    request (audit subject) or make a chain key (audit new-key).
    """
    if ctx.invoked_subcommand is not None:
        return
    if index_path is None and url is None:
        msg = "give --index or --url (or a subcommand: purge, subject, new-key)"
        raise click.UsageError(msg)
    if url is not None:
        if verify or index_path is not None:
            msg = "--url lists the trail of a running service; --verify needs --index"
            raise click.UsageError(msg)
        _print_entries(_remote_entries(url, since), as_json)
        return
    assert index_path is not None
    if verify:
        if audit_key_file is None:
            msg = "--verify needs the chain key: --audit-key-file"
            raise click.UsageError(msg)
        report = identmatch.AuditLog.verify(
            index_path, identmatch.AuditLog.read_key(audit_key_file)
        )
        for problem in report.problems:
            click.echo(f"broken: {problem}")
        click.echo(f"{report.entries} entries, {report.chained} chained; head {report.head or '-'}")
        if not report.ok:
            ctx.exit(1)
        click.echo("chain intact (keep the head elsewhere to detect removal of newer entries)")
        return
    _print_entries(identmatch.AuditLog.read(index_path, since=since), as_json)


def _remote_entries(url: str, since: Any) -> list[identmatch.AuditEntry]:
    """The whole trail of a running service, a page at a time (role ``audit``)."""
    entries: list[identmatch.AuditEntry] = []
    after: int | None = 0
    while after is not None:
        params: dict[str, Any] = {"after": after, "limit": 10_000}
        if since is not None:
            params["since"] = since.strftime("%Y-%m-%dT%H:%M:%S")
        page = _remote(url, "GET", "/v1/audit", params=params)
        entries += [identmatch.AuditEntry.model_validate(e) for e in page["entries"]]
        after = page["next_after"]
    return entries


def _print_entries(entries: list[identmatch.AuditEntry], as_json: bool) -> None:
    for entry in entries:
        if as_json:
            # ASCII escapes: a purpose may hold any character, line separators included,
            # and each entry must stay on one line whatever splits the lines.
            click.echo(json.dumps(entry.model_dump(mode="json"), separators=(",", ":")))
            continue
        click.echo(
            f"{entry.audit_id}\t{entry.logged_at:%Y-%m-%dT%H:%M:%S}Z\t{entry.key_id}\t"
            f"{entry.action}\t{_one_field(entry.purpose) or '-'}\t{entry.fingerprint or '-'}\t"
            f"{','.join(entry.entity_ids) or '-'}\t{','.join(entry.record_ids) or '-'}\t"
            f"{_one_field(entry.detail) or '-'}"
        )


@audit.command("new-key")
@click.argument("path", type=click.Path(path_type=Path))
def audit_new_key(path: Path) -> None:
    """Write a new audit chain key to PATH (owner-only; never overwrites a file).

    Keep it outside the index's directory and backups; every writer of the index (the
    service, the CLI) then needs it.
    """
    identmatch.AuditLog.new_key(path)
    click.echo(f"wrote a new audit chain key to {path}", err=True)


@audit.command("purge")
@click.option("--index", "index_path", type=click.Path(path_type=Path), required=True)
@click.option("--before", type=_DATES, required=True, help="Remove entries before this (UTC).")
@_AUDIT_KEY_FILE
def audit_purge(index_path: Path, before: Any, audit_key_file: Path | None) -> None:
    """Remove audit entries logged before --before (retention); the chain stays checkable."""
    opened = identmatch.Index.open(index_path)
    try:
        log = _audit_log(opened, audit_key_file)
        removed = log.purge(before)
        log.close()
    finally:
        opened.close()
    click.echo(f"removed {removed:,} audit entries logged before {before:%Y-%m-%d %H:%M:%S}")


@audit.command("subject")
@click.option("--index", "index_path", type=click.Path(path_type=Path), required=True)
@click.option("--entity", "entity_id", required=True, help="The entity (person) asking.")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True, help="JSON file.")
@_PURPOSE
@_AUDIT_KEY_FILE
def audit_subject(
    index_path: Path, entity_id: str, out: Path, purpose: str, audit_key_file: Path | None
) -> None:
    """Subject access: every record of one entity, and every audit entry about it (JSON)."""
    purpose = _checked_purpose(purpose)
    opened = identmatch.Index.open(index_path)
    try:
        log = _audit_log(opened, audit_key_file)
        records = opened.entity(entity_id)
        if records.empty:
            msg = f"no entity {entity_id} in the index"
            raise click.BadParameter(msg, param_hint="--entity")
        ids = [str(r) for r in records["record_id"]]
        entries = log.about(entity_id, ids)
        rows = json.loads(records.to_json(orient="records", force_ascii=True))
        document = {
            "entity_id": entity_id,
            "records": rows,
            "audit": [e.model_dump(mode="json") for e in entries],
        }
        _write_private_text(out, json.dumps(document, indent=1, ensure_ascii=True) + "\n")
        log.write(
            key_id=_cli_key(),
            action="export",
            purpose=purpose,
            entity_ids=[entity_id],
            record_ids=ids,
            detail="subject access",
        )
        log.close()
    finally:
        opened.close()
    click.echo(f"wrote {len(ids)} records and {len(entries)} audit entries to {out}", err=True)


def _write_private_text(path: Path, text: str) -> None:
    """``text`` to ``path`` through an owner-only temp file renamed over it (as tables are)."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _one_field(text: str | None) -> str | None:
    """``text`` with tabs, line breaks and other unprintable characters escaped."""
    if text is None or text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _print_hits(hits: list[identmatch.Hit]) -> None:
    """The hits, with every stored value's control characters escaped.

    A stored value may hold terminal escape sequences (ESC [ ...) that would recolour,
    move or rewrite what the operator sees; they are printed as ``\\x1b[...``.
    """
    if not hits:
        click.echo("no match: nobody in the index scores at the possible level or above")
        return
    for rank, hit in enumerate(hits, start=1):
        click.echo(
            f"{rank}. {_one_field(hit.entity_id)}  {hit.verdict}  match probability "
            f"{hit.match_probability:.4f}  ({len(hit.records)} records)"
        )
        for record in hit.records:
            fields = (
                record.source or "-",
                record.record_id,
                record.name or "-",
                record.dob or record.dob_given or "-",
            )
            click.echo("     " + "  ".join(_one_field(f) or "-" for f in fields))
        lines = str(hit.explanation).split("\n")
        click.echo("\n".join("   " + (_one_field(line) or "") for line in lines))


def main() -> None:
    """Entry point: run the CLI, turning identmatch errors into exit code 2 and one line.

    Every file the command creates (index files and their write-ahead logs, outputs, the
    service config) holds personal data or keys, so the umask is tightened to 077 first:
    whatever the caller's umask, they are readable by their owner only.
    """
    os.umask(os.umask(0o077) | 0o077)
    try:
        code = cli.main(standalone_mode=False)
        if isinstance(code, int) and code:  # ctx.exit(code) in a command
            sys.exit(code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except identmatch.IdentMatchError as exc:
        click.echo(f"identmatch: error: {exc}", err=True)
        sys.exit(_EXIT_USAGE)
    except OSError as exc:
        click.echo(
            f"identmatch: error: {exc.strerror or type(exc).__name__}: {exc.filename or ''}",
            err=True,
        )
        sys.exit(_EXIT_USAGE)
