"""The ``identmatch`` command: parse arguments, call the public API, print. No logic here."""

from __future__ import annotations

import os
import sys

import click
from pydantic import ValidationError

import identmatch
from identmatch._cli import batch, index, model, search, service
from identmatch._cli.common import EXIT_USAGE
from identmatch._cli.group import cli
from identmatch._exceptions import invalid_fields

__all__ = ["cli", "main"]

_COMMANDS = (batch, index, model, search, service)
"""Imported for their commands, which join :data:`cli` as they are defined."""


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
        sys.exit(EXIT_USAGE)
    except ValidationError as exc:  # settings built from options: name the field, not the value
        click.echo(f"identmatch: error: invalid settings: {invalid_fields(exc)}", err=True)
        sys.exit(EXIT_USAGE)
    except OSError as exc:
        click.echo(
            f"identmatch: error: {exc.strerror or type(exc).__name__}: {exc.filename or ''}",
            err=True,
        )
        sys.exit(EXIT_USAGE)
