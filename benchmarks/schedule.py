"""Whether to attempt a larger synthetic size, given how a system did on the smaller ones.

A system that did not finish a size is not run at larger ones. One that finished is not run
at a larger size when even linear growth from its last figures would pass a cap: the run could
only end stopped, after using the machine for nothing. ``--attempt-all`` runs them anyway.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from benchmarks.plan import Job
from benchmarks.supervise import Limits

__all__ = ["skip_reason"]


def skip_reason(
    job: Job,
    results: Mapping[tuple[str, str], Mapping[str, Any]],
    limits: Limits,
    minutes_left: float = float("inf"),
) -> str | None:
    """Why ``job`` should not start, or None to run it.

    ``minutes_left`` is what remains of the whole run's time budget: a larger size is not
    started when its linear projection (stages and scoring) would not fit in it.
    """
    spec = job.dataset
    if spec.source != "synthetic" or not spec.size:
        return None
    earlier = [
        r
        for (system, _), r in results.items()
        if system == job.system
        and str(r.get("dataset", "")).startswith("synthetic")
        and r.get("profile", "default") == spec.profile  # projections within one profile
        and 0 < int(r.get("size") or 0) < spec.size
    ]
    failed = [r for r in earlier if r.get("status") != "ok"]
    if failed:
        return f"not attempted: {job.system} did not finish {failed[0]['title']}"
    if not earlier:
        return None
    ok = sorted(earlier, key=lambda r: int(r["size"]))
    last = ok[-1]
    rss, how = _project(ok, lambda r: float(r["peak_rss"]), spec.size)
    if rss > limits.max_rss:
        return (
            f"not attempted: {last['title']} peaked at {last['peak_rss'] / 2**30:.1f} GiB; "
            f"{how}, {spec.size:,} records would need about {rss / 2**30:.0f} GiB, over the "
            f"{limits.max_rss / 2**30:.1f} GiB cap (`--attempt-all` runs it anyway)"
        )
    seconds, how = _project(ok, lambda r: float(r["timings"]["total"]), spec.size)
    if seconds > limits.max_seconds:
        return (
            f"not attempted: {last['title']} took {last['timings']['total'] / 60:.1f} min; "
            f"{how}, {spec.size:,} records would need about {seconds / 60:.0f} min, over "
            f"the {limits.max_seconds / 60:.0f} min cap (`--attempt-all` runs it anyway)"
        )
    wall, how = _project(
        ok, lambda r: float(r.get("wall_seconds") or r["timings"]["total"]), spec.size
    )
    if wall / 60 > minutes_left:
        return (
            f"not attempted: {how}, {spec.size:,} records would need about {wall / 60:.0f} min "
            f"with scoring, more than the {minutes_left:.0f} min left of the run's time budget"
        )
    return None


def _project(
    runs: list[Mapping[str, Any]], figure: Callable[[Mapping[str, Any]], float], size: int
) -> tuple[float, str]:
    """A figure at ``size`` from the growth between the last two sizes (linear from one)."""
    last = runs[-1]
    n1, v1 = int(last["size"]), figure(last)
    if len(runs) < 2:
        return v1 * size / n1, "growing linearly"
    n0, v0 = int(runs[-2]["size"]), figure(runs[-2])
    exponent = math.log(v1 / v0) / math.log(n1 / n0) if v0 > 0 and v1 > 0 else 1.0
    how = f"growing as from {n0:,} to {n1:,} records (as records^{exponent:.2f})"
    return v1 * (size / n1) ** exponent, how
