"""The ``identmatch`` command group that every command joins."""

from __future__ import annotations

import click

import identmatch

__all__ = ["cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(identmatch.__version__, prog_name="identmatch")
def cli() -> None:
    """identmatch: find the same person across records that disagree."""
