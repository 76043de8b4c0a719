"""``python -m benchmarks.index_search``: the known-person index at scale, against its targets.

Runs each phase in its own process (so memory is that phase's alone) on the cached synthetic
set of ``--size`` records (the same seeded frame as the main benchmark):

- ``batch``: ``identmatch.dedupe`` of the records, timed (the baseline for the build);
- ``build``: ``Index.build`` of the same records into a fresh file, timed;
- ``search``: open the index, then search ``--queries`` synthetic people one at a time: half are
  people in the index, recorded again with new errors; half are people who are not in it.
  Reports latency p50/p99, rank-1 accuracy for known people, the share of unknown people given
  a "match" verdict, and memory when open;
- ``splink``: Splink 5's own path for the same question, on the same records, model and term
  frequencies: each query registered as a one-row table and scored against the index's records
  with ``linker.inference.predict_between`` (blocked, in SQL), for a sample of queries;
- ``add``: add 1,000 new records (known and unknown people) to a copy of the index, three
  times, timed.

Writes ``benchmarks/sections/index.md`` and splices it into ``RESULTS.md``.
``--size 20000`` checks the whole run in about a minute.

``--profile hard`` runs the same on the generator's hard profile (issue 12: dates of birth
missing or a placeholder, changed surnames, swapped names, ...): data and queries both drawn
with ``profile="hard"``, 100,000 records and the ``build,search`` phases unless told otherwise.
Rank 1 is reported separately for queries with a date of birth and without one (missing,
1900-01-01 or 01/01 of the year), beside the unknown-person "match" rate; it writes
``benchmarks/sections/index_hard.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks import sections
from benchmarks.datasets import SYNTHETIC_SEED, Profile, write_synthetic
from benchmarks.progress import current_rss
from benchmarks.report import markdown
from identmatch import STANDARD_COLUMNS

HERE = Path(__file__).parent
QUERY_FIELDS = tuple(c for c in STANDARD_COLUMNS if c not in ("record_id", "source"))
"""What a query may carry: every standard field but the id and the source."""
QUERY_SEED = 7_700
"""Seeds of the query people and records: not the data's seed, so errors are new."""


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def _peak_rss() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


# ------------------------------------------------------------------------- queries
NO_DOB_ERRORS = frozenset({"dob_missing", "dob_placeholder", "dob_year_only"})
"""Query errors that leave no usable date of birth: none, 1900-01-01, 01/01 of the year."""


def _queries(size: int, n: int, work: Path, profile: Profile = "default") -> pd.DataFrame:
    """``n`` query records: half of people in the index with new errors, half of new people.

    ``truth`` is the person for known queries and empty for unknown ones; data and queries
    are both drawn with ``profile``'s rates.
    """
    from identmatch.testing import generate_people, generate_records

    records_path, _ = write_synthetic(size, work, profile)
    indexed = pd.read_parquet(records_path, columns=["person_id"])
    people = generate_people(max(1, round(size / 1.8)), seed=SYNTHETIC_SEED, profile=profile)
    present = people[people["person_id"].isin(set(indexed["person_id"]))]
    chosen = present.sample(n=n // 2, random_state=QUERY_SEED)
    known = generate_records(
        n // 2, seed=QUERY_SEED, people=chosen.reset_index(drop=True), profile=profile
    )
    known["truth"] = known["person_id"]
    strangers = generate_people(n - n // 2, seed=QUERY_SEED + 1, profile=profile)
    unknown = generate_records(n - n // 2, seed=QUERY_SEED + 2, people=strangers, profile=profile)
    unknown["truth"] = None
    queries = pd.concat([known, unknown], ignore_index=True)
    queries["record_id"] = [f"Q{i:07d}" for i in range(len(queries))]
    return queries.sample(frac=1.0, random_state=QUERY_SEED).reset_index(drop=True)


def _person(row: pd.Series) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in QUERY_FIELDS:
        value = row.get(field)
        if field == "aliases":
            if value is not None and len(value):
                out[field] = list(value)
        elif value is not None and value == value:
            out[field] = value
    return out


# -------------------------------------------------------------------------- phases
def phase_batch(args: argparse.Namespace) -> dict[str, Any]:
    import identmatch

    records_path, _ = write_synthetic(args.size, args.work, args.profile)
    frame = pd.read_parquet(records_path).drop(columns=["person_id", "error_type", "hard_negative"])
    start = time.perf_counter()
    result = identmatch.dedupe(frame)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "timings": result.timings, "peak_rss": _peak_rss()}


def phase_build(args: argparse.Namespace) -> dict[str, Any]:
    import identmatch

    records_path, _ = write_synthetic(args.size, args.work, args.profile)
    frame = pd.read_parquet(records_path).drop(columns=["error_type", "hard_negative"])
    truth = frame[["record_id", "person_id"]].copy()
    frame = frame.drop(columns=["person_id"])
    args.index.unlink(missing_ok=True)
    start = time.perf_counter()
    index = identmatch.Index.build(frame, args.index)
    seconds = time.perf_counter() - start
    n = len(index)
    index.close()
    truth.to_parquet(args.index.with_suffix(".truth.parquet"))
    return {
        "seconds": seconds,
        "records": n,
        "file_bytes": args.index.stat().st_size,
        "peak_rss": _peak_rss(),
    }


def _majority_person(index: Any, truth: dict[str, str], entity_id: str) -> str | None:
    members = index._snapshot.members([entity_id])
    counts: dict[str, int] = {}
    for record in members:
        person = truth.get(str(record["record_id"]))
        if person is not None:
            counts[person] = counts.get(person, 0) + 1
    return max(counts, key=lambda p: (counts[p], p)) if counts else None


def phase_search(args: argparse.Namespace) -> dict[str, Any]:
    import identmatch

    queries = _queries(args.size, args.queries, args.work, args.profile)
    truth_frame = pd.read_parquet(args.index.with_suffix(".truth.parquet"))
    truth = dict(zip(truth_frame["record_id"], truth_frame["person_id"], strict=True))
    del truth_frame
    people = [_person(row) for _, row in queries.iterrows()]
    index = identmatch.Index.open(args.index, read_only=True)
    cold = []
    for person in people[:50]:  # before loading: read from the file, as one CLI search does
        start = time.perf_counter()
        index.search(person, top=5)
        cold.append(time.perf_counter() - start)
    rss_before = current_rss()
    start = time.perf_counter()
    index.warm()
    open_seconds = time.perf_counter() - start
    rss_open = current_rss()
    for person in people[:50]:  # warm-up: first-touch costs, not part of the figures
        index.search(person)
    latencies, outcomes = [], []
    for person in people:
        start = time.perf_counter()
        hits = index.search(person, top=5)
        latencies.append(time.perf_counter() - start)
        outcomes.append(hits)
    rss_after = current_rss()
    known_total = known_right = unknown_total = unknown_match = unknown_possible = 0
    known_match = known_found = 0
    by_dob = {"with": [0, 0], "without": [0, 0]}  # [queries, right at rank 1]
    for (_, row), hits in zip(queries.iterrows(), outcomes, strict=True):
        if row["truth"] is None:
            unknown_total += 1
            unknown_match += bool(hits and hits[0].verdict == "match")
            unknown_possible += bool(hits and hits[0].verdict == "possible")
        else:
            known_total += 1
            top = _majority_person(index, truth, hits[0].entity_id) if hits else None
            known_right += top == row["truth"]
            known_match += bool(hits and hits[0].verdict == "match" and top == row["truth"])
            shown = [h.entity_id for h in hits] + [w.entity_id for w in getattr(hits, "weak", ())]
            known_found += any(_majority_person(index, truth, e) == row["truth"] for e in shown)
            group = by_dob[
                "without" if NO_DOB_ERRORS & set(row["error_type"].split("+")) else "with"
            ]
            group[0] += 1
            group[1] += top == row["truth"]
    ordered = sorted(latencies)
    index.close()
    cold.sort()
    return {
        "queries": len(people),
        "cold_p50_ms": 1000 * statistics.median(cold),
        "cold_max_ms": 1000 * cold[-1],
        "open_seconds": open_seconds,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "mean_ms": 1000 * statistics.fmean(ordered),
        "max_ms": 1000 * ordered[-1],
        "known": known_total,
        "known_rank1": known_right / known_total if known_total else 0.0,
        "known_match_verdict": known_match / known_total if known_total else 0.0,
        "known_found": known_found / known_total if known_total else 0.0,
        "known_with_dob": by_dob["with"][0],
        "known_with_dob_rank1": by_dob["with"][1] / by_dob["with"][0] if by_dob["with"][0] else 0.0,
        "known_without_dob": by_dob["without"][0],
        "known_without_dob_rank1": (
            by_dob["without"][1] / by_dob["without"][0] if by_dob["without"][0] else 0.0
        ),
        "unknown": unknown_total,
        "unknown_match": unknown_match / unknown_total if unknown_total else 0.0,
        "unknown_possible": unknown_possible / unknown_total if unknown_total else 0.0,
        "rss_open": rss_open - rss_before,
        "rss_after_searches": rss_after - rss_before,
        "peak_rss": _peak_rss(),
    }


def phase_splink(args: argparse.Namespace) -> dict[str, Any]:
    """Splink's single-record path: one-row table, ``predict_between`` against every record."""
    import duckdb
    import pyarrow as pa
    from splink import DuckDBAPI, Linker

    from identmatch._model.model import build_settings
    from identmatch._prepare.arrow import arrow_schema
    from identmatch._prepare.records import PREPARED_COLUMNS, prepare_one
    from identmatch._sql import quote_identifier

    logging.getLogger("splink").setLevel(logging.ERROR)
    queries = _queries(args.size, args.queries, args.work, args.profile).head(args.splink_queries)
    connection = duckdb.connect()
    connection.execute(f"ATTACH '{args.index}' AS idx (READ_ONLY)")  # path from our own CLI
    meta = dict(connection.execute("SELECT key, value FROM idx.meta").fetchall())
    from identmatch._model.model import Model

    model = Model.model_validate_json(meta["model"])
    columns = [c for c in PREPARED_COLUMNS if c != "unique_id"]
    select = ", ".join(quote_identifier(c) for c in columns)
    start = time.perf_counter()
    connection.execute(
        f"CREATE TABLE known AS SELECT record_id AS unique_id, {select} FROM idx.records"
    )
    db_api = DuckDBAPI(connection=connection)
    known = db_api.register("known", dataset_display_name="known")
    settings = build_settings(model, "dedupe_only", blocking="keys")
    linker = Linker(known, settings, log_level=None)
    for column in model.tf_columns:
        counts = connection.execute(
            "SELECT value, n FROM idx.tf WHERE column_name = ?", [column]
        ).fetchall()
        total = sum(n for _, n in counts) or 1
        lookup = pd.DataFrame(
            {column: [v for v, _ in counts], f"tf_{column}": [n / total for _, n in counts]}
        )
        registered = db_api.register(lookup, dataset_display_name=f"tf_lookup_{column}")
        linker.table_management.register_term_frequency_lookup(registered, column)
    setup_seconds = time.perf_counter() - start
    schema = arrow_schema(list(PREPARED_COLUMNS))
    latencies, found = [], []
    for i, (_, row) in enumerate(queries.iterrows()):
        start = time.perf_counter()
        prepared = prepare_one(_person(row))
        prepared["unique_id"] = f"query_{i}"
        table = pa.Table.from_pylist([prepared], schema=schema)
        query = db_api.register(table, dataset_display_name=f"query_{i}")
        scored = linker.inference.predict_between(
            known, query, threshold_match_probability=0.5, warning_mode="never"
        )
        n = connection.sql(f"SELECT count(*) FROM {scored.physical_name}").fetchall()[0][0]
        latencies.append(time.perf_counter() - start)
        found.append(int(n))
        scored.drop_table_from_database_and_remove_from_cache()
    ordered = sorted(latencies)
    return {
        "queries": len(ordered),
        "setup_seconds": setup_seconds,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "mean_ms": 1000 * statistics.fmean(ordered),
        "pairs_found": sum(found),
        "peak_rss": _peak_rss(),
    }


def phase_add(args: argparse.Namespace) -> dict[str, Any]:
    import identmatch

    copy = args.index.with_name(args.index.stem + ".add.duckdb")
    shutil.copyfile(args.index, copy)
    batches = _queries(args.size, 4_000, args.work, args.profile)
    batches["record_id"] = [f"A{i:07d}" for i in range(len(batches))]
    batches = batches.drop(columns=["person_id", "error_type", "hard_negative", "truth"])
    runs = []
    index = identmatch.Index.open(copy)  # not loaded: the add reads what it needs
    start = time.perf_counter()
    outcome = index.add(batches.iloc[3_000:4_000])
    cold = {"seconds": time.perf_counter() - start, **outcome["action"].value_counts().to_dict()}
    start = time.perf_counter()
    index.warm()
    open_seconds = time.perf_counter() - start
    for k in range(3):
        batch = batches.iloc[k * 1_000 : (k + 1) * 1_000]
        start = time.perf_counter()
        outcome = index.add(batch)
        seconds = time.perf_counter() - start
        runs.append({"seconds": seconds, **outcome["action"].value_counts().to_dict()})
    index.close()
    copy.unlink(missing_ok=True)
    return {"open_seconds": open_seconds, "cold": cold, "runs": runs, "peak_rss": _peak_rss()}


PHASES = {
    "batch": phase_batch,
    "build": phase_build,
    "search": phase_search,
    "splink": phase_splink,
    "add": phase_add,
}


# -------------------------------------------------------------------------- report
def _render(
    size: int,
    results: dict[str, Any],
    command: str,
    duration: float,
    profile: Profile = "default",
) -> str:
    hard = profile == "hard"
    out = [
        "## Known-person index on the hard profile (issue 12)"
        if hard
        else "## Known-person index (issue #5)",
        "",
        (
            f"Synthetic hard-profile {size:,} records (seed {SYNTHETIC_SEED}, "
            '`generate_records(..., profile="hard")`); queries drawn with the same profile; '
            if hard
            else f"Synthetic {size:,} records (seed {SYNTHETIC_SEED}, the main benchmark's frame); "
        )
        + "each phase in its own process. Generated by the command below; do not edit by hand.",
        "",
        sections.provenance(command, duration),
        "",
    ]
    rows = []
    search, splink = results.get("search"), results.get("splink")
    batch, build, add = results.get("batch"), results.get("build"), results.get("add")
    if search:
        rows.append(["search p50", "<= 2 ms", f"{search['p50_ms']:.2f} ms"])
        rows.append(["search p99", "<= 20 ms", f"{search['p99_ms']:.2f} ms"])
        if splink:
            rows.append(
                [
                    "search p50 vs Splink `predict_between` p50",
                    "(ratio)",
                    f"{search['p50_ms']:.2f} / {splink['p50_ms']:.1f} ms = "
                    f"{search['p50_ms'] / splink['p50_ms']:.4f} "
                    f"({splink['p50_ms'] / search['p50_ms']:.0f}x faster)",
                ]
            )
        rows.append(
            [
                "known people: right entity at rank 1",
                ">= 97%",
                f"{100 * search['known_rank1']:.1f}% of {search['known']:,}",
            ]
        )
        for key, words in (("with", "with a date of birth"), ("without", _NO_DOB_WORDS)):
            if f"known_{key}_dob" in search:
                rows.append(
                    [
                        f"known people {words}: right entity at rank 1",
                        ">= 97%",
                        f"{100 * search[f'known_{key}_dob_rank1']:.1f}% of "
                        f"{search[f'known_{key}_dob']:,}",
                    ]
                )
        if "known_found" in search:
            rows.append(
                [
                    "known people: right entity among the ranked or the weak candidates",
                    ">= 99%",
                    f"{100 * search['known_found']:.1f}% of {search['known']:,}",
                ]
            )
        rows.append(
            [
                "unknown people: 'match' verdict",
                "<= 1%",
                f"{100 * search['unknown_match']:.2f}% of {search['unknown']:,}",
            ]
        )
        rows.append(["index memory when open", "<= 1.5 GiB", _gib(search["rss_open"])])
    if batch and build:
        rows.append(
            [
                "index build vs batch dedupe",
                "build <= batch",
                f"{build['seconds']:.0f} s vs {batch['seconds']:.0f} s "
                f"(ratio {build['seconds'] / batch['seconds']:.2f}{_rounds_note(build, batch)})",
            ]
        )
    if add:
        worst = max(run["seconds"] for run in [*add["runs"], add["cold"]])
        rows.append(["add 1,000 records to the index", "<= 5 s", f"{worst:.2f} s (worst of 4)"])
    out += ["### Targets", "", markdown(["measure", "target", "measured"], rows), ""]
    detail = []
    if search:
        detail += [
            ["search: queries timed (after 50 warm-up)", f"{search['queries']:,}"],
            ["search: mean / max latency", f"{search['mean_ms']:.2f} / {search['max_ms']:.1f} ms"],
            [
                "search: known people with a 'match' verdict on the right entity",
                f"{100 * search['known_match_verdict']:.1f}%",
            ],
            [
                "search: unknown people with a 'possible' verdict",
                f"{100 * search['unknown_possible']:.2f}%",
            ],
            ["load for search (`Index.warm()`)", f"{search['open_seconds']:.1f} s"],
            [
                "search before loading (read from the file; 50 queries) p50 / max",
                f"{search['cold_p50_ms']:.0f} / {search['cold_max_ms']:.0f} ms",
            ],
            ["memory after all searches (RSS growth)", _gib(search["rss_after_searches"])],
            ["search process peak RSS", _gib(search["peak_rss"])],
        ]
    if splink:
        detail += [
            ["Splink: queries timed", f"{splink['queries']}"],
            [
                "Splink: setup (load records, register tf tables)",
                f"{splink['setup_seconds']:.1f} s",
            ],
            [
                "Splink: p50 / p99 / mean latency",
                f"{splink['p50_ms']:.1f} / {splink['p99_ms']:.1f} / {splink['mean_ms']:.1f} ms",
            ],
            ["Splink: peak RSS", _gib(splink["peak_rss"])],
        ]
    if build:
        detail += [
            ["build: time", f"{build['seconds']:.1f} s{_every_run(build)}"],
            ["build: index file size", _gib(build["file_bytes"])],
            ["build: peak RSS", _gib(build["peak_rss"])],
        ]
    if batch:
        stages = ", ".join(f"{k} {v:.0f} s" for k, v in batch["timings"].items())
        detail += [
            ["batch dedupe: time", f"{batch['seconds']:.1f} s ({stages}){_every_run(batch)}"],
            ["batch dedupe: peak RSS", _gib(batch["peak_rss"])],
        ]
    if add:
        actions = ", ".join(f"{a} {n}" for a, n in add["cold"].items() if a != "seconds")
        detail.append(
            [
                "add: 1,000 records before loading (read from the file)",
                f"{add['cold']['seconds']:.2f} s ({actions})",
            ]
        )
        detail.append(["add: then load for search", f"{add['open_seconds']:.1f} s"])
        for k, run in enumerate(add["runs"], start=1):
            actions = ", ".join(f"{a} {n}" for a, n in run.items() if a != "seconds")
            detail.append(
                [f"add: loaded, batch {k} of 1,000", f"{run['seconds']:.2f} s ({actions})"]
            )
    out += ["### Detail", "", markdown(["measure", "value"], detail), ""]
    out += [
        (
            "Method (hard profile): as below, with data and queries both drawn with the hard "
            "profile's rates; a query has no date of birth when its errors include dob_missing, "
            "dob_placeholder or dob_year_only. "
            if hard
            else ""
        )
        + "Method: queries are synthetic records drawn with the generator's error rates from "
        f"people in the index (seed {QUERY_SEED}) and from new people (seeds {QUERY_SEED + 1}, "
        f"{QUERY_SEED + 2}). A known query is right when the rank-1 entity's records are "
        "mostly that person's. Latency is `Index.search(person, top=5)` end to end "
        "(standardising the query, candidates, scoring, ranking, explanations and the "
        "entity's records), one query at a time in one process. Splink's figure is the same "
        "question asked through `predict_between` with the index's model and term frequencies "
        "(query preparation included on both sides). Memory when open is the RSS growth of "
        "loading the index for search (`Index.warm()`).",
        "",
    ]
    return "\n".join(out)


_NO_DOB_WORDS = "with no date of birth (missing, 1900-01-01 or 01/01 of the year)"


def _rounds_note(build: dict[str, Any], batch: dict[str, Any]) -> str:
    rounds = len(build.get("all_seconds", [build["seconds"]]))
    return f"; fastest of {rounds} alternating runs each" if rounds > 1 else ""


def _every_run(result: dict[str, Any]) -> str:
    runs = result.get("all_seconds", [])
    return f"; every run: {', '.join(f'{s:.1f}' for s in runs)} s" if len(runs) > 1 else ""


def _run_timed_pair(args: argparse.Namespace, phases: list[str]) -> dict[str, Any]:
    """Batch and build ``args.rounds`` times, alternating, each keeping its fastest run.

    The machine's speed drifts over minutes (a shared host): alternating the two and taking
    each one's fastest run compares them under like conditions.
    """
    runs: dict[str, list[dict[str, Any]]] = {phase: [] for phase in phases}
    for _ in range(args.rounds):
        for phase in phases:
            runs[phase].append(_run_phase(args, phase))
    return {
        phase: {
            **min(done, key=lambda r: float(r["seconds"])),
            "all_seconds": [r["seconds"] for r in done],
        }
        for phase, done in runs.items()
    }


def _run_phase(args: argparse.Namespace, phase: str) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "benchmarks.index_search",
        "--phase",
        phase,
        "--size",
        str(args.size),
        "--queries",
        str(args.queries),
        "--splink-queries",
        str(args.splink_queries),
        "--work",
        str(args.work),
        "--index",
        str(args.index),
        "--profile",
        args.profile,
    ]
    print(f"[{datetime.now(UTC):%H:%M:%S}] {phase} ...", flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        msg = f"phase {phase} failed with exit code {done.returncode}"
        raise SystemExit(msg)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"    {json.dumps(result)[:400]}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.index_search", description=__doc__)
    parser.add_argument(
        "--size",
        type=int,
        help="synthetic records (default 1,000,000; 100,000 with --profile hard)",
    )
    parser.add_argument(
        "--profile",
        choices=("default", "hard"),
        default="default",
        help="the generator's rates for the records and the queries",
    )
    parser.add_argument("--queries", type=int, default=2_000, help="search queries (half known)")
    parser.add_argument("--splink-queries", type=int, default=30, help="queries run on Splink")
    parser.add_argument("--work", type=Path, default=HERE / "_work")
    parser.add_argument("--index", type=Path, help="index file (default: in --work)")
    parser.add_argument("--phase", choices=sorted(PHASES), help="run one phase (internal)")
    parser.add_argument(
        "--phases",
        help="phases to run, in order (default batch,build,search,splink,add; "
        "build,search with --profile hard)",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternating runs of batch and build (fastest kept)"
    )
    parser.add_argument("--no-publish", action="store_true", help="print, do not write RESULTS")
    parser.add_argument(
        "--keep-other-phases",
        action="store_true",
        help="report the phases not run now from the last saved run (same size)",
    )
    args = parser.parse_args(argv)
    hard = args.profile == "hard"
    if args.size is None:
        args.size = 100_000 if hard else 1_000_000
    if args.phases is None:
        args.phases = "build,search" if hard else "batch,build,search,splink,add"
    tag = "hard_" if hard else ""
    args.index = args.index or args.work / f"index_{tag}{args.size}.duckdb"
    if args.phase:
        print(json.dumps(PHASES[args.phase](args)))
        return 0
    started = time.perf_counter()
    write_synthetic(args.size, args.work, args.profile)
    saved = args.work / f"index_results_{tag}{args.size}.json"
    results: dict[str, Any] = {}
    if args.keep_other_phases and saved.exists():
        results = json.loads(saved.read_text())
    phases = [phase for phase in args.phases.split(",") if phase]
    results.update(_run_timed_pair(args, [p for p in phases if p in ("batch", "build")]))
    results.update({p: _run_phase(args, p) for p in phases if p not in ("batch", "build")})
    saved.write_text(json.dumps(results, indent=2))
    command = "python -m benchmarks.index_search " + " ".join(argv or sys.argv[1:])
    text = _render(args.size, results, command.strip(), time.perf_counter() - started, args.profile)
    if args.no_publish:
        print(text)
    else:
        print(f"wrote {sections.publish('index_hard' if hard else 'index', text)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
