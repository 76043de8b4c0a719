"""The search command: one person from options, or a file of queries, against an index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

import identmatch
from identmatch._cli.common import (
    AUDIT_KEY_FILE,
    INDEX_OR_URL,
    MAP,
    PURPOSE,
    QUIET,
    URL,
    audited_reads,
    call_service,
    checked_purpose,
    one_source,
    parse_map,
    say,
    write_table,
)
from identmatch._cli.group import cli
from identmatch._cli.hits import hits_from_reply, print_hits
from identmatch._cli.notes import check_outputs, input_notes, refuse

__all__ = ["query_notes", "show_hits"]


_SEARCH_FIELDS = ("forename", "middle_names", "surname", "dob", "sex", "postcode", "nhs_number")


@cli.command()
@click.argument("queries", type=click.Path(path_type=Path), required=False)
@INDEX_OR_URL
@URL
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    help="Where to write the results of a file of QUERIES (.csv or .parquet).",
)
@click.option(
    "--top",
    type=click.IntRange(1, 100),
    default=5,
    show_default=True,
    help="At most this many people per search, weak candidates included.",
)
@click.option("--forename", help="The person's forename(s).")
@click.option("--middle-names", help="The person's middle names.")
@click.option("--surname", help="The person's surname.")
@click.option("--dob", help="Date of birth, e.g. 1987-03-25 or 25/03/1987.")
@click.option("--sex", help="Sex: M, F, male, female, ...")
@click.option("--postcode", help="Postcode, e.g. SW1A 1AA.")
@click.option("--nhs-number", help="NHS number (ten digits).")
@click.option("--alias", "aliases", multiple=True, help="Another name the person is known by.")
@click.option(
    "--field",
    "declared",
    multiple=True,
    metavar="COLUMN=VALUE",
    help="A declared identifier or attribute of the index, e.g. pnc=2008/0012345P; repeat.",
)
@MAP
@click.option(
    "--date-order",
    type=click.Choice(["auto", "DMY", "MDY", "YMD"]),
    default=None,
    help="How to read an ambiguous date of birth like 04/03/1987 [default: auto, the order "
    "the index's sources share, else day-first].",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one person's result as JSON (hits, weak, unread).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse (exit 2) a search with a field given that cannot be read, e.g. a date of "
    "birth in no known form, instead of searching without it (for a file: any such value, or "
    "a column that looks like a standard one, unmapped).",
)
@PURPOSE
@AUDIT_KEY_FILE
@QUIET
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
    date_order: str | None,
    as_json: bool,
    strict: bool,
    purpose: str,
    audit_key_file: Path | None,
    quiet: bool,
) -> None:
    """Is this person already known? One person from the options, or a file of QUERIES.

    Audited in the index, as the service's searches are (key id ``cli:`` and your user);
    with --url the service searches and audits it under the API key.
    """
    check_outputs(out=out)
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
        if date_order is not None:
            msg = "--date-order is for --index; a service reads dates as its index does"
            raise click.UsageError(msg)
        reply = call_service(
            url, "POST", "/v1/search", body={"purpose": purpose, "person": person, "top": top}
        )
        show_hits(hits_from_reply(reply["results"][0]), as_json=as_json, strict=strict)
        return
    if queries is not None and out is None:
        msg = "searching a file of queries needs --out for the results"
        raise click.UsageError(msg)
    with (
        identmatch.Index.open(index_path) as opened,
        audited_reads(opened, audit_key_file) as reads,
    ):
        if date_order not in (None, "auto"):
            opened.search_order = date_order  # type: ignore[assignment]  # click.Choice
            opened.date_order = date_order  # type: ignore[assignment]
        if queries is None:
            if strict:  # read the query first: refuse before it is searched (and audited)
                refuse(query_notes(opened, person), done="nothing was searched")
            show_hits(reads.search(person, purpose=purpose, top=top), as_json=as_json)
            return
        assert out is not None
        if strict:  # the whole file read first, as a dedupe's input is
            run = identmatch.RunConfig(columns=parse_map(mapping), date_order=opened.search_order)
            notes = input_notes([(queries, queries.name)], run, opened.model.declared)
            refuse(notes, done="nothing was searched")
        found = reads.search_many(queries, purpose=purpose, columns=parse_map(mapping), top=top)
        write_table(found, out)
    unread = int((found["unread"].fillna("").astype(str) != "").sum())
    say(f"wrote {len(found):,} result rows to {out}", quiet)
    if unread and not quiet:
        click.echo(
            f"not read: {unread:,} result rows have fields given but not read (see the "
            "unread column); they were searched without them",
            err=True,
        )


def query_notes(opened: identmatch.Index, person: dict[str, Any]) -> list[str]:
    """The fields of ``person`` given but not read, as the index's search reads them."""
    from identmatch._index.search import Searcher, search_settings

    searcher = Searcher(opened.model, opened.search_order, search_settings(opened.config))
    return [field.message for field in searcher.query(person).unread]


def show_hits(hits: identmatch.Hits, *, as_json: bool, strict: bool = False) -> None:
    """One search's result: printed (what was not read first), or as JSON on stdout."""
    if strict:
        refuse([u.message for u in hits.unread], done="the results are not shown")
    if as_json:
        document = {
            "hits": [h.model_dump(mode="json") for h in hits],
            "weak": [w.model_dump(mode="json") for w in hits.weak],
            "unread": [u.model_dump(mode="json") for u in hits.unread],
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=True))
        return
    print_hits(hits)
