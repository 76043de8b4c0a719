"""Model commands: ``identmatch model health`` prints what training saw and kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

import identmatch
from identmatch._cli.group import cli

__all__ = ["print_health"]


@cli.group()
def model() -> None:
    """Inspect a saved model (written by --save-model)."""


@model.command("health")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--constrained",
    "only_constrained",
    is_flag=True,
    help="List only the levels training constrained (as dedupe and link print them).",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="Print nothing but errors and the results asked for."
)
def health(path: Path, only_constrained: bool, quiet: bool) -> None:
    """Print the model-health table of the model file PATH: per level, the matching pairs
    EM saw, the raw and final weights (bits) and what was constrained."""
    from rich.console import Console

    model = identmatch.Model.load(path)
    print_health(Console(), model, show_all=not only_constrained)


def print_health(console: Any, model: identmatch.Model, *, show_all: bool = True) -> None:
    """The model-health table: every level, or with ``show_all=False`` only the levels
    training constrained (what dedupe and link print)."""
    from rich.console import Console
    from rich.table import Table

    if not console.is_terminal:
        console = Console(file=console.file, width=160)  # a file or a pipe: no wrapping
    levels = model.training.levels if model.training else ()
    if not levels:
        console.print("model health: the model was not trained (default m and u)")
        return
    constrained = sum(bool(row.constrained) for row in levels)
    title = (
        f"Model health: {len(levels)} levels, {constrained} constrained "
        "(weights in bits; raw is EM's maximum-likelihood estimate)"
    )
    table = Table(title=title)
    for heading in ("comparison", "level", "matches seen", "raw", "final", "default"):
        table.add_column(heading, justify="left" if heading in ("comparison", "level") else "right")
    table.add_column("constrained")
    for row in levels:
        if not show_all and not row.constrained:
            continue
        table.add_row(
            row.comparison,
            row.label.split(": ", 1)[-1],
            f"{row.matches_seen:,.0f}",
            "-" if row.raw_weight is None else _bits(row.raw_weight),
            f"{row.weight:+.1f}",
            f"{row.default_weight:+.1f}",
            "; ".join(row.constrained),
        )
    console.print(table)


def _bits(value: float) -> str:
    """A weight in bits; EM's collapsed estimates (m of 0) are stored as -999 and shown so."""
    return "-inf (collapsed)" if value <= -999 else f"{value:+.1f}"
