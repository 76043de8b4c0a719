"""What a run could not read or use, said at its end; ``--strict`` refuses it before it starts.

Column names, counts, sources and row numbers only: never a value. Outputs are checked
before the run too, so a wrong extension or an unwritable directory fails in a second, not
after an hour.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

import identmatch
from identmatch._cli.common import EXIT_USAGE, one_field

__all__ = [
    "StrictError",
    "check_new_file",
    "check_output",
    "check_outputs",
    "input_notes",
    "print_notes",
    "print_unused",
    "refuse",
    "strict_check",
    "unused_notes",
]

DATE_FORMS = (
    "dates are read as 1987-03-25, 25/03/1987 (month-first with --date-order MDY), 25.3.87, "
    "19870325, 25 Mar 1987, March 25th 1987 or a year alone, and must not be after today"
)
_ALLOWED = {
    "forename": "a name with at least one letter",
    "middle_names": "a name with at least one letter",
    "surname": "a name with at least one letter",
    "aliases": "names with at least one letter",
    "address": "some text once titles and punctuation are taken out",
    "town": "some text once titles and punctuation are taken out",
    "sex": "male or female (M, F, man, woman, ...)",
    "postcode": "a postcode with letters or digits",
    "nhs_number": "ten digits passing the NHS number check digit",
}
_TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


class StrictError(click.ClickException):
    """--strict found something not read or used (exit 2, before the run)."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"identmatch: error: {self.format_message()}", err=True)


def _where(entry: Any, count: int, rows: Sequence[int]) -> str:
    place = one_field(entry.input) or "input"
    if entry.source:
        place += f", source {one_field(entry.source)}"
    shown = ", ".join(str(r) for r in rows)
    more = ", ..." if count > len(rows) else ""
    return f"{place} rows {shown}{more}" if rows else place


def unused_notes(quality: identmatch.DataQuality) -> list[str]:
    """One line per thing given but not read or used: columns, then values per column."""
    notes = [
        f"column {one_field(column)}: not used; it looks like {standard}: did you mean "
        f"--map {shlex.quote(one_field(f'{column}={standard}') or '')}?"
        for column, standard in quality.unused_columns.items()
    ]
    for name, counts in quality.columns.items():
        if name in ("dob", "recorded"):  # dates: the unread rows are kept per source
            unread = [s for s in counts.sources if s.unread]
            if unread:
                where = "; ".join(_where(s, s.unread, s.unread_rows) for s in unread)
                notes.append(
                    f"{name}: {counts.invalid:,} of {quality.rows:,} values not read as dates "
                    f"(set to missing; {where}); {DATE_FORMS}"
                )
            continue
        if not counts.invalid:
            continue
        where = "; ".join(_where(u, u.count, u.rows) for u in counts.unread)
        detail = f"set to missing; {where}" if where else "set to missing"
        if counts.wrong_type == counts.invalid:
            notes.append(
                f"{name}: {counts.wrong_type:,} values are numbers, not names ({detail}); a "
                "name needs at least one letter"
            )
            continue
        numbers = f", {counts.wrong_type:,} of them numbers" if counts.wrong_type else ""
        allowed = _ALLOWED.get(name, "a value of the declared kind")
        notes.append(
            f"{name}: {counts.invalid:,} values not read{numbers} ({detail}); allowed: {allowed}"
        )
    return notes


def print_unused(quality: identmatch.DataQuality, quiet: bool) -> None:
    """The run's last lines on stderr: what it could not read or use, or that it read all."""
    if not quiet:
        print_notes(unused_notes(quality))


def print_notes(notes: Sequence[str]) -> None:
    """``notes`` on stderr under a heading, or one line saying everything was read."""
    if not notes:
        click.echo("Read and used every column and value given.", err=True)
        return
    click.echo(f"Not read or used ({len(notes)}; --strict refuses such input):", err=True)
    for note in notes:
        click.echo(f"  - {note}", err=True)


def _input_quality(
    source: Path, name: str, run: identmatch.RunConfig, schema: Any
) -> identmatch.DataQuality:
    from identmatch._config import ReadConfig
    from identmatch._prepare.files import is_prepared_directory
    from identmatch._prepare.read import read_records
    from identmatch._prepare.records import prepare_records

    if is_prepared_directory(source):
        quality_file = source / "_quality.json"
        if not quality_file.is_file():
            return identmatch.DataQuality(rows=0, columns={})  # the run says what is wrong
        return identmatch.DataQuality.model_validate_json(quality_file.read_text("utf-8"))
    config = ReadConfig(columns=run.columns, date_order=run.date_order)
    records = read_records(source, config, name=name)
    _, quality = prepare_records(
        records, date_order=run.date_order, schema=schema or run.declared(), name=name
    )
    return quality


def input_notes(
    inputs: Sequence[tuple[Path, str]],
    run: identmatch.RunConfig,
    schema: Any = None,
) -> list[str]:
    """Read and standardise each input (no matching): what in them cannot be read or used."""
    notes: list[str] = []
    for source, name in inputs:
        notes += unused_notes(_input_quality(source, name, run, schema))
    return notes


def refuse(notes: Sequence[str], *, done: str = "nothing was run") -> None:
    """``--strict`` found ``notes``: exit 2 listing them (before anything is run)."""
    if notes:
        lines = "\n".join(f"  - {note}" for note in notes)
        msg = f"--strict: {len(notes)} thing(s) given cannot be read or used; {done}:\n"
        raise StrictError(msg + lines)


def strict_check(inputs: Sequence[tuple[Path, str]], run: identmatch.RunConfig) -> None:
    """Under ``run.strict``: read and standardise each input first, and refuse (exit 2)
    when anything in them cannot be read or used. Nothing is matched or written."""
    if run.strict:
        refuse(input_notes(inputs, run))


def check_new_file(path: Path, option: str) -> None:
    """Refuse a file to create that exists, or whose directory is missing or not writable."""
    if path.exists():
        msg = f"{path}: already exists; remove it or give another path"
        raise click.BadParameter(msg, param_hint=option)
    check_output(path, option, (path.suffix.lower(),))


def check_output(path: Path | None, option: str, suffixes: Sequence[str] = _TABLE_SUFFIXES) -> None:
    """Refuse an output before the run: a wrong extension, or a directory that is missing or
    not writable (exit 2 naming the option)."""
    if path is None:
        return
    if path.suffix.lower() not in suffixes:
        msg = f"{path.name}: must end in {' or '.join(suffixes)}"
        raise click.BadParameter(msg, param_hint=option)
    if path.is_dir():
        msg = f"{path} is a directory; give a file name"
        raise click.BadParameter(msg, param_hint=option)
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        msg = f"{folder}: no such directory"
        raise click.BadParameter(msg, param_hint=option)
    if not os.access(folder, os.W_OK | os.X_OK):
        msg = f"{folder}: not writable"
        raise click.BadParameter(msg, param_hint=option)


def check_outputs(**paths: Path | None) -> None:
    """:func:`check_output` on each table output, keyed by option name (``out``, ``pairs``)."""
    for option, path in paths.items():
        if option == "save_model":
            check_output(path, "--save-model", (".json",))
        else:
            check_output(path, "--" + option.replace("_", "-"))
