"""``python -m benchmarks.candidates_cost``: what the candidate generator costs, against before.

Runs ``identmatch.dedupe`` on the same synthetic records with this checkout and with an earlier
commit (by default the last one before the candidate generator), each in its own process so its
peak resident set is its own, alternating the two over ``--rounds`` and keeping each one's
fastest run (the host's speed drifts). Reports wall time, peak memory, pairs per record and the
stage timings, and the ratios; then pairs per record of this checkout at each ``--sizes``.
Writes ``benchmarks/sections/candidates.md`` unless ``--no-publish``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import sections
from benchmarks.datasets import SYNTHETIC_SEED

HERE = Path(__file__).parent
ROOT = HERE.parent
BASELINE = "5fd1b71"
"""The last commit before the candidate generator (blocking on 19 fixed rules)."""

_CHILD = """
import json, resource, sys, time
import identmatch
path = sys.argv[1]
start = time.perf_counter()
result = identmatch.dedupe(path)
total = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
pairs = result.blocking.pairs if result.blocking is not None else None
print(json.dumps({"total_s": total, "peak_gib": peak, "pairs": pairs,
                  "records": len(result.entities), "timings": result.timings}))
"""


def _records(size: int, work: Path) -> Path:
    path = work / f"candidates_synthetic_{size}.parquet"
    if not path.exists():
        from identmatch.testing import generate_records

        frame = generate_records(size, seed=SYNTHETIC_SEED)
        frame = frame.drop(columns=["person_id", "error_type", "hard_negative"])
        frame.to_parquet(path)
    return path


def _run(source: Path, records: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(source)}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(records)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _baseline_tree(commit: str, work: Path) -> Path:
    tree = work / f"baseline_{commit}"
    if not tree.exists():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit],
            check=True,
            capture_output=True,
        )
    return tree / "src"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.candidates_cost")
    parser.add_argument("--size", type=int, default=1_000_000, help="records for the comparison")
    parser.add_argument(
        "--sizes", default="100000,1000000", help="sizes for pairs per record (this checkout)"
    )
    parser.add_argument("--baseline", default=BASELINE, help="commit to compare against")
    parser.add_argument("--rounds", type=int, default=1, help="alternating runs of each")
    parser.add_argument("--work", type=Path, default=HERE / "_work")
    parser.add_argument("--no-publish", action="store_true")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    records = _records(args.size, args.work)
    old_src, new_src = _baseline_tree(args.baseline, args.work), ROOT / "src"
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "now": []}
    for _ in range(args.rounds):
        for name, source in (("before", old_src), ("now", new_src)):
            runs[name].append(_run(source, records))
            print(name, json.dumps(runs[name][-1]), flush=True)
    best = {name: min(found, key=lambda r: r["total_s"]) for name, found in runs.items()}
    scale = []
    for size in (int(s) for s in args.sizes.split(",") if s):
        figures = best["now"] if size == args.size else _run(new_src, _records(size, args.work))
        scale.append((size, figures))
    text = _report(args, best, runs, scale, time.perf_counter() - began)
    print(text)
    if not args.no_publish:
        sections.publish("candidates", text)
    return 0


def _report(
    args: argparse.Namespace,
    best: dict[str, dict[str, Any]],
    runs: dict[str, list[dict[str, Any]]],
    scale: list[tuple[int, dict[str, Any]]],
    duration: float,
) -> str:
    before, now = best["before"], best["now"]
    lines = [
        "## Candidate generation: cost against the fixed rules it replaced",
        "",
        f"`identmatch.dedupe` on {args.size:,} synthetic records (seed {SYNTHETIC_SEED}), "
        f"this checkout against commit `{args.baseline}` (19 fixed blocking rules), each in its "
        f"own process, alternating over {args.rounds} round(s); each keeps its fastest run.",
        "",
        "| code | total s | peak RSS GiB | pairs | pairs per record | stages (s) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, figures in (("before", before), ("now", now)):
        stages = ", ".join(f"{k} {v:.1f}" for k, v in figures["timings"].items())
        per = figures["pairs"] / figures["records"] if figures["pairs"] else float("nan")
        lines.append(
            f"| {name} | {figures['total_s']:.1f} | {figures['peak_gib']:.2f} | "
            f"{figures['pairs']:,} | {per:.2f} | {stages} |"
        )
    time_ratio = now["total_s"] / before["total_s"]
    memory_ratio = now["peak_gib"] / before["peak_gib"]
    lines += [
        "",
        "| target | required | measured | met |",
        "| --- | --- | ---: | --- |",
        f"| 1M batch time, now / before | <= 1.5 | {time_ratio:.2f} | "
        f"{'met' if time_ratio <= 1.5 else 'not met'} |",
        f"| 1M batch peak memory, now / before | <= 1.5 | {memory_ratio:.2f} | "
        f"{'met' if memory_ratio <= 1.5 else 'not met'} |",
        "",
        "Pairs compared per record (this checkout):",
        "",
        "| records | pairs | pairs per record | total s | peak RSS GiB |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, figures in scale:
        lines.append(
            f"| {size:,} | {figures['pairs']:,} | {figures['pairs'] / size:.2f} | "
            f"{figures['total_s']:.1f} | {figures['peak_gib']:.2f} |"
        )
    every = "; ".join(
        f"{name}: " + ", ".join(f"{r['total_s']:.1f} s / {r['peak_gib']:.2f} GiB" for r in found)
        for name, found in runs.items()
    )
    lines += ["", f"Every run: {every}.", ""]
    command = "python -m benchmarks.candidates_cost " + " ".join(
        f"--{k.replace('_', '-')} {v}"
        for k, v in (("size", args.size), ("baseline", args.baseline), ("rounds", args.rounds))
    )
    lines.append(sections.provenance(command, duration))
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
