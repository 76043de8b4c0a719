"""RESULTS.md from the runs' JSON: machine, versions, targets, and every table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks import calibration
from benchmarks.plan import SYSTEMS, Job
from benchmarks.tables import MISSING, gib, markdown, rate, ratio, score, seconds
from benchmarks.targets import TARGET_HEADER, target_rows
from benchmarks.who_we_miss import HEADING as WHO_WE_MISS
from benchmarks.who_we_miss import tables as who_we_miss_tables

__all__ = ["ACCURACY_HEADER", "SPEED_HEADER", "render"]

Run = Mapping[str, Any]
Results = Mapping[tuple[str, str], Run]

ACCURACY_HEADER = [
    "dataset",
    "system",
    "status",
    "records",
    "default p",
    "precision",
    "recall",
    "F1",
    "F1 at p >= 0.5",
    "best p (label-tuned)",
    "F1 at best p",
    "pairs scored",
    "pairs per record",
    "blocking recall",
]
SPEED_HEADER = [
    "dataset",
    "system",
    "status",
    "records",
    "train s",
    "predict s",
    "cluster s",
    "other s",
    "total s",
    "peak RSS GiB",
]
SCALE_HEADER = [
    "dataset",
    "identmatch total s",
    "Splink total s",
    "time identmatch/Splink",
    "identmatch peak GiB",
    "Splink peak GiB",
    "memory identmatch/Splink",
    "identmatch F1",
    "Splink F1",
    "identmatch pairs per record",
    "Splink pairs per record",
]


def _status(run: Run | None) -> str:
    return "not run" if run is None else str(run.get("status", "failed"))


def _ok(run: Run | None) -> bool:
    return run is not None and run.get("status") == "ok"


def _datasets(jobs: Sequence[Job]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for job in jobs:
        seen.setdefault(job.dataset.name, job.dataset.title)
    return list(seen.items())


def _accuracy_rows(jobs: Sequence[Job], results: Results) -> list[list[str]]:
    rows = []
    for job in jobs:
        run = results.get((job.system, job.dataset.name))
        head = [job.dataset.title, job.system, _status(run)]
        if not _ok(run) or run is None:
            rows.append(head + [MISSING] * (len(ACCURACY_HEADER) - len(head)))
            continue
        default, best, half = run["default"], run["best"], run.get("at_half")
        recall = score(run["blocking_recall"])
        if run["blocking_recall_kind"] != "exact":
            recall = f">= {recall} (c)"
        rows.append(
            [
                *head,
                f"{run['records']:,}",
                f"{run['default_threshold']:g}",
                score(default["precision"]),
                score(default["recall"]),
                score(default["f1"]),
                score(half["f1"]) if half else f"{MISSING} (b)",
                f"{best['threshold']:g}",
                score(best["f1"]),
                f"{run['pairs_scored']:,}",
                _per_record(run),
                recall,
            ]
        )
    return rows


def _per_record(run: Run) -> str:
    """Pairs compared per record; runs saved before the figure existed are derived."""
    per = run.get("pairs_per_record")
    if per is None and run.get("pairs_scored") is not None and run.get("records"):
        per = run["pairs_scored"] / run["records"]
    return MISSING if per is None else f"{per:.2f}"


def _speed_rows(jobs: Sequence[Job], results: Results) -> list[list[str]]:
    rows = []
    for job in jobs:
        run = results.get((job.system, job.dataset.name))
        head = [job.dataset.title, job.system, _status(run)]
        if not _ok(run) or run is None:
            seen = run.get("peak_rss_seen") if run else None
            rest = [MISSING] * (len(SPEED_HEADER) - len(head) - 2)
            wall = run.get("elapsed") if run else None
            rows.append(head + rest + [_at_least(seconds(wall)), _at_least(gib(seen))])
            continue
        t = run["timings"]
        rows.append(
            [
                *head,
                f"{run['records']:,}",
                seconds(t["train"]),
                seconds(t["predict"]),
                seconds(t["cluster"]),
                seconds(t["other"]),
                seconds(t["total"]),
                gib(run["peak_rss"]),
            ]
        )
    return rows


def _none(header: Sequence[str]) -> list[str]:
    return ["none", *[MISSING] * (len(header) - 1)]


def _at_least(text: str) -> str:
    return text if text == MISSING else f">= {text}"


def _scale_rows(datasets: list[tuple[str, str]], results: Results) -> list[list[str]]:
    rows = []
    for name, title in datasets:
        if not name.startswith("synthetic"):
            continue
        ours, theirs = results.get(("identmatch", name)), results.get(("splink", name))
        cells = [title]
        pairs = (
            (lambda r: r["timings"]["total"], seconds),
            (lambda r: r["peak_rss"], gib),
        )
        for get, fmt in pairs:
            a = get(ours) if _ok(ours) and ours else None
            b = get(theirs) if _ok(theirs) and theirs else None
            cells += [fmt(a) if a is not None else _status(ours)]
            cells += [fmt(b) if b is not None else _status(theirs)]
            cells += [ratio(a / b) if a is not None and b else MISSING]
        for run in (ours, theirs):
            cells.append(score(run["default"]["f1"]) if _ok(run) and run else MISSING)
        for run in (ours, theirs):
            ok = _ok(run) and run is not None and run.get("pairs_scored") is not None
            cells.append(f"{run['pairs_scored'] / run['records']:.1f}" if ok and run else MISSING)
        rows.append(cells)
    return rows


STANDING_HEADER = [
    "dataset",
    "F1 identmatch vs best other",
    "F1",
    "time vs Splink",
    "time vs fastest other",
    "memory vs Splink",
    "memory vs leanest other",
]


def _standing_rows(datasets: list[tuple[str, str]], results: Results) -> list[list[str]]:
    """identmatch against Splink and the best other system per dataset: F1, time, memory."""
    rows = []
    for name, title in datasets:
        ours = results.get(("identmatch", name))
        others = [(s, r) for s in SYSTEMS[1:] if _ok(r := results.get((s, name))) and r is not None]
        if not others:
            continue
        if not _ok(ours) or ours is None:
            reason = f"identmatch {_status(ours)}: {ours.get('error', '') if ours else ''}"
            rows.append([title, reason, "behind", *["behind"] * 4])
            continue
        f1_sys, f1_run = max(others, key=lambda sr: sr[1]["default"]["f1"])
        t_sys, t_run = min(others, key=lambda sr: sr[1]["timings"]["total"])
        m_sys, m_run = min(others, key=lambda sr: sr[1]["peak_rss"])
        splink = dict(others).get("splink")
        f1_ours, f1_best = ours["default"]["f1"], f1_run["default"]["f1"]
        f1_word = "ahead" if f1_ours > f1_best else "level" if f1_ours == f1_best else "behind"
        time_ours, rss_ours = ours["timings"]["total"], ours["peak_rss"]
        rows.append(
            [
                title,
                f"{score(f1_ours)} vs {f1_sys} {score(f1_best)}",
                f1_word,
                ratio(time_ours / splink["timings"]["total"]) if splink else MISSING,
                f"{ratio(time_ours / t_run['timings']['total'])} vs {t_sys}",
                ratio(rss_ours / splink["peak_rss"]) if splink else MISSING,
                f"{ratio(rss_ours / m_run['peak_rss'])} vs {m_sys}",
            ]
        )
    return rows


def _error_tables(datasets: list[tuple[str, str]], results: Results) -> list[str]:
    parts = []
    for name, title in datasets:
        runs = [(s, results.get((s, name))) for s in SYSTEMS]
        runs_ok = [(s, r) for s, r in runs if _ok(r) and r is not None and "error_types" in r]
        if not name.startswith("synthetic") or not runs_ok:
            continue
        types = sorted({t for _, r in runs_ok for t in r["error_types"]})
        header = ["error type", "true pairs", *(s for s, _ in runs_ok)]
        rows = []
        for t in types:
            pairs = next(
                (r["error_types"][t]["pairs"] for _, r in runs_ok if t in r["error_types"]), 0
            )
            cells = [score(r["error_types"].get(t, {}).get("recall")) for _, r in runs_ok]
            rows.append([t, f"{pairs:,}", *cells])
        kinds = sorted({k for _, r in runs_ok for k in r.get("hard_negatives", {})})
        hn_header = ["kind", "person pairs", "record pairs", *(s for s, _ in runs_ok)]
        hn_rows = []
        for k in kinds:
            first = next(r["hard_negatives"][k] for _, r in runs_ok if k in r["hard_negatives"])
            cells = []
            for _, r in runs_ok:
                hn = r["hard_negatives"].get(k)
                cells.append(
                    f"{rate(hn['rate'])} ({hn['record_pairs_merged']:,}; "
                    f"{hn['person_pairs_merged']:,} people pairs)"
                    if hn
                    else MISSING
                )
            hn_rows.append([k, f"{first['person_pairs']:,}", f"{first['record_pairs']:,}", *cells])
        parts.append(f"### {title}: recall per error type (at each system's default threshold)\n")
        parts.append(markdown(header, rows) + "\n")
        parts.append(f"### {title}: hard negatives merged (false-match rate)\n")
        parts.append(
            markdown(hn_header, hn_rows or [["none", "0", "0", *[MISSING] * len(runs_ok)]])
        )
        parts.append("")
    return parts


def _failure_rows(jobs: Sequence[Job], results: Results) -> list[list[str]]:
    rows = []
    for job in jobs:
        run = results.get((job.system, job.dataset.name))
        if _ok(run):
            continue
        if run is None:
            rows.append([job.dataset.title, job.system, "not run", MISSING, MISSING])
            continue
        rows.append(
            [
                job.dataset.title,
                job.system,
                _status(run),
                str(run.get("error", "")).replace("\n", " ")[:300],
                str(run.get("last_stage", MISSING)),
            ]
        )
    return rows or [["none", MISSING, "ok", "every run finished", MISSING]]


def _settings(jobs: Sequence[Job], results: Results) -> list[str]:
    lines = []
    for system in SYSTEMS:
        texts: dict[str, list[str]] = {}
        for job in jobs:
            run = results.get((system, job.dataset.name))
            if run and run.get("settings"):
                texts.setdefault(str(run["settings"]), []).append(job.dataset.title)
        if not texts:
            continue
        lines.append(f"**{system}**\n")
        lines.extend(f"- {', '.join(titles)}: {text}" for text, titles in texts.items())
        lines.append("")
    return lines


def render(
    jobs: Sequence[Job],
    results: Results,
    meta: Mapping[str, Any],
    notes: Sequence[str],
    analysis: str = "",
) -> str:
    """The whole report; ``meta`` holds machine, versions, date, command, duration, flags.

    ``analysis`` (hand-written Markdown, ``benchmarks/ANALYSIS.md``) is appended as it is, so
    regenerating the tables keeps it.
    """
    datasets = _datasets(jobs)
    out = ["# identmatch benchmark results", ""]
    if meta.get("smoke"):
        out += ["**Smoke run**: tiny subsets, batched processes; the figures mean nothing.", ""]
    out += [
        f"Generated by `{meta['command']}` on {meta['date']} in {meta['duration']}. "
        "Regenerate with `make bench` (20-35 minutes on 2 cores); do not edit by hand.",
        "",
    ]
    if meta.get("skip_3m"):
        out += ["**The 3M synthetic runs were skipped (`--skip-3m`).**", ""]
    out += ["## Machine and versions", ""]
    info = {
        **meta["machine"],
        **meta["versions"],
        "date": meta["date"],
        "command": f"`{meta['command']}`",
    }
    out += [markdown(["item", "value"], [[k, str(v)] for k, v in info.items()]), ""]
    out += ["## Targets", "", markdown(TARGET_HEADER, target_rows(results)), ""]
    out += ["## Where identmatch is ahead and where it is behind", ""]
    out += [
        "F1 at each system's default threshold against the best other system; total time and "
        "peak memory as identmatch / Splink and identmatch / the fastest (leanest) other "
        "system, so below 1 is ahead.",
        "",
        markdown(
            STANDING_HEADER,
            _standing_rows(datasets, results) or [_none(STANDING_HEADER)],
        ),
        "",
    ]
    out += ["## Accuracy", "", markdown(ACCURACY_HEADER, _accuracy_rows(jobs, results)), ""]
    out += [f"## {calibration.HEADING}", "", *calibration.section(jobs, results)]
    out += ["## Speed and memory", "", markdown(SPEED_HEADER, _speed_rows(jobs, results)), ""]
    out += [
        "## Scale: identmatch and Splink on synthetic records",
        "",
        markdown(SCALE_HEADER, _scale_rows(datasets, results) or [_none(SCALE_HEADER)]),
        "",
    ]
    out += [
        "## Synthetic records: error types and hard negatives",
        "",
        *_error_tables(datasets, results),
    ]
    out += [
        f"## {WHO_WE_MISS}",
        "",
        "Pairwise recall at each system's default threshold over the true pairs of each group "
        "of people (the person's true name origin, sex and age band at 2026-01-01, from the "
        "generator), and identmatch's precision over its predicted pairs touching the group. "
        "Missed links concentrate, in linkage studies, in ethnic-minority names and young men; "
        "the last column flags groups whose identmatch recall is more than 0.03 below its "
        "overall recall.",
        "",
        *(who_we_miss_tables(datasets, results, SYSTEMS) or ["No synthetic set finished.", ""]),
    ]
    out += ["## Runs that did not finish", ""]
    out += [
        markdown(
            ["dataset", "system", "status", "reason", "last stage"], _failure_rows(jobs, results)
        ),
        "",
    ]
    out += ["## Settings", "", *_settings(jobs, results)]
    out += ["## How the figures are made", "", *notes, ""]
    if analysis.strip():
        out += [analysis.strip(), ""]
    return "\n".join(out)
