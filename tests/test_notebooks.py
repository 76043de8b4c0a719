"""The notebooks run from top to bottom (their code cells, in order, in one namespace)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    """Every code cell executes without error, and no outputs are committed."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    namespace: dict[str, object] = {}
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        for cell in notebook["cells"]:
            if cell["cell_type"] != "code":
                continue
            assert cell.get("outputs", []) == []
            source = "".join(cell["source"])
            exec(compile(source, str(path), "exec"), namespace)
    finally:
        os.chdir(cwd)


def test_there_is_a_notebook_per_user() -> None:
    """The data team's, the integrator's and the analyst's walk-throughs exist."""
    assert {p.stem for p in NOTEBOOKS} >= {
        "dedupe_and_review",
        "index_and_service",
        "known_person_search",
    }
