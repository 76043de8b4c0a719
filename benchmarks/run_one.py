"""Run (system, dataset) jobs in this process and write one JSON result per job.

``python -m benchmarks.run_one JOBS.json``: ``JOBS.json`` lists ``{"system", "dataset" (a
DatasetSpec as a dict), "work" (the data cache), "scratch" (this job's own folder), "out"}``.
The full benchmark runs one job per process, so the peak resident set (``ru_maxrss``, read as
soon as the system returns) is that run's alone; smoke mode batches a system's jobs into one
process for speed. Accuracy is computed after the
peak is read, so scoring against the truth costs nothing measured.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import metrics, who_we_miss
from benchmarks.clusters import cut, record_keys
from benchmarks.datasets import Dataset, DatasetSpec, load
from benchmarks.progress import note
from benchmarks.systems import SystemOutput, runner

__all__ = ["evaluate", "main", "run_job"]


def _aligned(records: pd.DataFrame, entities: pd.DataFrame) -> pd.Series[Any]:
    """The system's entity label for each row of ``records`` (all must be present)."""
    labels = pd.Series(entities["entity_id"].astype(str).to_numpy(), index=record_keys(entities))
    if labels.index.has_duplicates:
        msg = "the system returned a record more than once"
        raise ValueError(msg)
    out = labels.reindex(record_keys(records))
    if out.isna().any():
        msg = f"the system left out {int(out.isna().sum())} of {len(records)} records"
        raise ValueError(msg)
    return pd.Series(out.to_numpy(), index=records.index, name="entity_id")


def _true_pairs_frame(records: pd.DataFrame, left: Any, right: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "input_l": records["input"].to_numpy()[left],
            "record_id_l": records["record_id"].to_numpy()[left],
            "input_r": records["input"].to_numpy()[right],
            "record_id_r": records["record_id"].to_numpy()[right],
        }
    )


def evaluate(dataset: Dataset, output: SystemOutput) -> dict[str, Any]:
    """Accuracy and blocking figures of one system's output against the truth."""
    records = dataset.records()
    left, right = metrics.true_pair_codes(records)
    n_true = int(left.size)
    pairs = output.pairs
    if pairs is None:
        if output.load_pairs is None:
            msg = "the system returned neither pairs nor a way to load them"
            raise ValueError(msg)
        pairs = output.load_pairs()
    pairs_scored = output.pairs_scored
    blocked: int | None = None
    if output.replay_blocking is not None:
        replayed = output.replay_blocking(_true_pairs_frame(records, left, right))
        if replayed is not None:
            pairs_scored, blocked = replayed
    if output.release is not None:  # the system's database is not needed any more
        output.release()
    output.replay_blocking = output.load_pairs = output.release = None
    gc.collect()

    entities = _aligned(records, output.entities)
    default = metrics.score_clusters(records, entities, output.default_threshold)
    best, curve = metrics.best_threshold(records, pairs, floor=output.pair_floor)
    at_half = (
        metrics.score_clusters(records, cut(records, pairs, 0.5), 0.5)
        if output.pair_floor <= 0.5
        else None
    )
    codes = metrics.pair_codes(left, right, len(records))
    kept = metrics.pairs_present(records, pairs, codes)
    calibration = metrics.calibration(records, pairs, codes)
    recall_kind = "exact" if blocked is not None else "lower bound"
    result: dict[str, Any] = {
        "records": len(records),
        "true_pairs": n_true,
        "default": default.as_dict(),
        "best": best.as_dict(),
        "at_half": at_half.as_dict() if at_half else None,
        "f1_by_threshold": {str(k): v for k, v in curve.items()},
        "pairs_scored": pairs_scored,
        "pairs_per_record": pairs_scored / len(records) if pairs_scored is not None else None,
        "pairs_kept": len(pairs),
        "pair_floor": output.pair_floor,
        "blocking_recall": (kept if blocked is None else blocked) / n_true if n_true else 1.0,
        "blocking_recall_kind": recall_kind,
        "kept_recall": kept / n_true if n_true else 1.0,
        "default_threshold": output.default_threshold,
        "entities": int(entities.nunique()),
        "calibration": calibration,
    }
    if output.model_health is not None:
        result["model_health"] = output.model_health
    if "error_type" in records.columns:
        result["error_types"] = metrics.error_type_recall(records, entities, left, right)
    if dataset.people is not None:
        result["hard_negatives"] = metrics.hard_negative_rates(records, entities, dataset.people)
        missed = who_we_miss.scores(records, entities, dataset.people)
        if missed is not None:
            result["who_we_miss"] = missed
    return result


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Load, run and score one job; failures are returned, not raised."""
    spec = DatasetSpec(**job["dataset"])
    work = Path(job["work"])
    base: dict[str, Any] = {
        "system": job["system"],
        "dataset": spec.name,
        "title": spec.title,
        "size": spec.size,
        "profile": spec.profile,
    }
    try:
        note(f"loading {spec.name}")
        dataset = load(spec, work)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        note(f"running {job['system']}")
        output = runner(job["system"])(dataset, Path(job["scratch"]))
        peak = output.peak_rss or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        note("scoring against the truth")
        started = time.perf_counter()
        scores = evaluate(dataset, output)
        return {
            **base,
            "status": "ok",
            "settings": output.settings,
            "timings": output.timings,
            "peak_rss": int(peak),
            "rss_after_loading": int(rss_before),
            "versions": output.versions,
            "scoring_seconds": time.perf_counter() - started,
            **scores,
        }
    except Exception as exc:  # a failed run is a result: record it and go on
        lines = traceback.format_exception(exc)
        return {
            **base,
            "status": "failed",
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": "".join(lines[-12:]),
        }


def _default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    msg = f"cannot write {type(value).__name__} as JSON"
    raise TypeError(msg)


def main(argv: list[str]) -> int:
    jobs = json.loads(Path(argv[0]).read_text())
    for job in jobs:
        result = run_job(job)
        Path(job["out"]).write_text(json.dumps(result, indent=2, default=_default))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
