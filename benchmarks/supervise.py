"""Start runs as child processes and watch their memory and time, stopping those over a cap.

Each child starts a new session, so its process group holds it and anything it starts (the
recordlinkage worker); the group's resident sets are summed from /proc and the whole group is
stopped at a cap, by its own id only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.progress import current_rss

__all__ = ["Launch", "Limits", "run_all"]


@dataclass(frozen=True)
class Limits:
    """Caps per run: resident set of the process group in bytes; seconds for the system's
    stages (from the run's "running" note) and, separately, for scoring against the truth."""

    max_rss: int
    max_seconds: float
    max_scoring_seconds: float


@dataclass
class Launch:
    """One child: the jobs it runs (``run_one`` job dicts), its log and progress files."""

    jobs: list[dict[str, Any]]
    log: Path
    progress: Path
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    peak_seen: int = 0
    stopped: str = ""
    handle: Any = field(default=None, repr=False)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f}"


def _group_rss(pgid: int) -> int:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid):
            total += current_rss(entry.name)
    return total


def _start(launch: Launch) -> None:
    jobs_file = launch.log.with_suffix(".jobs.json")
    jobs_file.write_text(json.dumps(launch.jobs, indent=2))
    launch.progress.unlink(missing_ok=True)
    env = {**os.environ, "BENCH_PROGRESS": str(launch.progress)}
    launch.handle = launch.log.open("wb")
    launch.process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.run_one", str(jobs_file)],
        stdout=launch.handle,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    launch.started = time.perf_counter()


def _stop(launch: Launch, why: str) -> None:
    assert launch.process is not None
    launch.stopped = why
    with contextlib.suppress(ProcessLookupError):
        os.killpg(launch.process.pid, signal.SIGKILL)


def _deadline(launch: Launch, limits: Limits) -> tuple[float, str]:
    """When the current run is out of time (seconds since its process started), and why."""
    try:
        lines = launch.progress.read_text().splitlines()
    except OSError:
        lines = []
    started, scoring = 0.0, None
    for line in lines:
        at, _, message = [*line.split("\t"), "", ""][:3]
        if message.startswith("loading"):
            started, scoring = float(at), None
        elif message.startswith("scoring"):
            scoring = float(at)
    if scoring is not None:
        cap = limits.max_scoring_seconds
        return scoring + cap, f"scoring against the truth took over {_minutes(cap)} min"
    return started + limits.max_seconds, f"over {_minutes(limits.max_seconds)} min"


def last_stage(progress: Path) -> str:
    """The last stage a run noted, with its time and resident set."""
    try:
        lines = progress.read_text().splitlines()
    except OSError:
        return "none noted"
    if not lines:
        return "none noted"
    elapsed, rss, message = [*lines[-1].split("\t"), "", "", ""][:3]
    return f"{message} (from {elapsed} s, at {int(rss or 0) / 2**30:.1f} GiB)"


def run_all(
    launches: list[Launch],
    limits: Limits,
    *,
    lanes: int,
    on_done: Callable[[Launch], None],
    should_start: Callable[[Launch], bool] = lambda _: True,
) -> None:
    """Run ``launches`` at most ``lanes`` at a time, in order, enforcing ``limits``.

    ``should_start`` is asked just before each starts (a later run can depend on an earlier
    one); ``on_done`` is called as each ends, stopped or not.
    """
    waiting = list(launches)
    running: list[Launch] = []
    while waiting or running:
        while waiting and len(running) < lanes:
            launch = waiting.pop(0)
            if should_start(launch):
                _start(launch)
                running.append(launch)
            else:
                on_done(launch)
        time.sleep(0.5)
        for launch in list(running):
            assert launch.process is not None
            launch.peak_seen = max(launch.peak_seen, _group_rss(launch.process.pid))
            elapsed = time.perf_counter() - launch.started
            if launch.process.poll() is None:
                deadline, what = _deadline(launch, limits)
                if launch.peak_seen > limits.max_rss:
                    _stop(
                        launch,
                        f"killed: resident set over the {limits.max_rss / 2**30:.1f} GiB cap",
                    )
                elif elapsed > deadline:
                    _stop(launch, f"timed out: {what}")
                continue
            launch.handle.close()
            running.remove(launch)
            on_done(launch)
