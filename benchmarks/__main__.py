"""``python -m benchmarks [--smoke] [--skip-3m] [--out PATH] [--check]``: run and report.

Full mode runs every (system, dataset) in its own process, one at a time, and writes
``benchmarks/RESULTS.md``. Smoke mode runs tiny subsets, a process per system, two at a time,
and writes to a temporary folder; with ``--check`` it then fails unless every run finished and
every table is well formed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks import check, machine, report, sections
from benchmarks.methodology import NOTES
from benchmarks.plan import Job, jobs
from benchmarks.schedule import skip_reason
from benchmarks.supervise import Launch, Limits, last_stage, run_all

if TYPE_CHECKING:
    from benchmarks.datasets import DatasetSpec

HERE = Path(__file__).parent
RESULTS = HERE / "RESULTS.md"
WORK = HERE / "_work"


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny subsets, in seconds")
    parser.add_argument("--skip-3m", action="store_true", help="leave out the 3M synthetic runs")
    parser.add_argument(
        "--out", type=Path, help="report path (default: RESULTS.md, or a temp file when smoke)"
    )
    parser.add_argument(
        "--check", action="store_true", help="fail unless the report is well formed"
    )
    parser.add_argument(
        "--rerender", type=Path, help="only rewrite the report from a saved results.json"
    )
    parser.add_argument("--work", type=Path, help="data cache and logs (default: benchmarks/_work)")
    parser.add_argument("--max-minutes", type=float, default=20.0, help="time cap per run")
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=55.0,
        help="skip larger synthetic sizes that would not fit in this much time overall",
    )
    parser.add_argument(
        "--attempt-all",
        action="store_true",
        help="run larger synthetic sizes even when smaller ones project past a cap",
    )
    parser.add_argument(
        "--max-rss-gib", type=float, help="memory cap per run (default 90%% of RAM)"
    )
    parser.add_argument(
        "--only", default="", help="run only jobs whose 'system/dataset' contains this"
    )
    return parser.parse_args(argv)


def _memory_total() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 16 * 2**30


def _command(argv: list[str]) -> str:
    return " ".join(["python -m benchmarks", *argv]).strip()


def _failure(job: Job, launch: Launch, why: str) -> dict[str, Any]:
    return {
        "system": job.system,
        "dataset": job.dataset.name,
        "title": job.dataset.title,
        "size": job.dataset.size,
        "profile": job.dataset.profile,
        "status": _status_word(why),
        "error": why,
        "last_stage": last_stage(launch.progress),
        "elapsed": time.perf_counter() - launch.started if launch.started else None,
        "peak_rss_seen": launch.peak_seen or None,
    }


def _status_word(why: str) -> str:
    for word in ("killed", "timed out"):
        if why.startswith(word):
            return word
    return "failed"


def _generate(work: Path, specs: list[DatasetSpec]) -> None:
    """Generate (once) the synthetic sets a run needs, in a process of their own."""
    from benchmarks.datasets import synthetic_cached
    from benchmarks.prepare import set_argument

    missing = sorted(
        {
            set_argument(d)
            for d in specs
            if d.source == "synthetic"
            and d.size
            and not synthetic_cached(d.size, work, d.profile, d.people)
        }
    )
    if missing:
        print(f"generating synthetic records: {', '.join(missing)}", flush=True)
        command = [sys.executable, "-m", "benchmarks.prepare", str(work), *missing]
        subprocess.run(command, check=True)


def _launches(plan: list[Job], work: Path, smoke: bool) -> tuple[list[Launch], dict[int, Job]]:
    """One launch per job, or in smoke mode one per system; job dicts carry their output path."""
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    by_out: dict[int, Job] = {}
    groups: dict[str, list[dict[str, Any]]] = {}
    for i, job in enumerate(plan):
        key = job.system if smoke else f"{i:02d}_{job.system}_{job.dataset.name}"
        scratch = work / "scratch" / f"{job.system}_{job.dataset.name}"
        scratch.mkdir(parents=True, exist_ok=True)
        out = logs / f"{job.system}_{job.dataset.name}.json"
        out.unlink(missing_ok=True)
        entry = {
            "system": job.system,
            "dataset": asdict(job.dataset),
            "work": str(work),
            "scratch": str(scratch),
            "out": str(out),
            "index": i,
        }
        groups.setdefault(key, []).append(entry)
        by_out[i] = job
    launches = [
        Launch(jobs=entries, log=logs / f"{key}.log", progress=logs / f"{key}.progress")
        for key, entries in groups.items()
    ]
    return launches, by_out


def run(args: argparse.Namespace, argv: list[str]) -> int:
    started = time.perf_counter()
    load, source = _load(), machine.source()
    plan = [
        j
        for j in jobs(smoke=args.smoke, skip_3m=args.skip_3m)
        if args.only in f"{j.system}/{j.dataset.name}"
    ]
    # Smoke runs get a fresh folder each, so two test runs at once never share files.
    fresh = args.smoke and args.work is None
    temp = Path(tempfile.mkdtemp(prefix="identmatch-bench-smoke-")) if fresh else None
    work = args.work or temp or WORK
    out = args.out or (work / "RESULTS.md" if args.smoke else RESULTS)
    work.mkdir(parents=True, exist_ok=True)

    results: dict[tuple[str, str], dict[str, Any]] = {}
    skipped: dict[int, str] = {}
    launches, by_index = _launches(plan, work, args.smoke)
    max_rss = int(args.max_rss_gib * 2**30) if args.max_rss_gib else int(0.9 * _memory_total())
    limits = Limits(
        max_rss=max_rss,
        max_seconds=60 * (5.0 if args.smoke else args.max_minutes),
        max_scoring_seconds=60 * (5.0 if args.smoke else args.max_minutes),
    )

    def should_start(launch: Launch) -> bool:
        first = launch.jobs[0]["index"]
        left = args.budget_minutes - (time.perf_counter() - started) / 60
        job = by_index[first]
        reason = None if args.attempt_all else skip_reason(job, results, limits, left)
        if reason:
            skipped[first] = reason
            return False
        specs = {by_index[e["index"]].dataset for e in launch.jobs}
        _generate(work, list(specs))
        return True

    def on_done(launch: Launch) -> None:
        for entry in launch.jobs:
            job = by_index[entry["index"]]
            path = Path(entry["out"])
            if launch.process is None:
                result = {
                    "system": job.system,
                    "dataset": job.dataset.name,
                    "title": job.dataset.title,
                    "size": job.dataset.size,
                    "profile": job.dataset.profile,
                    "status": "skipped",
                    "error": skipped.get(entry["index"], "not attempted"),
                }
            elif path.exists():
                result = json.loads(path.read_text())
                result["wall_seconds"] = time.perf_counter() - launch.started
            else:
                why = (
                    launch.stopped
                    or f"exited with code {launch.process.returncode} (see {launch.log})"
                )
                result = _failure(job, launch, why)
            results[(job.system, job.dataset.name)] = result
            _print_line(result)

    run_all(
        launches, limits, lanes=2 if args.smoke else 1, on_done=on_done, should_start=should_start
    )

    versions = {"identmatch source (git) at start, at end": f"{source}; {machine.source()}"}
    versions.update(machine.versions())
    for result in results.values():
        versions.update(result.get("versions", {}))
    versions.setdefault("recordlinkage", "not run")
    minutes = (time.perf_counter() - started) / 60
    meta = {
        "machine": {**machine.machine(), "load average at start, at end": f"{load}, {_load()}"},
        "versions": versions,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": _command(argv),
        "duration": f"{minutes:.1f} minutes",
        "smoke": args.smoke,
        "skip_3m": args.skip_3m,
    }
    saved = {"meta": meta, "results": [results[k] for k in sorted(results)]}
    (work / "results.json").write_text(json.dumps(saved, indent=2))
    status = _write(plan, results, meta, out, check_form=args.check, require_ok=args.smoke)
    if temp is not None:
        if args.check and status == 0:
            shutil.rmtree(temp, ignore_errors=True)  # checked: nothing left to look at
        else:
            print(f"smoke files kept in {temp}", flush=True)
    return status


def _write(
    plan: list[Job],
    results: dict[tuple[str, str], dict[str, Any]],
    meta: dict[str, Any],
    out: Path,
    *,
    check_form: bool,
    require_ok: bool,
) -> int:
    """Render the report to ``out``; with ``check_form``, 1 when it is not well formed."""
    analysis = "" if meta["smoke"] else sections.extra()
    text = report.render(plan, results, meta, NOTES, analysis)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} ({meta['duration']})", flush=True)
    if not check_form:
        return 0
    found = check.problems(text, plan, require_ok=require_ok)
    for problem in found:
        print(f"check: {problem}", file=sys.stderr)
    print("check: report well formed" if not found else f"check: {len(found)} problems")
    return 1 if found else 0


def rerender(args: argparse.Namespace) -> int:
    """Write the report again from a run's saved ``results.json`` (no runs)."""
    saved = json.loads(Path(args.rerender).read_text())
    meta = saved["meta"]
    plan = jobs(smoke=bool(meta["smoke"]), skip_3m=bool(meta["skip_3m"]))
    results = {(r["system"], r["dataset"]): r for r in saved["results"]}
    plan = [j for j in plan if (j.system, j.dataset.name) in results] if args.only else plan
    out = args.out or RESULTS
    return _write(plan, results, meta, out, check_form=args.check, require_ok=bool(meta["smoke"]))


def _load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


def _print_line(result: dict[str, Any]) -> None:
    head = f"{result['system']:>13} {result['title']:<26} {result['status']:<9}"
    if result["status"] != "ok":
        print(f"{head} {result.get('error', '')} [{result.get('last_stage', '')}]", flush=True)
        return
    t, f1 = result["timings"]["total"], result["default"]["f1"]
    print(f"{head} F1 {f1:.4f}  {t:7.1f} s  {result['peak_rss'] / 2**30:5.2f} GiB", flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _args(argv)
    return rerender(args) if args.rerender else run(args, argv)


if __name__ == "__main__":
    sys.exit(main())
