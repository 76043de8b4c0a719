"""Printing a search: the fields not read, the ranked hits, then the weak candidates apart."""

from __future__ import annotations

from typing import Any

import click

import identmatch
from identmatch._cli.common import one_field

__all__ = ["hits_from_reply", "print_hits"]


def hits_from_reply(result: dict[str, Any]) -> identmatch.Hits:
    """One person's result of a service's search reply, as the Python API gives it."""
    return identmatch.Hits(
        [identmatch.Hit.model_validate(h) for h in result["hits"]],
        weak=[identmatch.WeakCandidate.model_validate(w) for w in result.get("weak", [])],
        unread=[identmatch.UnreadField.model_validate(u) for u in result.get("unread", [])],
        notes=[identmatch.UnreadField.model_validate(u) for u in result.get("notes", [])],
    )


def _entity(
    head: str, records: tuple[identmatch.KnownRecord, ...], explanation: identmatch.Explanation
) -> None:
    click.echo(head)
    for record in records:
        fields = (
            record.source or "-",
            record.record_id,
            record.name or "-",
            record.dob or record.dob_given or "-",
        )
        click.echo("     " + "  ".join(one_field(f) or "-" for f in fields))
    lines = str(explanation).split("\n")
    click.echo("\n".join("   " + (one_field(line) or "") for line in lines))


def print_hits(hits: identmatch.Hits) -> None:
    """The fields not read, the hits and the weak candidates, stored values escaped.

    A stored value may hold terminal escape sequences (ESC [ ...) that would recolour,
    move or rewrite what the operator sees; they are printed as ``\\x1b[...``.
    """
    for field in hits.unread:
        click.echo(f"not read: {field.message}; searched without it")
    for field in hits.notes:
        click.echo(f"note: {field.message}")
    if not hits:
        click.echo("no match: nobody in the index scores at the possible level or above")
    for rank, hit in enumerate(hits, start=1):
        head = (
            f"{rank}. {one_field(hit.entity_id)}  {hit.verdict}  match probability "
            f"{hit.match_probability:.4f}  ({len(hit.records)} records)"
        )
        _entity(head, hit.records, hit.explanation)
    if hits.weak:
        click.echo("weak candidates (below possible: not matches, listed to look at):")
    for weak in hits.weak:
        head = (
            f"-  {one_field(weak.entity_id)}  {weak.label}  match probability "
            f"{weak.match_probability:.4f}  ({len(weak.records)} records)"
        )
        _entity(head, weak.records, weak.explanation)
