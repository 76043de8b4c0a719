"""The bundled synthetic demo files (made by ``identmatch.testing.demo_files``)."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

__all__ = ["demo_paths"]


def demo_paths() -> tuple[Path, Path]:
    """Paths of the bundled adults' and children's services CSV files (synthetic people)."""
    data = files("identmatch") / "data"
    paths = []
    for name in ("demo_adults.csv", "demo_children.csv"):
        with as_file(data / name) as path:
            paths.append(Path(path))
    return paths[0], paths[1]
