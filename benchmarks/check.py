"""Check a RESULTS.md: every expected (system, dataset) row is there and every table parses.

Checks form, not figures: that each run has a row in the accuracy and speed tables (and, with
``require_ok``, finished), that the required sections and machine facts are present, and that
every table has a header, a separator and rows of the header's width.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.plan import Job
from benchmarks.report import ACCURACY_HEADER, SPEED_HEADER
from benchmarks.tables import Table, parse_tables

__all__ = ["REQUIRED_SECTIONS", "problems"]

REQUIRED_SECTIONS = (
    "Machine and versions",
    "Targets",
    "Where identmatch is ahead and where it is behind",
    "Accuracy",
    "Speed and memory",
    "Scale: identmatch and Splink on synthetic records",
    "Runs that did not finish",
)
MACHINE_FACTS = ("cores (nproc)", "memory (MemTotal)", "CPU", "python", "identmatch", "splink")
MACHINE_FACTS += ("duckdb", "pandas", "recordlinkage", "date", "command")


def _find(tables: list[Table], heading: str) -> Table | None:
    return next((t for t in tables if t.heading == heading), None)


def _rows_present(
    table: Table | None, header: list[str], jobs: Sequence[Job], require_ok: bool
) -> list[str]:
    if table is None:
        return []
    found = []
    if table.header != header:
        found.append(f"'{table.heading}' header is {table.header}, expected {header}")
    rows = {(r[0], r[1]): r for r in table.rows if len(r) >= 3}
    for job in jobs:
        row = rows.get((job.dataset.title, job.system))
        if row is None:
            found.append(f"'{table.heading}' has no row for {job.system} on {job.dataset.title}")
        elif require_ok and row[2] != "ok":
            found.append(f"{job.system} on {job.dataset.title} did not finish: {row[2]}")
    return found


def problems(text: str, jobs: Sequence[Job], *, require_ok: bool) -> list[str]:
    """Everything wrong with a report's form; empty when it is well formed."""
    tables = parse_tables(text)
    found = [f"table under '{t.heading}': {p}" for t in tables for p in t.problems]
    headings = {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")}
    found += [f"section '{s}' is missing" for s in REQUIRED_SECTIONS if s not in headings]
    found += [
        f"section '{s}' has no table"
        for s in REQUIRED_SECTIONS
        if s in headings and not _find(tables, s)
    ]
    machine = _find(tables, "Machine and versions")
    facts = {row[0] for row in machine.rows} if machine else set()
    found += [f"machine table lacks '{fact}'" for fact in MACHINE_FACTS if fact not in facts]
    found += _rows_present(_find(tables, "Accuracy"), ACCURACY_HEADER, jobs, require_ok)
    found += _rows_present(_find(tables, "Speed and memory"), SPEED_HEADER, jobs, require_ok)
    scale = _find(tables, "Scale: identmatch and Splink on synthetic records")
    synthetic = {j.dataset.title for j in jobs if j.dataset.source == "synthetic"}
    if scale is not None:
        missing = synthetic - {row[0] for row in scale.rows}
        found += [f"scale table has no row for {title}" for title in sorted(missing)]
    errors = [t for t in tables if "recall per error type" in t.heading]
    if synthetic and not errors:
        found.append("no recall-per-error-type table")
    missed = [t for t in tables if t.heading.endswith(": who we miss")]
    if synthetic and not missed:
        found.append("no who-we-miss table (recall by name origin, sex and age band)")
    return found
