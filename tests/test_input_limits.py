"""Oversized input through the installed ``identmatch`` command: a field over the CSV reader's
limit and a file with too many columns get a one-line error, never a traceback, and a very
wide file is refused before its rows are read (quickly, with little memory)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from identmatch._prepare.read import FIELD_LIMIT, MAX_COLUMNS

from _support import installed_command, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A known-person index built from the bundled adults' file."""
    from identmatch.testing import demo_paths

    base = tmp_path_factory.mktemp("limits")
    built = run("index", "build", demo_paths()[0], "--index", "known.duckdb", cwd=base)
    assert built.returncode == 0, built.stderr
    return base


def commands(base: Path, name: str) -> list[list[str | Path]]:
    """Every command that reads a records file, pointed at ``name``."""
    return [
        ["index", "add", name, "--index", base / "known.duckdb"],
        ["index", "build", name, "--index", "new.duckdb"],
        ["dedupe", name, "--out", "out.csv"],
        ["link", name, name, "--out", "out.csv"],
    ]


def measured(args: list[str | Path], cwd: Path) -> tuple[int, str, float, int]:
    """Run the command: its exit code, stderr, wall seconds and peak memory (KiB)."""
    started = time.monotonic()
    process = subprocess.Popen(
        [installed_command(), *map(str, args)],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    with process.stderr:
        stderr = process.stderr.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, stderr, time.monotonic() - started, usage.ru_maxrss


def one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_field_over_the_reader_limit_is_named_by_line_and_column(known: Path) -> None:
    """F12: a 140,000-character forename gives one line naming line 3, column 2, the limit."""
    secret = "Zq" * 70_000
    (known / "long.csv").write_text(
        f"record_id,forename,surname,dob\na1,Ann,Smith,1990-01-02\na2,{secret},Jones,1980-02-03\n",
        encoding="utf-8",
    )
    for args in commands(known, "long.csv"):
        done = run(*args, cwd=known)
        assert done.returncode == 2, (args, done.stderr)
        line = one_line_error(done.stderr)
        assert "long.csv: line 3, column 2 (forename)" in line, line
        assert f"{FIELD_LIMIT:,} characters" in line
        assert "Zq" not in done.stderr  # the value itself is never quoted


def test_a_file_too_wide_is_refused_before_its_rows_are_read(known: Path) -> None:
    """F13: a million-column file: one line naming the count and the cap, in well under a
    second of the command's own work, without reading the rows (which would take gigabytes)."""
    width = 1_000_000
    header = ",".join(["record_id", *(f"c{n}" for n in range(width - 1))])
    (known / "wide.csv").write_text(header + "\n" + "1" + "," * (width - 1) + "\n")
    (known / "narrow.csv").write_text("record_id\n1\n")
    for args in commands(known, "wide.csv"):
        # Against the same command on a file with nothing in it to read: the difference is
        # the cost of refusing the wide one.
        narrow = [a if a != "wide.csv" else "narrow.csv" for a in args]
        _, _, base_seconds, base_peak = measured(narrow, known)
        code, stderr, seconds, peak = measured(args, known)
        assert code == 2, (args, stderr)
        line = one_line_error(stderr)
        assert f"wide.csv: the header row has {width:,} columns" in line, line
        assert f"at most {MAX_COLUMNS:,}" in line
        assert seconds < base_seconds + 1.0, (args, seconds, base_seconds)
        assert peak < base_peak + 100_000, (args, peak, base_peak)  # KiB


def test_a_file_at_the_cap_is_read(tmp_path: Path) -> None:
    """The cap refuses nothing it should not: exactly MAX_COLUMNS columns, some quoted with a
    comma inside, are read and the records prepared."""
    names = [
        "record_id",
        "forename",
        "surname",
        "dob",
        *(f'"x,{n}"' for n in range(MAX_COLUMNS - 4)),
    ]
    row = ["1", "Ann", "Smith", "1990-01-02", *([""] * (MAX_COLUMNS - 4))]
    (tmp_path / "edge.csv").write_text(",".join(names) + "\n" + ",".join(row) + "\n")
    done = run("prepare", "edge.csv", "prepared", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
