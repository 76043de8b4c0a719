"""The machine and package versions a benchmark ran on, for the report's header."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

__all__ = ["machine", "source", "versions"]


def _proc_field(path: str, key: str) -> str | None:
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return None


def machine() -> dict[str, str]:
    """Cores, memory and CPU model from /proc (Linux), and the OS."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem_kib = _proc_field("/proc/meminfo", "MemTotal")
    memory = f"{int(mem_kib.split()[0]) / 2**20:.1f} GiB" if mem_kib else "unknown"
    return {
        "cores (nproc)": str(cores),
        "memory (MemTotal)": memory,
        "CPU": _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "OS": f"{platform.system()} {platform.release()}",
    }


def source() -> str:
    """The commit identmatch ran from, and whether src/ had uncommitted changes."""
    root = Path(__file__).parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "src"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown (no git)"
    if not commit:
        return "unknown (not a git checkout)"
    return f"{commit}" + (" + uncommitted changes in src/" if changed else "")


def versions() -> dict[str, str]:
    """Python and the packages of this venv that the systems run on."""
    out = {"python": platform.python_version()}
    for package in ("identmatch", "splink", "duckdb", "pandas", "numpy", "pyarrow"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out
