"""Changes applied to an in-memory snapshot equal the index file reloaded, step by step.

An index keeps its loaded search state in step with each add, removal and decision instead of
reloading it; a search worker keeps its own copy in step with the same changes. Both must
equal a snapshot loaded afresh from the file after every step, or a search would answer from
a state the file does not hold.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import identmatch
from identmatch._index.snapshot import Change, HeldTables, Snapshot, Tables
from identmatch.testing import generate_records

pytestmark = pytest.mark.slow

FIELDS = ["forename", "middle_names", "surname", "aliases", "dob", "sex", "postcode", "nhs_number"]


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    return generate_records(900, seed=23).drop(columns=["error_type", "hard_negative"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, people: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("changes") / "k.duckdb"
    identmatch.Index.build(people.iloc[:500], path).close()
    return path


def canonical(snapshot: Snapshot) -> dict[str, Any]:
    """Everything a search reads from a snapshot, by record id (rows are numbered apart)."""
    ids = sorted(r for r in snapshot._by_id if snapshot.row_of(r) is not None)
    records = {r: snapshot.record(row) for r in ids if (row := snapshot.row_of(r)) is not None}
    entities = {str(rec["entity_id"]) for rec in records.values()}
    members = {
        e: sorted(str(m["record_id"]) for m in snapshot.members([e])) for e in sorted(entities)
    }
    hashes = {int(h) for h in snapshot._hashes.tolist()} | {
        int(h) for h in snapshot._delta_hashes.tolist()
    }
    sharing = {
        h: sorted(str(snapshot.record(int(row))["record_id"]) for row in rows.tolist())
        for h, rows in snapshot.sharing(sorted(hashes)).items()
    }
    tf = {c: (dict(shares._counts), shares._total) for c, shares in sorted(snapshot.tf.items())}
    return {
        "records": records,
        "members": members,
        "sharing": sharing,
        "tf": tf,
        "len": len(snapshot),
        "total": snapshot.records_total,
    }


def fields_of(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in FIELDS if isinstance(row[k], list) or pd.notna(row[k])}


class Follower:
    """A copy kept as a search worker keeps it: loaded through ``follow``, then changed."""

    def __init__(self, index: identmatch.Index) -> None:
        self.snapshot: Snapshot | None = None
        self.changes: list[Change] = []

        def load(tables: Tables) -> None:
            self.snapshot = Snapshot.from_tables(HeldTables.copy(tables))

        self.stop = index.follow(load, self.changes.append)

    def current(self) -> Snapshot:
        assert self.snapshot is not None
        for change in self.changes:
            self.snapshot = self.snapshot.applied(change)
        self.changes.clear()
        return self.snapshot


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_changed_snapshots_equal_the_file_reloaded(
    tmp_path: Path, built: Path, people: pd.DataFrame, seed: int
) -> None:
    path = tmp_path / "k.duckdb"
    shutil.copyfile(built, path)
    rng = random.Random(seed)
    fresh = people.iloc[500:].to_dict("records")
    rng.shuffle(fresh)
    kinds = []
    with identmatch.Index.open(path) as index:
        index.warm()
        follower = Follower(index)
        for step in range(14):
            ids = index.export()["record_id"].astype(str).tolist()
            kind = rng.choice(["add", "add", "remove", "upsert", "different", "same"])
            kinds.append(kind)
            if kind == "add":
                batch = [fresh.pop() for _ in range(rng.randint(1, 40))]
                index.add(pd.DataFrame(batch))
            elif kind == "remove":
                index.remove(rng.sample(ids, rng.randint(1, 8)))
            elif kind == "upsert":
                chosen = rng.choice(ids)
                row = people[people["record_id"].astype(str) == chosen].iloc[0].to_dict()
                row["surname"] = f"{row['surname']}x" if isinstance(row["surname"], str) else "x"
                index.upsert(pd.DataFrame([row]))
            else:
                exported = index.export()
                sizes = exported.groupby("entity_id")["record_id"].transform("size")
                pool = exported[sizes >= 2] if kind == "different" else exported
                if kind == "different" and pool.empty:
                    continue
                if kind == "different":
                    entity = rng.choice(sorted(pool["entity_id"].astype(str).unique()))
                    pair = pool[pool["entity_id"] == entity]["record_id"].astype(str).tolist()[:2]
                else:
                    pair = rng.sample(ids, 2)
                try:
                    index.decide(pair, kind, reason="test", purpose="test")
                except identmatch.DecisionError:
                    continue  # a "same" against a standing "different": nothing changed
            with index._cursor() as cursor:
                reloaded = canonical(Snapshot.load(cursor))
            assert index._loaded is not None
            assert canonical(index._loaded) == reloaded, f"step {step}: {kind}"
            assert canonical(follower.current()) == reloaded, f"step {step}: {kind} (follower)"
        follower.stop()
    assert {"add", "remove"} <= set(kinds)


def test_searches_agree_after_changes(tmp_path: Path, built: Path, people: pd.DataFrame) -> None:
    """The index changed in memory answers as the same file opened afresh does."""
    path = tmp_path / "k.duckdb"
    shutil.copyfile(built, path)
    queries = [fields_of(r) for r in people.iloc[::7].to_dict("records")]
    with identmatch.Index.open(path) as index:
        index.warm()
        index.add(people.iloc[500:700])
        exported = index.export()
        index.remove(exported["record_id"].astype(str).tolist()[::9])
        changed = [index.search(q) for q in queries]
    with identmatch.Index.open(path) as reopened:
        reopened.warm()
        assert [reopened.search(q) for q in queries] == changed
    assert any(changed)


def test_a_follower_stops(tmp_path: Path, built: Path, people: pd.DataFrame) -> None:
    path = tmp_path / "k.duckdb"
    shutil.copyfile(built, path)
    with identmatch.Index.open(path) as index:
        follower = Follower(index)
        index.add(people.iloc[500:510])
        assert len(follower.changes) == 1
        follower.stop()
        index.add(people.iloc[510:520])
        assert len(follower.changes) == 1


def test_removed_values_leave_the_term_frequencies() -> None:
    shares = identmatch._model.scoring.TfShares({"ANN": 2, "BOB": 1})
    fewer = shares.plus({"ANN": -2, "BOB": -1, "CAT": 1})
    assert dict(fewer._counts) == {"CAT": 1}
    assert fewer.get("ANN") is None
    assert fewer["CAT"] == 1.0
