"""The issue's targets, checked against a run's figures: met or not, and by how much."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from benchmarks.tables import MISSING, gib, score, seconds

__all__ = ["TARGET_HEADER", "target_rows"]

Results = Mapping[tuple[str, str], Mapping[str, Any]]

F1_TARGETS = (
    ("febrl1", "FEBRL 1", 0.995, "issue 23"),
    ("febrl2", "FEBRL 2", 0.995, "issue 23"),
    ("febrl3", "FEBRL 3", 0.995, "issue 23"),
    ("febrl4", "FEBRL 4 (no soc_sec_id)", 0.995, "issue 23"),
    (
        "historical_50k",
        "Historical figures 50k",
        0.88,
        "issue 23; Splink's documented model: 0.743 at p >= 0.5",
    ),
    ("synthetic_1m", "Synthetic 1M", 0.97, ""),
    ("synthetic_hard_13k", "Synthetic hard 12,800 (5,000 people)", 0.97, "issue 23"),
    ("synthetic_hard_100k", "Synthetic hard 100k", 0.97, "issue 23"),
)
ECE_TARGETS = (
    ("febrl3", "FEBRL 3"),
    ("febrl4", "FEBRL 4 (no soc_sec_id)"),
    ("historical_50k", "Historical figures 50k"),
    ("synthetic_100k", "Synthetic 100k"),
)
ECE_REQUIRED = 0.03
PRECISION_TARGETS = (
    ("synthetic_hard_13k", "Synthetic hard 12,800 (5,000 people)", 0.99),
    ("synthetic_hard_100k", "Synthetic hard 100k", 0.99),
)
RATIO_TARGETS = (
    ("time", "total", "1M dedupe wall time (train + predict + cluster, all stages)", seconds),
    ("memory", "peak_rss", "1M dedupe peak memory (resident set)", gib),
)
EARLIER = "Splink measured earlier: 43 s, 4.8 GiB at 1M; 6.4 min, 19.7 GiB at 3M"

TARGET_HEADER = ["target", "required", "identmatch", "reference", "met", "gap"]


def _ok(results: Results, system: str, dataset: str) -> Mapping[str, Any] | None:
    run = results.get((system, dataset))
    return run if run and run.get("status") == "ok" else None


def _why_missing(results: Results, dataset: str) -> str:
    run = results.get(("identmatch", dataset))
    if run is None:
        return "not run"
    return f"did not finish: {run.get('error', run.get('status'))}"


def _others(results: Results, dataset: str) -> str:
    parts = []
    for system in ("splink", "recordlinkage"):
        run = _ok(results, system, dataset)
        if run:
            half = run.get("at_half")
            extra = f", {score(half['f1'])} at p >= 0.5" if half and system == "splink" else ""
            parts.append(f"{system} {score(run['default']['f1'])}{extra}")
    return "; ".join(parts) or MISSING


def target_rows(results: Results) -> list[list[str]]:
    """One row per target: the figure, a reference from the same run, met or not, the gap."""
    rows = []
    for dataset, title, required, note in F1_TARGETS:
        ours = _ok(results, "identmatch", dataset)
        reference = _others(results, dataset) + (f" ({note})" if note else "")
        name = f"F1 at identmatch's default threshold, {title}"
        if ours is None:
            rows.append(
                [
                    name,
                    f">= {required}",
                    MISSING,
                    reference,
                    "not met",
                    _why_missing(results, dataset),
                ]
            )
            continue
        f1 = float(ours["default"]["f1"])
        gap = f1 - required
        met = "met" if gap >= 0 else "not met"
        word = "above" if gap >= 0 else "short"
        rows.append([name, f">= {required}", score(f1), reference, met, f"{abs(gap):.4f} {word}"])
    for dataset, title, required in PRECISION_TARGETS:
        ours = _ok(results, "identmatch", dataset)
        name = f"precision at identmatch's default threshold, {title}"
        if ours is None:
            why = _why_missing(results, dataset)
            rows.append([name, f">= {required}", MISSING, MISSING, "not met", why])
            continue
        precision = float(ours["default"]["precision"])
        gap = precision - required
        word = "above" if gap >= 0 else "short"
        rows.append(
            [
                name,
                f">= {required}",
                score(precision),
                f"recall {score(ours['default']['recall'])}",
                "met" if gap >= 0 else "not met",
                f"{abs(gap):.4f} {word}",
            ]
        )
    rows.extend(_ece_rows(results))
    rows.extend(_health_rows(results))
    for _, key, title, fmt in RATIO_TARGETS:
        ours = _ok(results, "identmatch", "synthetic_1m")
        theirs = _ok(results, "splink", "synthetic_1m")
        name = f"{title}: at most half Splink's"
        value = _figure(ours, key)
        reference = f"Splink {fmt(_figure(theirs, key))} here ({EARLIER})"
        if ours is None or theirs is None or value is None or not _figure(theirs, key):
            why = _why_missing(results, "synthetic_1m") if ours is None else "Splink did not finish"
            rows.append([name, "ratio <= 0.50", MISSING, reference, "not met", why])
            continue
        ratio = value / float(_figure(theirs, key) or 1.0)
        met = "met" if ratio <= 0.5 else "not met"
        gap = f"ratio {ratio:.2f}; " + (
            f"{(0.5 - ratio) / 0.5:.0%} under the cap"
            if ratio <= 0.5
            else f"{ratio / 0.5:.1f}x the cap"
        )
        rows.append([name, "ratio <= 0.50", fmt(value), reference, met, gap])
    return rows


def _ece_rows(results: Results) -> list[list[str]]:
    rows = []
    for dataset, title in ECE_TARGETS:
        ours = _ok(results, "identmatch", dataset)
        name = f"expected calibration error over every pair written, {title}"
        ece = (ours or {}).get("calibration", {}).get("ece")
        if ours is None or ece is None:
            rows.append([name, f"<= {ECE_REQUIRED}", MISSING, MISSING, "not met", "not run"])
            continue
        gap = ECE_REQUIRED - float(ece)
        word = "under" if gap >= 0 else "over"
        splink = _ok(results, "splink", dataset)
        theirs = (splink or {}).get("calibration", {}).get("ece")
        reference = f"splink {score(theirs)}" if theirs is not None else MISSING
        met = "met" if gap >= 0 else "not met"
        rows.append(
            [name, f"<= {ECE_REQUIRED}", score(ece), reference, met, f"{abs(gap):.4f} {word}"]
        )
    return rows


def _health_rows(results: Results) -> list[list[str]]:
    """No trained level below its comparison's "different" or outside [-15, +25] bits."""
    checked, bad, names = 0, 0, []
    for (system, dataset), run in results.items():
        health = run.get("model_health") if system == "identmatch" else None
        if run.get("status") != "ok" or not health:
            continue
        checked += 1
        wrong = int(health["below_different"]) + int(health["outside_bounds"])
        if wrong:
            bad += wrong
            names.append(dataset)
    name = "trained levels below 'different' or outside [-15, +25] bits, every benchmark set"
    if not checked:
        return [[name, "0", MISSING, MISSING, "not met", "not run"]]
    where = f"in {', '.join(names)}" if names else f"{checked} trained models checked"
    return [[name, "0", str(bad), where, "met" if bad == 0 else "not met", where]]


def _figure(run: Mapping[str, Any] | None, key: str) -> float | None:
    if run is None:
        return None
    if key == "total":
        return float(run["timings"]["total"])
    return float(run[key])
