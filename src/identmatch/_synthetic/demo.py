"""The bundled synthetic demo files (made by ``identmatch.testing.demo_files``), and the date
each demo record was recorded, which the served demo adds to them."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable
from importlib.resources import as_file, files
from pathlib import Path

__all__ = ["demo_paths", "demo_recorded"]

_FIRST_RECORDED = dt.date(2018, 1, 1)
_DAYS_RECORDED = (dt.date(2025, 12, 31) - _FIRST_RECORDED).days


def demo_paths() -> tuple[Path, Path]:
    """Paths of the bundled adults' and children's services CSV files (synthetic people)."""
    data = files("identmatch") / "data"
    paths = []
    for name in ("demo_adults.csv", "demo_children.csv"):
        with as_file(data / name) as path:
            paths.append(Path(path))
    return paths[0], paths[1]


def demo_recorded(record_ids: Iterable[str]) -> list[str]:
    """A date each demo record was recorded (ISO, 2018 to 2025), fixed by its id alone.

    Computed from the id (no random stream is drawn), so the bundled files and everything
    generated stay as they are; ``identmatch demo --serve`` gives its index these dates.
    """
    return [
        (
            _FIRST_RECORDED + dt.timedelta(days=zlib.crc32(str(i).encode()) % _DAYS_RECORDED)
        ).isoformat()
        for i in record_ids
    ]
