"""The report's calibration and model-health section (issue 23).

Calibration: over every pair a system writes (identmatch: ``Result.pairs``, at or above its
pair floor), the expected calibration error and a reliability table per dataset. Model
health: identmatch's trained level weights checked against what a person would accept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.plan import Job
from benchmarks.tables import MISSING, markdown, score

__all__ = ["HEADING", "section"]

HEADING = "Calibration and model health"

CALIBRATION_HEADER = [
    "dataset",
    "system",
    "pairs written",
    "ECE",
    *(f"{lo / 10:.1f}-{(lo + 1) / 10:.1f}" for lo in range(10)),
]
HEALTH_HEADER = [
    "dataset",
    "prior (bits)",
    "trained levels",
    "constrained",
    "below 'different'",
    "outside [-15, +25]",
    "lowest",
    "highest",
    "raw EM estimates below -15",
    "lowest raw",
]

Run = Mapping[str, Any]


def _bin(entry: list[Any]) -> str:
    _, _, n, mean_p, share = entry
    if not n:
        return MISSING
    return f"{share:.2f} / {mean_p:.2f} ({n:,})"


def _bits(value: float | None) -> str:
    if value is None:
        return MISSING
    return "-inf" if value <= -999 else f"{value:+.1f}"


def section(jobs: Sequence[Job], results: Mapping[tuple[str, str], Run]) -> list[str]:
    """The section's Markdown lines."""
    calibration = []
    health = []
    for job in jobs:
        run = results.get((job.system, job.dataset.name))
        if run is None or run.get("status") != "ok" or "calibration" not in run:
            continue
        cal = run["calibration"]
        calibration.append(
            [
                job.dataset.title,
                job.system,
                f"{cal['pairs']:,}",
                score(cal["ece"]) if cal["ece"] is not None else MISSING,
                *(_bin(entry) for entry in cal["bins"]),
            ]
        )
        model = run.get("model_health")
        if job.system == "identmatch" and model:
            health.append(
                [
                    job.dataset.title,
                    f"{model['prior_bits']:+.1f}",
                    str(model["levels"]),
                    str(model["constrained"]),
                    str(model["below_different"]),
                    str(model["outside_bounds"]),
                    _bits(model["lowest"]),
                    _bits(model["highest"]),
                    str(model["raw_collapsed"]),
                    _bits(model["raw_lowest"]),
                ]
            )
    return [
        "Reliability of the match probability over every pair each system writes: per "
        "probability bin, the share of pairs that are the same person / the mean probability "
        "(pairs). ECE is the pairs-weighted mean gap. identmatch writes pairs at or above its "
        "pair floor (0.01); Splink and recordlinkage as their runners do.",
        "",
        markdown(CALIBRATION_HEADER, calibration or [[MISSING] * len(CALIBRATION_HEADER)]),
        "",
        "identmatch's trained model per dataset (`Model.health()`): levels a person did not "
        "fix, how many training constrained, how many weigh less than their comparison's "
        "'different' or lie outside [-15, +25] bits after training (targets: 0 and 0), and "
        "how many of EM's raw maximum-likelihood estimates had collapsed below -15 bits "
        "before the prior counts, order and bounds (`-inf`: an m of 0).",
        "",
        markdown(HEALTH_HEADER, health or [[MISSING] * len(HEALTH_HEADER)]),
        "",
    ]
