"""Run recordlinkage (ECM, unsupervised) in its own venv: ``python recordlinkage_worker.py JOB``.

recordlinkage 0.16 needs pandas < 3, so it runs under ``benchmarks/.venv-rl`` and talks to the
benchmark through files: ``JOB`` is a JSON file naming the input CSVs, the blocking passes and
the comparisons; the worker writes ``entities.csv``, ``pairs.csv``, ``candidates.csv`` and
``result.json`` (stage times, peak resident set, versions) beside it. It imports nothing from
the benchmark package.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import recordlinkage as rl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

PAIR_FLOOR = 0.01


def _read(path: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    return frame.set_index("record_id")


def _compare(comparisons: list[dict[str, Any]]) -> rl.Compare:
    compare = rl.Compare()
    for c in comparisons:
        if c["kind"] == "exact":
            compare.exact(c["column"], c["column"], label=c["column"])
        else:
            compare.string(
                c["column"],
                c["column"],
                method=c.get("method", "levenshtein"),
                threshold=c["threshold"],
                label=c["column"],
            )
    return compare


def _clusters(names: list[str], frames: list[pd.DataFrame], links: pd.MultiIndex) -> pd.DataFrame:
    """Connected components of the predicted links; records keyed by (input, record_id)."""
    keys = pd.Index(
        [
            f"{name}\x1f{rid}"
            for name, frame in zip(names, frames, strict=True)
            for rid in frame.index
        ]
    )
    left_name, right_name = names[0], names[-1]
    left = keys.get_indexer([f"{left_name}\x1f{rid}" for rid in links.get_level_values(0)])
    right = keys.get_indexer([f"{right_name}\x1f{rid}" for rid in links.get_level_values(1)])
    n = len(keys)
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    pairs = zip(names, frames, strict=True)
    inputs = [name for name, frame in pairs for _ in range(len(frame))]
    ids = [rid for frame in frames for rid in frame.index]
    return pd.DataFrame({"input": inputs, "record_id": ids, "entity_id": labels})


def main(job_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    out = Path(job_path).parent
    start = time.perf_counter()
    names = list(job["inputs"])
    frames = [_read(job["inputs"][name]) for name in names]
    read = time.perf_counter()

    indexer = rl.Index()
    for columns in job["blocks"]:
        indexer.block(columns)
    candidates = indexer.index(*frames)
    features = _compare(job["comparisons"]).compute(candidates, *frames)
    compared = time.perf_counter()

    ecm = rl.ECMClassifier()
    ecm.fit(features)
    trained = time.perf_counter()

    links = ecm.predict(features)
    probability = ecm.prob(features)
    predicted = time.perf_counter()

    entities = _clusters(names, frames, links)
    done = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    entities.to_csv(out / "entities.csv", index=False)
    pairs = pd.DataFrame(
        {
            "record_id_l": candidates.get_level_values(0),
            "record_id_r": candidates.get_level_values(1),
            "match_probability": np.asarray(probability, dtype=float),
        }
    )
    pairs[["record_id_l", "record_id_r"]].to_csv(out / "candidates.csv", index=False)
    pairs[pairs["match_probability"] >= PAIR_FLOOR].to_csv(out / "pairs.csv", index=False)
    result = {
        "timings": {
            # ECM trains on the comparison vectors, so indexing and comparing (needed by both
            # training and prediction) count as prediction, as they would for new data.
            "train": trained - compared,
            "predict": (compared - read) + (predicted - trained),
            "cluster": done - predicted,
            "other": read - start,
            "total": done - start,
        },
        "peak_rss": peak,
        "pairs_scored": len(candidates),
        "pair_floor": PAIR_FLOOR,
        "versions": {
            "recordlinkage": rl.__version__,
            "pandas (recordlinkage venv)": pd.__version__,
            "numpy (recordlinkage venv)": np.__version__,
        },
    }
    (out / "result.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(sys.argv[1])
