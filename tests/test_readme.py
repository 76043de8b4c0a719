"""The README's quick start runs as written, and its commands are the ones CI uses."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

pytestmark = pytest.mark.slow


def test_quick_start_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The first Python block of the README executes and prints an explanation."""
    block = re.search(r"```python\n(.*?)```", README, re.DOTALL)
    assert block is not None
    code = block.group(1)
    assert len(code.strip().splitlines()) <= 10
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code, "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert "starting point (prior)" in capsys.readouterr().out
    assert (tmp_path / "model.json").exists()


def test_first_screen_has_both_commands() -> None:
    """The two make commands are within the README's first 30 lines, and CI runs the test one."""
    first_screen = "\n".join(README.splitlines()[:30])
    assert "make demo" in first_screen
    assert "make test" in first_screen
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
