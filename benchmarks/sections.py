"""Report sections written by benchmarks that run on their own (index, service, Spark).

Each such benchmark writes ``benchmarks/sections/<name>.md`` with its own machine, versions
and command, then :func:`publish` splices every section into ``RESULTS.md`` after the main
tables and before the hand-written analysis. ``python -m benchmarks`` keeps them when it
regenerates the main tables, so neither run erases the other.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["MARK", "SECTIONS", "extra", "provenance", "publish"]

HERE = Path(__file__).parent
SECTIONS = HERE / "sections"
RESULTS = HERE / "RESULTS.md"
ANALYSIS = HERE / "ANALYSIS.md"
MARK = "<!-- sections: written by their own benchmarks (benchmarks/sections/*.md) -->"


def extra() -> str:
    """The marker, every section in name order, then the hand-written analysis."""
    parts = [MARK, ""]
    for path in sorted(SECTIONS.glob("*.md")):
        parts += [path.read_text(encoding="utf-8").rstrip(), ""]
    if ANALYSIS.exists():
        parts.append(ANALYSIS.read_text(encoding="utf-8"))
    return "\n".join(parts)


def publish(name: str, text: str, results: Path = RESULTS) -> Path:
    """Save section ``name`` and rewrite the tail of ``results`` (tables above stay as they are)."""
    SECTIONS.mkdir(parents=True, exist_ok=True)
    path = SECTIONS / f"{name}.md"
    path.write_text(text.rstrip() + "\n", encoding="utf-8")
    if results.exists():
        head = results.read_text(encoding="utf-8")
        if MARK in head:
            head = head.split(MARK, 1)[0]
        elif ANALYSIS.exists():
            analysis = ANALYSIS.read_text(encoding="utf-8")
            head = head.split(analysis.splitlines()[0], 1)[0] if analysis else head
        results.write_text(head.rstrip() + "\n\n" + extra(), encoding="utf-8")
    return path


def provenance(command: str, duration_s: float) -> str:
    """A markdown table of the machine, versions, source, date, command, duration and load."""
    from benchmarks import machine
    from benchmarks.report import markdown

    info = {
        **machine.machine(),
        **machine.versions(),
        "identmatch source": machine.source(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": f"`{command}`",
        "duration": f"{duration_s / 60:.1f} min",
        "load average at the end (1/5/15 min)": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
    }
    return markdown(["item", "value"], [[k, str(v)] for k, v in info.items()])
