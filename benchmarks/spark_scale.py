"""``python -m benchmarks.spark_scale``: the same model on DuckDB and on local Spark, by size.

For each size, the seeded synthetic records are deduplicated on DuckDB (training the model),
then on Spark with that model, the way a large run goes: ``prepare_parquet`` standardises the
records out of core into Parquet parts, and ``dedupe`` of that directory has Spark read the
parts itself. It records each backend's time per stage, peak memory, CPU per blocked pair, and
how far the two agree: scored pairs, the largest weight difference and the records whose
entity differs.
Writes ``benchmarks/sections/spark.md`` and splices it into RESULTS.md (kept there by
``python -m benchmarks``).

Spark in local mode is not expected to beat DuckDB on one machine: the run shows that the
Spark path works at size and how its time grows. It is left out of ``--smoke`` because a
local Spark start alone takes ~10 s.

    python -m benchmarks.spark_scale --sizes 1000000 --master 'local[2]' --partitions 8
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

import identmatch
from benchmarks import sections
from benchmarks.datasets import write_synthetic
from benchmarks.machine import machine, source, versions
from benchmarks.systems.identmatch_runner import COLUMNS
from identmatch.testing import pairwise_scores

HERE = Path(__file__).parent
OUT = HERE / "sections" / "spark.md"
STAGES = ("read", "standardise", "train", "block", "predict", "cluster")


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.spark_scale", description=__doc__)
    parser.add_argument(
        "--sizes", default="1000000", help="comma-separated record counts (default: 1000000)"
    )
    parser.add_argument("--master", default="local[2]", help="Spark master (default: local[2])")
    parser.add_argument(
        "--partitions", type=int, default=8, help="spark.sql.shuffle.partitions (default: 8)"
    )
    parser.add_argument("--driver-memory", default="8g", help="spark.driver.memory (default: 8g)")
    parser.add_argument("--work", type=Path, default=HERE / "_work", help="data cache")
    parser.add_argument(
        "--spark-blocking-counts",
        action="store_true",
        help="also count blocked pairs per rule on Spark (about 30 small jobs; DuckDB's counts "
        "are always taken, and tests/test_spark.py checks the two are equal)",
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"report (default: {OUT.name})")
    return parser.parse_args(argv)


def _pyspark() -> str:
    from importlib.metadata import version

    return version("pyspark")


def _processes() -> list[int]:
    """This process and its descendants (Spark's JVM and its Python workers)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(stat[1]), []).append(int(entry.name))
    found, todo = [], [os.getpid()]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def _cpu_seconds() -> float:
    """User and system CPU of the process tree so far (children's included)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in _processes():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in stat[11:15]) / tick
    return total


def _reset_peaks() -> None:
    """Restart every process's peak resident set (Linux: write 5 to clear_refs)."""
    for pid in _processes():
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            continue


def _peak_gib() -> float:
    """Sum of the process tree's peak resident sets since the last reset, in GiB (an upper
    bound on the tree's peak: the processes need not peak at the same moment)."""
    total = 0
    for pid in _processes():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total / 2**20


def _timed(run: Any) -> tuple[identmatch.Result, dict[str, float]]:
    _reset_peaks()
    cpu, start = _cpu_seconds(), time.perf_counter()
    result = run()
    wall = time.perf_counter() - start
    return result, {"total": wall, "cpu": _cpu_seconds() - cpu, "peak_gib": _peak_gib()}


def _canonical(entities: pd.DataFrame) -> pd.Series:
    """Each record's entity named by its smallest record id, so two runs compare by content."""
    first = entities.groupby("entity_id")["record_id"].transform("min")
    return pd.Series(first.to_numpy(), index=entities["record_id"].to_numpy())


def _agreement(duck: identmatch.Result, spark: identmatch.Result) -> dict[str, Any]:
    keys = ["record_id_l", "record_id_r"]
    merged = duck.pairs.merge(spark.pairs, on=keys, how="outer", suffixes=("_d", "_s"))
    both = merged.dropna(subset=["match_weight_d", "match_weight_s"])
    a, b = _canonical(duck.entities), _canonical(spark.entities)
    return {
        "pairs_duckdb": len(duck.pairs),
        "pairs_spark": len(spark.pairs),
        "pairs_only_one": len(merged) - len(both),
        "max_weight_difference": float(
            (both["match_weight_d"] - both["match_weight_s"]).abs().max()
        )
        if len(both)
        else 0.0,
        "records_in_other_entity": int((a != b.reindex(a.index)).sum()),
    }


def _prepare(frame: pd.DataFrame, size: int, work: Path) -> tuple[Path, float]:
    """The records as prepared Parquet parts (prepare_parquet, 200,000 at a time); seconds."""
    source = work / f"spark_input_{size}.parquet"
    parts = work / f"spark_prepared_{size}"
    frame.to_parquet(source, index=False)
    shutil.rmtree(parts, ignore_errors=True)
    start = time.perf_counter()
    identmatch.prepare_parquet(source, parts)
    return parts, time.perf_counter() - start


def run_size(
    size: int, session: Any, work: Path, *, spark_blocking_counts: bool = False
) -> dict[str, Any]:
    """Both backends on ``size`` synthetic records; timings, agreement and accuracy."""
    records_path, _ = write_synthetic(size, work)
    columns = COLUMNS["synthetic"]
    frame = pd.read_parquet(records_path)
    truth = frame.set_index("record_id")["person_id"].astype(str)
    frame = frame[["record_id", *columns]]
    print(f"{size:,} records: DuckDB (training the model)", flush=True)
    duck, duck_cost = _timed(lambda: identmatch.dedupe(frame))
    # The like-for-like run: DuckDB given the trained model, as Spark is. (Above 100,000
    # records the training run's own predictions take term frequencies from the training
    # sample, so they differ from any run given the model; its agreement is reported too.)
    print(f"{size:,} records: DuckDB (the trained model, given)", flush=True)
    given, given_cost = _timed(lambda: identmatch.dedupe(frame, model=duck.model))
    print(f"{size:,} records: prepare_parquet, then Spark on the parts (same model)", flush=True)
    parts, prepare_seconds = _prepare(frame, size, work)
    config = identmatch.ModelConfig(count_blocked_pairs=spark_blocking_counts)
    spark, spark_cost = _timed(
        lambda: identmatch.dedupe(parts, model=duck.model, backend=session, config=config)
    )
    spark.timings["standardise"] = spark.timings.get("standardise", 0.0) + prepare_seconds
    spark_cost["total"] += prepare_seconds
    out: dict[str, Any] = {"size": size, "blocked_pairs": duck.blocking.pairs}
    runs = (("duckdb", duck, duck_cost), ("duckdb_given", given, given_cost))
    for name, result, cost in (*runs, ("spark", spark, spark_cost)):
        scores = pairwise_scores(
            result.entities["entity_id"], truth.reindex(result.entities["record_id"]).to_numpy()
        )
        out[name] = {
            **cost,
            **{stage: float(result.timings.get(stage, 0.0)) for stage in STAGES},
            "precision": scores.precision,
            "recall": scores.recall,
        }
    out["agreement"] = _agreement(given, spark)
    out["agreement_training_run"] = _agreement(duck, spark)
    print(f"{size:,} records: {out}", flush=True)
    return out


def render(rows: list[dict[str, Any]], args: argparse.Namespace, seconds: float) -> str:
    """The Markdown section."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    info = machine()
    lines = [
        "## Spark (local mode) vs DuckDB, the same model",
        "",
        f"`python -m benchmarks.spark_scale --sizes {args.sizes} --master '{args.master}' "
        f"--partitions {args.partitions} --driver-memory {args.driver_memory}"
        f"{' --spark-blocking-counts' if args.spark_blocking_counts else ''}`, {when}, "
        f"{seconds / 60:.1f} min in all, identmatch at {source()}. Machine: "
        f"{'; '.join(f'{k} {v}' for k, v in info.items())}. Versions: "
        f"{', '.join(f'{k} {v}' for k, v in versions().items())}, pyspark {_pyspark()}.",
        "",
        "The model is trained on DuckDB (`duckdb`), then applied unchanged on DuckDB "
        "(`duckdb_given`) and on Spark. On Spark the records "
        "go through `prepare_parquet` (out of core, 200,000 at a time; timed under read+std) and "
        "`dedupe` of the parts directory, which Spark reads itself. Times in seconds; `train` is "
        "DuckDB's only (Spark gets the trained model); `block` is counting blocked pairs per "
        "rule (skipped on Spark unless `--spark-blocking-counts`). CPU is the process tree's "
        "(Spark's JVM and Python workers included); per pair is per blocked pair (DuckDB's "
        "count). Peak is the sum of the tree's peak resident sets during the run (GiB).",
        "",
        "| records | backend | read+std | train | block | predict | cluster | total | CPU | "
        "predict per pair (ms) | CPU per pair (ms) | peak (GiB) | precision | recall |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        for name in ("duckdb", "duckdb_given", "spark"):
            t = row[name]
            pairs = max(row["blocked_pairs"], 1)
            lines.append(
                f"| {row['size']:,} | {name} | {t['read'] + t['standardise']:.1f} | "
                f"{t['train']:.1f} | {t['block']:.1f} | {t['predict']:.1f} | {t['cluster']:.1f} "
                f"| {t['total']:.1f} | {t['cpu']:.0f} | {1e3 * t['predict'] / pairs:.3f} | "
                f"{1e3 * t['cpu'] / pairs:.3f} | {t['peak_gib']:.2f} | {t['precision']:.4f} | "
                f"{t['recall']:.4f} |"
            )
    lines += [
        "",
        "Agreement with Spark: of DuckDB given the same model (like for like), and of DuckDB's "
        "training run, whose predictions take term frequencies from its training sample when "
        "the input exceeds `max_records_to_train` (100,000).",
        "",
        "| records | DuckDB run | blocked pairs | pairs kept (DuckDB / Spark) | pairs on one side "
        "only | largest weight difference (bits) | records in another entity |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        for label, key in (("given model", "agreement"), ("training", "agreement_training_run")):
            a = row[key]
            lines.append(
                f"| {row['size']:,} | {label} | {row['blocked_pairs']:,} | {a['pairs_duckdb']:,} / "
                f"{a['pairs_spark']:,} | {a['pairs_only_one']:,} | "
                f"{a['max_weight_difference']:.1e} | {a['records_in_other_entity']:,} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run every size, then write the section."""
    args = _args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    session = identmatch.spark_session(
        args.master, shuffle_partitions=args.partitions, driver_memory=args.driver_memory
    )
    session.sparkContext.setLogLevel("ERROR")
    start = time.perf_counter()
    rows = [
        run_size(size, session, args.work, spark_blocking_counts=args.spark_blocking_counts)
        for size in sizes
    ]
    text = render(rows, args, time.perf_counter() - start)
    if args.out == OUT:
        print(f"wrote {sections.publish('spark', text)}", flush=True)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", flush=True)
    session.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
