"""recordlinkage 0.16 (ECM, unsupervised), run in its own venv through a worker process.

The models follow recordlinkage's documentation: its FEBRL guides (``link_two_dataframes``,
``data_deduplication``) compare given_name exactly, surname by Jaro-Winkler >= 0.85,
date_of_birth, suburb and state exactly and address_1 by Levenshtein >= 0.85; its indexing
reference blocks FEBRL 4 on given_name and, as a second pass, on surname. For larger files its
performance guide blocks on two columns per pass (first name + surname, first name + age),
which the historical and synthetic sets follow, with their own columns in the same roles.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from benchmarks.cleaning import CLEANING, synthetic_cleaning_sql
from benchmarks.progress import note
from benchmarks.systems import PAIR_COLUMNS, SystemOutput

if TYPE_CHECKING:
    from benchmarks.datasets import Dataset

__all__ = ["VENV", "run"]

VENV = Path(os.environ.get("BENCH_RL_VENV", Path(__file__).parents[1] / ".venv-rl"))
"""The recordlinkage venv (``make bench-venv`` creates it from requirements-rl.txt)."""
WORKER = Path(__file__).with_name("recordlinkage_worker.py")


def _exact(column: str) -> dict[str, Any]:
    return {"kind": "exact", "column": column}


def _string(column: str, method: str = "levenshtein") -> dict[str, Any]:
    return {"kind": "string", "column": column, "method": method, "threshold": 0.85}


def _model(source: str, with_ssid: bool) -> tuple[list[list[str]], list[dict[str, Any]], str]:
    """Blocking passes, comparisons and the settings in words, per source."""
    if source in ("febrl1", "febrl2", "febrl3", "febrl4"):
        blocks = [["given_name"], ["surname"]] + ([["soc_sec_id"]] if with_ssid else [])
        comparisons = [
            _exact("given_name"),
            _string("surname", "jarowinkler"),
            _exact("date_of_birth"),
            _exact("suburb"),
            _exact("state"),
            _string("address_1"),
        ] + ([_exact("soc_sec_id")] if with_ssid else [])
        words = (
            "FEBRL guides: blocks on given_name, then surname"
            + (", then soc_sec_id" if with_ssid else "")
            + "; exact given_name, Jaro-Winkler surname >= 0.85, exact date_of_birth, suburb, "
            "state, Levenshtein address_1 >= 0.85"
            + (", exact soc_sec_id (added, as the guides have no soc_sec_id)" if with_ssid else "")
        )
    elif source == "historical":
        blocks = [["first_name", "surname"], ["first_name", "dob"]]
        comparisons = [
            _exact("first_name"),
            _string("surname", "jarowinkler"),
            _exact("dob"),
            _exact("birth_place"),
            _exact("gender"),
            _string("postcode_fake"),
        ]
        words = (
            "the FEBRL guides' comparisons in the same roles: exact first_name, Jaro-Winkler "
            "surname >= 0.85, exact dob, birth_place (for suburb), gender (for state), "
            "Levenshtein postcode_fake >= 0.85 (for address_1); blocks on first_name+surname, "
            "then first_name+dob, as the performance guide advises for larger files"
        )
    else:
        blocks = [["forename", "surname"], ["forename", "dob"]]
        comparisons = [
            _exact("forename"),
            _string("surname", "jarowinkler"),
            _exact("dob"),
            _exact("sex"),
            _string("postcode"),
            _exact("nhs_number"),
        ]
        words = (
            "as for the historical set, with forename, surname, dob, sex, postcode "
            "(Levenshtein >= 0.85) and exact nhs_number; blocks on forename+surname, then "
            f"forename+dob. Input cleaned first as for Splink ({CLEANING}), not timed"
        )
    settings = (
        f"ECMClassifier() with defaults (links at p > 0.5), fitted on the comparison vectors; "
        f"clusters are connected components of the links. Model: {words}."
    )
    return blocks, comparisons, settings


def _inputs(dataset: Dataset, work: Path) -> dict[str, str]:
    """Write each input as CSV for the worker; synthetic records are cleaned first."""
    paths = {}
    for name, frame in dataset.inputs.items():
        if dataset.spec.source == "synthetic":
            con = duckdb.connect()
            con.register("raw", frame)
            cleaned = synthetic_cleaning_sql("raw")
            sql = f"select unique_id as record_id, * exclude (unique_id, cluster) from ({cleaned})"
            table = con.execute(sql).df()
            con.close()
        else:
            table = frame.drop(columns=["truth"])
        path = work / f"rl_{name}.csv"
        table.to_csv(path, index=False)
        paths[name] = str(path)
    return paths


def run(dataset: Dataset, work: Path) -> SystemOutput:
    """Write the inputs, run the worker in the recordlinkage venv, read its outputs back."""
    python = VENV / "bin" / "python"
    if not python.exists():
        msg = f"{python} is missing: run `make bench-venv` to create the recordlinkage venv"
        raise FileNotFoundError(msg)
    work.mkdir(parents=True, exist_ok=True)
    blocks, comparisons, settings = _model(dataset.spec.source, dataset.spec.with_ssid)
    if (
        dataset.spec.source in ("febrl1", "febrl2", "febrl3", "febrl4")
        and not dataset.spec.with_ssid
    ):
        dataset.inputs = {k: v.drop(columns=["soc_sec_id"]) for k, v in dataset.inputs.items()}
    job = {"inputs": _inputs(dataset, work), "blocks": blocks, "comparisons": comparisons}
    job_path = work / "rl_job.json"
    job_path.write_text(json.dumps(job, indent=2))
    note("running the recordlinkage worker")
    subprocess.run([str(python), str(WORKER), str(job_path)], check=True)
    result = json.loads((work / "result.json").read_text())

    names = list(dataset.inputs)
    entities = pd.read_csv(work / "entities.csv", dtype=str, keep_default_na=False)
    pairs = pd.read_csv(work / "pairs.csv", dtype={"record_id_l": str, "record_id_r": str})
    pairs["input_l"], pairs["input_r"] = names[0], names[-1]
    candidates = pd.read_csv(work / "candidates.csv", dtype=str, keep_default_na=False)

    def replay(true_pairs: pd.DataFrame) -> tuple[int, int]:
        found = true_pairs.merge(candidates, on=["record_id_l", "record_id_r"], how="inner")
        swapped = candidates.rename(
            columns={"record_id_l": "record_id_r", "record_id_r": "record_id_l"}
        )
        if len(names) == 1:  # a dedupe's candidates come in either order
            found = pd.concat(
                [found, true_pairs.merge(swapped, on=["record_id_l", "record_id_r"])]
            ).drop_duplicates(["record_id_l", "record_id_r"])
        return len(candidates), len(found)

    return SystemOutput(
        entities=entities[["input", "record_id", "entity_id"]],
        pairs=pairs[PAIR_COLUMNS],
        default_threshold=0.5,
        pair_floor=float(result["pair_floor"]),
        pairs_scored=int(result["pairs_scored"]),
        timings={k: float(v) for k, v in result["timings"].items()},
        settings=settings,
        replay_blocking=replay,
        peak_rss=int(result["peak_rss"]),
        versions={k: str(v) for k, v in result["versions"].items()},
    )
