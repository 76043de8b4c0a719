"""Stage notes from a run, so a run that is stopped still tells where it was.

Each note is one line ``seconds<TAB>rss_bytes<TAB>message`` appended to the file named by
``BENCH_PROGRESS`` (set by the parent for each run); without it, notes are dropped.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["current_rss", "note"]

_START = time.perf_counter()
_PAGE = os.sysconf("SC_PAGE_SIZE")


def current_rss(pid: int | str = "self") -> int:
    """Resident set of a process in bytes (0 if it is gone)."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def note(message: str) -> None:
    """Record that a stage starts (also usable as identmatch's ``progress`` callback)."""
    target = os.environ.get("BENCH_PROGRESS")
    if not target:
        return
    line = f"{time.perf_counter() - _START:.1f}\t{current_rss()}\t{message}\n"
    with Path(target).open("a", encoding="utf-8") as handle:
        handle.write(line)
