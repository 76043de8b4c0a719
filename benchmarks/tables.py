"""Markdown tables and the number formats the report uses, and the parser the check uses."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "MISSING",
    "Table",
    "gib",
    "markdown",
    "parse_tables",
    "rate",
    "ratio",
    "score",
    "seconds",
]

MISSING = "—"
"""Shown where a figure does not exist (a failed run, a threshold below the pair floor)."""


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table; pipes in cells are escaped."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    align = ["---:" if _numeric([r[i] for r in rows]) else "---" for i in range(len(header))]
    return "\n".join([line(header), line(align), *(line(r) for r in rows)])


_NUMBER = re.compile(r"^(>= )?[-+]?[\d.,]+")


def _numeric(cells: Sequence[str]) -> bool:
    """Right-align a column whose every figure starts with a number."""
    figures = [str(c) for c in cells if str(c) != MISSING]
    return bool(figures) and all(_NUMBER.match(c) for c in figures)


def score(value: float | None) -> str:
    """Precision, recall or F1 to four places."""
    return MISSING if value is None else f"{value:.4f}"


def rate(value: float | None) -> str:
    """A share as a percentage with two decimals."""
    return MISSING if value is None else f"{100 * value:.2f}%"


def seconds(value: float | None) -> str:
    """Seconds: one decimal under ten minutes, then minutes too."""
    if value is None:
        return MISSING
    return f"{value:.1f}" if value < 600 else f"{value:.0f} ({value / 60:.1f} min)"


def gib(value: float | None) -> str:
    """Bytes as GiB to two places."""
    return MISSING if value is None else f"{value / 2**30:.2f}"


def ratio(value: float | None) -> str:
    """identmatch / other, to two places, with a word for which side is ahead."""
    if value is None:
        return MISSING
    word = "identmatch ahead" if value < 0.99 else "level" if value <= 1.01 else "identmatch behind"
    return f"{value:.2f} ({word})"


@dataclass
class Table:
    """A parsed table: its heading (the last ``#`` line above it), header and rows."""

    heading: str
    header: list[str]
    rows: list[list[str]]
    problems: list[str]


def _cells(line: str) -> list[str]:
    body = line.strip().removeprefix("|").removesuffix("|")
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", body)]


def parse_tables(text: str) -> list[Table]:
    """Every Markdown table in ``text``, with what is malformed about each."""
    tables: list[Table] = []
    heading = ""
    block: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            tables.append(_table(heading, block))
            block = []
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
    return tables


def _table(heading: str, lines: list[str]) -> Table:
    problems = []
    header = _cells(lines[0])
    if len(lines) < 2 or not all(set(c) <= set(":-") and c for c in _cells(lines[1])):
        problems.append("no separator line under the header")
    rows = [_cells(line) for line in lines[2:]]
    if len(lines) >= 2 and len(_cells(lines[1])) != len(header):
        problems.append("separator and header differ in width")
    problems.extend(
        f"row {i + 1} has {len(row)} cells, the header {len(header)}"
        for i, row in enumerate(rows)
        if len(row) != len(header)
    )
    if not rows:
        problems.append("no rows")
    return Table(heading, header, rows, problems)
