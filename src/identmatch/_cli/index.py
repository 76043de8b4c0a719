"""Index commands: build, add, compact, export and search an index; decisions and labels."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

import identmatch
from identmatch._cli.common import (
    AUDIT_KEY_FILE,
    DATE_ORDER,
    DECISIONS,
    INDEX_FILE,
    INDEX_OR_URL,
    MAP,
    PURPOSE,
    QUIET,
    STRICT,
    URL,
    audited_reads,
    call_service,
    checked_purpose,
    cli_key,
    inert_cell,
    one_source,
    open_audit_log,
    parse_map,
    read_key,
    run_settings,
    say,
    with_declared_options,
    write_table,
)
from identmatch._cli.group import cli
from identmatch._cli.notes import (
    check_new_file,
    check_outputs,
    input_notes,
    print_notes,
    print_unused,
    refuse,
    strict_check,
)
from identmatch._cli.progress import Reporter
from identmatch._cli.summary import print_tables


@cli.group()
def index() -> None:
    """Build, extend and export a known-person index (one DuckDB file)."""


@index.command("build")
@click.argument("records", type=click.Path(path_type=Path))
@click.option(
    "--index",
    "index_path",
    type=click.Path(path_type=Path),
    required=True,
    help="The index file to create (DuckDB); must not exist yet.",
)
@MAP
@DATE_ORDER
@click.option(
    "--model",
    "model",
    type=click.Path(path_type=Path),
    help="Use this saved model (from --save-model) instead of training one.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Match probability at which records join one entity [default: 0.95].",
)
@DECISIONS
@AUDIT_KEY_FILE
@with_declared_options
@STRICT
@QUIET
def index_build(
    records: Path,
    index_path: Path,
    mapping: tuple[str, ...],
    date_order: str | None,
    model: Path | None,
    threshold: float | None,
    decisions: Path | None,
    audit_key_file: Path | None,
    identifiers: tuple[str, ...],
    attributes: tuple[str, ...],
    config_path: Path | None,
    strict: bool,
    quiet: bool,
) -> None:
    """Resolve RECORDS into entities and store everything in --index.

    Prints what dedupe prints: data quality, candidate pairs, entities by size and source,
    and what could not be read or used.

    Its audit trail is chained from this first entry: under --audit-key-file, else under a
    new key made in the key directory (printed).
    """
    run, _ = run_settings(
        config_path,
        mapping=mapping,
        date_order=date_order,
        identifiers=identifiers,
        attributes=attributes,
        threshold=threshold,
        model=model,
        save_model=None,
        backend=None,
        strict=strict,
    )
    check_new_file(index_path, "--index")
    strict_check([(records, records.name)], run)
    config = run.model_config_for()
    with Reporter(quiet, stages=6 if run.model else 7) as reporter:
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
            progress=reporter,
            chain_key=read_key(audit_key_file),
            by=cli_key(),
        )
    try:
        entities = built.export()
        if not quiet and built.built_quality is not None:
            print_tables(
                built.built_quality,
                built.built_blocking,
                built.model,
                entities,
                built.config.threshold,
            )
            print_unused(built.built_quality, quiet)
        say(
            f"indexed {len(built):,} records as {entities['entity_id'].nunique():,} entities "
            f"in {index_path}",
            quiet,
        )
    finally:
        built.close()
    if audit_key_file is None and not quiet:
        made = identmatch.AuditLog.key_file(index_path)
        click.echo(
            f"its audit trail is chained under the key {made} (owner-only; keep it, and "
            "keep it out of the index's backups)",
            err=True,
        )


@index.command("add")
@click.argument("records", type=click.Path(path_type=Path))
@INDEX_FILE
@MAP
@click.option(
    "--date-order",
    type=click.Choice(["auto", "DMY", "MDY", "YMD"]),
    default=None,
    help="How to read ambiguous dates like 04/03/1987 [default: auto, as the index was "
    "built: each source in the order its dates show, else the order kept for it].",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    help="Write which entity each record joined (.csv or .parquet).",
)
@STRICT
@QUIET
@AUDIT_KEY_FILE
def index_add(
    records: Path,
    index_path: Path,
    mapping: tuple[str, ...],
    date_order: str | None,
    out: Path | None,
    strict: bool,
    quiet: bool,
    audit_key_file: Path | None,
) -> None:
    """Add RECORDS to --index; each joins the entity it matches or starts a new one (audited)."""
    check_outputs(out=out)
    opened = identmatch.Index.open(index_path)
    try:
        open_audit_log(opened, audit_key_file)  # the key is checked before anything is added
        if date_order not in (None, "auto"):
            opened.date_order = date_order  # type: ignore[assignment]  # click.Choice
        run = identmatch.RunConfig(columns=parse_map(mapping), date_order=opened.date_order)
        notes = (
            []
            if quiet and not strict
            else input_notes([(records, records.name)], run, opened.model.declared)
        )
        if strict:
            refuse(notes)
        outcome = opened.add(records, columns=run.columns, by=cli_key())
    finally:
        opened.close()
    if out is not None:
        write_table(outcome, out)
    counts = outcome["action"].value_counts().to_dict()
    summary = ", ".join(f"{counts.get(k, 0):,} {k}" for k in ("joined", "new", "merged"))
    say(f"added {len(outcome):,} records: {summary}", quiet)
    if not quiet:
        print_notes(notes)


@index.command("compact")
@INDEX_FILE
@click.option(
    "--encrypt",
    is_flag=True,
    help="Read an index that is not encrypted yet and write it encrypted under the index key "
    "(IDENTMATCH_INDEX_KEY_FILE).",
)
@AUDIT_KEY_FILE
@QUIET
def index_compact(
    index_path: Path, encrypt: bool, audit_key_file: Path | None, quiet: bool
) -> None:
    """Rewrite --index so removed records' values are gone from the file's bytes (audited).

    Run it with the service stopped, after removals that must be complete erasures. With an
    index key set, the rewritten file is encrypted under it.
    """
    before, after = identmatch.Index.compact(
        index_path, encrypt=encrypt, chain_key=read_key(audit_key_file), by=cli_key()
    )
    say(f"compacted {index_path}: {before:,} -> {after:,} bytes", quiet)


@index.command("new-key")
@click.argument("path", type=click.Path(path_type=Path))
@QUIET
def index_new_key(path: Path, quiet: bool) -> None:
    """Write a new index encryption key to PATH (owner-only; never overwrites a file).

    Point IDENTMATCH_INDEX_KEY_FILE at it: every index built, compacted or opened is then
    encrypted with it. Keep it apart from the index and its backups, and keep a copy: an
    index cannot be read without its key.
    """
    from identmatch._index.audit_chain import new_chain_key

    new_chain_key(path)
    say(f"wrote a new index key to {path}; set IDENTMATCH_INDEX_KEY_FILE={path}", quiet)


@index.command("export")
@INDEX_OR_URL
@URL
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="The file to write (.csv or .parquet).",
)
@PURPOSE
@AUDIT_KEY_FILE
@QUIET
def index_export(
    index_path: Path | None,
    url: str | None,
    out: Path,
    purpose: str,
    audit_key_file: Path | None,
    quiet: bool,
) -> None:
    """Write record_id, entity_id, source and the date recorded for every record in --index,
    or of a service (audited)."""
    purpose = checked_purpose(purpose)
    check_outputs(out=out)
    index_path = one_source(index_path, url)
    if url is not None:
        reply = call_service(url, "GET", "/v1/export", params={"purpose": purpose})
        columns = ["record_id", "entity_id", "source", "recorded"]
        write_table(pd.DataFrame(reply["records"], columns=columns), out)
        say(f"wrote {len(reply['records']):,} records to {out}", quiet)
        return
    with (
        identmatch.Index.open(index_path) as opened,
        audited_reads(opened, audit_key_file) as reads,
    ):
        found = reads.export(purpose=purpose)
        write_table(found, out)
    say(f"wrote {len(found):,} records to {out}", quiet)


@cli.group()
def decisions() -> None:
    """People's decisions about pairs of records: add one (and apply it), or export them all."""


@decisions.command("export")
@INDEX_OR_URL
@URL
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="The file to write (.csv or .parquet).",
)
@PURPOSE
@AUDIT_KEY_FILE
@QUIET
def decisions_export(
    index_path: Path | None,
    url: str | None,
    out: Path,
    purpose: str,
    audit_key_file: Path | None,
    quiet: bool,
) -> None:
    """Write every decision in --index (or of a service) as a decisions file (audited).

    Pass it to 'index build --decisions', 'dedupe --decisions' or 'link --decisions' to
    rebuild under the same decisions.
    """
    purpose = checked_purpose(purpose)
    index_path = one_source(index_path, url)
    if url is not None:
        reply = call_service(url, "GET", "/v1/decisions", params={"purpose": purpose})
        found = identmatch.read_decisions(pd.DataFrame(reply["decisions"]))
        found.to_csv(out, escape=inert_cell)
        say(f"wrote {len(found):,} decisions to {out}", quiet)
        return
    with (
        identmatch.Index.open(index_path) as opened,
        audited_reads(opened, audit_key_file) as reads,
    ):
        found = reads.decisions(purpose=purpose)
        found.to_csv(out, escape=inert_cell)
    say(f"wrote {len(found):,} decisions to {out}", quiet)


@decisions.command("add")
@click.argument("record_a")
@click.argument("record_b")
@INDEX_FILE
@click.option(
    "--decision",
    type=click.Choice(["same", "different", "unsure"]),
    required=True,
    help="same: one person (joined); different: never in one entity; unsure: noted only.",
)
@click.option("--reason", required=True, help="Why, in a few words (kept with the decision).")
@PURPOSE
@AUDIT_KEY_FILE
@QUIET
def decisions_add(
    record_a: str,
    record_b: str,
    index_path: Path,
    decision: str,
    reason: str,
    purpose: str,
    audit_key_file: Path | None,
    quiet: bool,
) -> None:
    """Decide whether RECORD_A and RECORD_B are the same person, and apply it (audited)."""
    purpose = checked_purpose(purpose)
    opened = identmatch.Index.open(index_path)
    try:
        open_audit_log(opened, audit_key_file)
        outcome = opened.decide(  # audited as decided_by
            (record_a, record_b),
            decision,  # type: ignore[arg-type]  # click.Choice checked it
            reason=reason.strip(),
            purpose=purpose,
            decided_by=cli_key(),
        )
    finally:
        opened.close()
    moved = f"; {len(outcome.moved)} record(s) moved" if outcome.moved else ""
    say(
        f"decision {outcome.decision_id}: {outcome.decision}; now in "
        f"{outcome.entity_ids[0]} and {outcome.entity_ids[1]}{moved}",
        quiet,
    )


@cli.command()
@INDEX_FILE
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Judge this threshold instead of the index's own.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--charts",
    "charts",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write the index's charts into this folder, as offline HTML and PNG.",
)
@QUIET
def report(
    index_path: Path, threshold: float | None, as_json: bool, charts: Path | None, quiet: bool
) -> None:
    """Estimate precision and recall from the decisions in --index, and judge the threshold."""
    opened = identmatch.Index.open(index_path, read_only=True)
    try:
        found = opened.report(threshold=threshold)
        if charts is not None:
            from identmatch._cli.charts import write_index_charts

            written = write_index_charts(opened, charts)
            if not quiet:
                click.echo(f"{len(written)} chart files written to {charts}", err=True)
    finally:
        opened.close()
    click.echo(found.model_dump_json(indent=2) if as_json else str(found))
