"""Index commands: build, add, compact, export and search an index; decisions and labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pandas as pd

import identmatch
from identmatch._cli.common import (
    AUDIT_KEY_FILE,
    DECISIONS,
    PURPOSE,
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
    with_declared_options,
    write_table,
)
from identmatch._cli.group import cli
from identmatch._cli.hits import hits_from_reply, print_hits


@cli.group()
def index() -> None:
    """Build, extend and export a known-person index (one DuckDB file)."""


@index.command("build")
@click.argument("records", type=click.Path(path_type=Path))
@click.option("--index", "index_path", type=click.Path(path_type=Path), required=True)
@click.option("--map", "mapping", multiple=True, metavar="INPUT=STANDARD")
@click.option("--date-order", type=click.Choice(["auto", "DMY", "MDY", "YMD"]), default=None)
@click.option("--model", "model", type=click.Path(path_type=Path))
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True))
@DECISIONS
@AUDIT_KEY_FILE
@with_declared_options
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
) -> None:
    """Resolve RECORDS into entities and store everything in --index.

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
        chain_key=read_key(audit_key_file),
        by=cli_key(),
    )
    n_records, n_entities = len(built), built.export()["entity_id"].nunique()
    built.close()
    click.echo(
        f"indexed {n_records:,} records as {n_entities:,} entities in {index_path}", err=True
    )
    if audit_key_file is None:
        made = identmatch.AuditLog.key_file(index_path)
        click.echo(
            f"its audit trail is chained under the key {made} (owner-only; keep it, and "
            "keep it out of the index's backups)",
            err=True,
        )


@index.command("add")
@click.argument("records", type=click.Path(path_type=Path))
@click.option("--index", "index_path", type=click.Path(path_type=Path), required=True)
@click.option("--map", "mapping", multiple=True, metavar="INPUT=STANDARD")
@click.option(
    "--out", "out", type=click.Path(path_type=Path), help="Write which entity each joined."
)
@AUDIT_KEY_FILE
def index_add(
    records: Path,
    index_path: Path,
    mapping: tuple[str, ...],
    out: Path | None,
    audit_key_file: Path | None,
) -> None:
    """Add RECORDS to --index; each joins the entity it matches or starts a new one (audited)."""
    opened = identmatch.Index.open(index_path)
    try:
        open_audit_log(opened, audit_key_file)  # the key is checked before anything is added
        outcome = opened.add(records, columns=parse_map(mapping), by=cli_key())
    finally:
        opened.close()
    if out is not None:
        write_table(outcome, out)
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
@AUDIT_KEY_FILE
def index_compact(index_path: Path, encrypt: bool, audit_key_file: Path | None) -> None:
    """Rewrite --index so removed records' values are gone from the file's bytes (audited).

    Run it with the service stopped, after removals that must be complete erasures. With an
    index key set, the rewritten file is encrypted under it.
    """
    before, after = identmatch.Index.compact(
        index_path, encrypt=encrypt, chain_key=read_key(audit_key_file), by=cli_key()
    )
    click.echo(f"compacted {index_path}: {before:,} -> {after:,} bytes", err=True)


@index.command("new-key")
@click.argument("path", type=click.Path(path_type=Path))
def index_new_key(path: Path) -> None:
    """Write a new index encryption key to PATH (owner-only; never overwrites a file).

    Point IDENTMATCH_INDEX_KEY_FILE at it: every index built, compacted or opened is then
    encrypted with it. Keep it apart from the index and its backups, and keep a copy: an
    index cannot be read without its key.
    """
    from identmatch._index.audit_chain import new_chain_key

    new_chain_key(path)
    click.echo(f"wrote a new index key to {path}; set IDENTMATCH_INDEX_KEY_FILE={path}", err=True)


@index.command("export")
@click.option("--index", "index_path", type=click.Path(path_type=Path))
@URL
@click.option("--out", "out", type=click.Path(path_type=Path), required=True)
@PURPOSE
@AUDIT_KEY_FILE
def index_export(
    index_path: Path | None, url: str | None, out: Path, purpose: str, audit_key_file: Path | None
) -> None:
    """Write record_id and entity_id for every record in --index, or of a service (audited)."""
    purpose = checked_purpose(purpose)
    index_path = one_source(index_path, url)
    if url is not None:
        reply = call_service(url, "GET", "/v1/export", params={"purpose": purpose})
        columns = ["record_id", "entity_id", "source"]
        write_table(pd.DataFrame(reply["records"], columns=columns), out)
        return
    with (
        identmatch.Index.open(index_path) as opened,
        audited_reads(opened, audit_key_file) as reads,
    ):
        write_table(reads.export(purpose=purpose), out)


@cli.group()
def decisions() -> None:
    """People's decisions about pairs of records: record, export."""


@decisions.command("export")
@click.option("--index", "index_path", type=click.Path(path_type=Path))
@URL
@click.option("--out", "out", type=click.Path(path_type=Path), required=True)
@PURPOSE
@AUDIT_KEY_FILE
def decisions_export(
    index_path: Path | None, url: str | None, out: Path, purpose: str, audit_key_file: Path | None
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
        click.echo(f"wrote {len(found):,} decisions to {out}", err=True)
        return
    with (
        identmatch.Index.open(index_path) as opened,
        audited_reads(opened, audit_key_file) as reads,
    ):
        found = reads.decisions(purpose=purpose)
        found.to_csv(out, escape=inert_cell)
    click.echo(f"wrote {len(found):,} decisions to {out}", err=True)


@decisions.command("add")
@click.argument("record_a")
@click.argument("record_b")
@click.option("--index", "index_path", type=click.Path(path_type=Path), required=True)
@click.option("--decision", type=click.Choice(["same", "different", "unsure"]), required=True)
@click.option("--reason", required=True, help="Why, in a few words (kept with the decision).")
@PURPOSE
@AUDIT_KEY_FILE
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
@URL
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
@PURPOSE
@AUDIT_KEY_FILE
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
    purpose = checked_purpose(purpose)
    index_path = one_source(index_path, url)
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
        reply = call_service(
            url, "POST", "/v1/search", body={"purpose": purpose, "person": person, "top": top}
        )
        print_hits(hits_from_reply(reply["results"][0]))
        return
    if queries is not None and out is None:
        msg = "searching a file of queries needs --out for the results"
        raise click.UsageError(msg)
    with (
        identmatch.Index.open(index_path) as opened,
        audited_reads(opened, audit_key_file) as reads,
    ):
        if queries is None:
            print_hits(reads.search(person, purpose=purpose, top=top))
            return
        assert out is not None
        found = reads.search_many(queries, purpose=purpose, columns=parse_map(mapping), top=top)
        write_table(found, out)
