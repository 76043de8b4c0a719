"""Removing records from an index: gone everywhere, entities re-resolved, all or nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

import identmatch
from identmatch.testing import generate_records

pytestmark = pytest.mark.slow

FIELDS = ["forename", "middle_names", "surname", "aliases", "dob", "sex", "postcode", "nhs_number"]


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return generate_records(800, seed=11).drop(columns=["error_type", "hard_negative"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, records: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("remove") / "k.duckdb"
    identmatch.Index.build(records.iloc[:700], path).close()
    return path


@pytest.fixture
def index(tmp_path: Path, built: Path) -> Any:
    """A fresh copy of a 700-record index for each test."""
    path = tmp_path / "k.duckdb"
    shutil.copyfile(built, path)
    opened = identmatch.Index.open(path)
    yield opened
    opened.close()


def fields_of(row: pd.Series[Any]) -> dict[str, Any]:
    return {k: row[k] for k in FIELDS if isinstance(row[k], list) or pd.notna(row[k])}


def multi_record_entity(index: identmatch.Index) -> tuple[str, list[str]]:
    exported = index.export()
    sizes = exported.groupby("entity_id")["record_id"].transform("size")
    entity = str(exported[sizes >= 3]["entity_id"].iloc[0])
    return entity, exported.loc[exported["entity_id"] == entity, "record_id"].tolist()


def tf_counts(index: identmatch.Index) -> dict[tuple[str, str], int]:
    rows = index._connection.execute("SELECT column_name, value, n FROM tf").fetchall()
    return {(c, v): int(n) for c, v, n in rows}


def test_removed_record_is_gone_everywhere(index: identmatch.Index) -> None:
    """The record leaves the records, keys and term frequencies, and search no longer shows it."""
    entity, members = multi_record_entity(index)
    gone = members[0]
    seq = index._connection.execute(
        "SELECT seq FROM records WHERE record_id = ?", [gone]
    ).fetchall()[0][0]
    before = tf_counts(index)
    outcome = index.remove([gone])
    assert outcome.loc[outcome["action"] == "removed", "record_id"].tolist() == [gone]
    assert gone not in index
    assert len(index) == 699
    assert gone not in index.entity(entity)["record_id"].tolist()
    keys = index._connection.execute("SELECT count(*) FROM keys WHERE seq = ?", [seq]).fetchall()
    assert keys[0][0] == 0
    after = tf_counts(index)
    assert sum(before.values()) > sum(after.values())
    assert all(n > 0 for n in after.values())


def test_tf_counts_equal_a_recount(index: identmatch.Index) -> None:
    """After removals, each term-frequency count equals a count over the remaining records."""
    ids = index.export()["record_id"].tolist()[::7]
    index.remove(ids)
    counts = tf_counts(index)
    for column in {c for c, _ in counts}:
        recount = index._connection.execute(
            f'SELECT "{column}", count(*) FROM records WHERE "{column}" IS NOT NULL GROUP BY 1'
        ).fetchall()
        assert {(column, str(v)): int(n) for v, n in recount} == {
            k: n for k, n in counts.items() if k[0] == column
        }


def test_search_is_right_after_a_gap_in_seq(index: identmatch.Index, records: pd.DataFrame) -> None:
    """Records after a removed one are still found as themselves (seq gaps are handled)."""
    index.remove([str(records.iloc[10]["record_id"])])
    row = records.iloc[500]
    hits = index.search(fields_of(row))
    assert hits
    assert row["record_id"] in [r.record_id for r in hits[0].records]
    explanation = index.score(fields_of(row), str(row["record_id"]))
    assert explanation.match_probability > 0.99


def test_add_after_remove_and_readd_the_same_id(
    index: identmatch.Index, records: pd.DataFrame
) -> None:
    """A removed id can be added again; adds after removals join the right entities."""
    rid = str(records.iloc[20]["record_id"])
    entity = index.export().set_index("record_id").loc[rid, "entity_id"]
    index.remove([rid])
    outcome = index.add(records.iloc[[20]])
    assert outcome["record_id"].tolist() == [rid]
    sizes = index.export().groupby("entity_id").size()
    if entity in sizes.index:  # the entity had other records: the record rejoins them
        assert outcome["entity_id"].iloc[0] == entity
    outcome = index.add(records.iloc[700:])
    assert len(outcome) == 100
    assert len(index) == 800


def test_unknown_id_is_refused_and_nothing_changes(index: identmatch.Index) -> None:
    """Removing an id that is not indexed raises SchemaError naming it, and removes nothing."""
    first = index.export()["record_id"].iloc[0]
    with pytest.raises(identmatch.SchemaError, match="NOPE-1"):
        index.remove([first, "NOPE-1"])
    assert first in index
    assert len(index) == 700


def test_entity_split_keeps_the_old_id_for_the_larger_part(index: identmatch.Index) -> None:
    """An entity held together only by the removed record splits; the larger part keeps its id."""
    exported = index.export()
    sizes = exported.groupby("entity_id").size()
    big = str(sizes[sizes >= 2].index[0])
    small = str(sizes[sizes == 1].index[0])
    loner = exported.loc[exported["entity_id"] == small, "record_id"].iloc[0]
    # Simulate an entity that a (now removed) record had chained together: put an
    # unrelated one-record entity's record into the larger entity, plus a bridge record.
    bridge = exported.loc[exported["entity_id"] == big, "record_id"].iloc[0]
    index._connection.execute(
        "UPDATE records SET entity_id = ? WHERE record_id = ?", [big, str(loner)]
    )
    index._refresh()
    outcome = index.remove([str(bridge)])
    moved = outcome[outcome["action"] == "split"]
    assert moved["record_id"].tolist() == [loner]
    new_entity = moved["entity_id"].iloc[0]
    assert new_entity not in (big, small)
    after = index.export().set_index("record_id")["entity_id"]
    assert after[loner] == new_entity
    assert (after[after.index != loner] != new_entity).all()
    logged = index._connection.execute("SELECT entity_id, new_entity_id FROM splits").fetchall()
    assert logged == [(big, new_entity)]
    again = index.remove([str(loner)])  # new ids come from the counter, never reused
    assert again["action"].tolist() == ["removed"]


def test_failed_remove_rolls_back(index: identmatch.Index, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure part-way through the removal leaves the file as it was."""
    import identmatch._index.remove as remove_module

    original = remove_module._write

    def fail_after_writing(*args: Any) -> None:
        original(*args)
        raise RuntimeError("disk gone")

    monkeypatch.setattr(remove_module, "_write", fail_after_writing)
    first = str(index.export()["record_id"].iloc[0])
    before = tf_counts(index)
    with pytest.raises(RuntimeError, match="disk gone"):
        index.remove([first])
    assert first in index
    assert tf_counts(index) == before
    count = index._connection.execute("SELECT count(*) FROM records").fetchall()[0][0]
    assert count == 700


def test_old_files_get_the_new_tables_on_a_writable_open(tmp_path: Path) -> None:
    """A file without the splits and audit tables gains them when opened writable."""
    path = tmp_path / "old.duckdb"
    identmatch.Index.build(generate_records(50, seed=1), path).close()
    connection = duckdb.connect(str(path))
    connection.execute(
        "DROP TABLE splits; DROP TABLE audit; DELETE FROM meta WHERE key = 'audit_key'"
    )
    connection.close()
    with identmatch.Index.open(path, read_only=True) as opened:
        assert len(opened) == 50
    assert identmatch.AuditLog.read(path) == []
    with identmatch.Index.open(path) as opened:
        tables = {r[0] for r in opened._connection.execute("SHOW TABLES").fetchall()}
        assert {"splits", "audit"} <= tables


def test_compact_removes_the_values_from_the_files_bytes(tmp_path: Path) -> None:
    """After remove and checkpoint a name is still in the bytes; after compact it is not."""
    import stat

    people = generate_records(120, seed=3).drop(columns=["error_type", "hard_negative"])
    people.loc[7, ["forename", "surname"]] = ["Zebulonius", "Xanthopoulou-Wetherspoon"]
    gone = str(people.loc[7, "record_id"])
    path = tmp_path / "k.duckdb"
    with identmatch.Index.build(people, path) as index:
        index.remove([gone])  # audited
        index.checkpoint()
    names = (b"Zebulonius", b"Xanthopoulou-Wetherspoon")
    assert all(name in path.read_bytes() for name in names)  # what compact is for
    before, after = identmatch.Index.compact(path)
    assert 0 < after <= before
    assert not any(name in path.read_bytes() for name in names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.duckdb"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with identmatch.Index.open(path) as index:
        assert len(index) == 119
        assert gone not in index
        kept = people.iloc[20]
        assert index.search(fields_of(kept))[0].entity_id
        entries = identmatch.AuditLog(index).entries()
        assert [(e.action, e.record_ids) for e in entries] == [
            ("build", ()),
            ("remove", (gone,)),
            ("compact", ()),
        ]


def test_compact_refuses_a_held_index(tmp_path: Path, built: Path) -> None:
    """An index another connection holds (a service) is not compacted; nothing changes."""
    path = tmp_path / "k.duckdb"
    shutil.copyfile(built, path)
    content = path.read_bytes()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('held', flush=True); "
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(identmatch.ConfigError, match="in use by another process"):
            identmatch.Index.compact(path)
    finally:
        holder.communicate("")
    assert path.read_bytes() == content
    assert not (tmp_path / "k.duckdb.compacting").exists()


class TestUpsert:
    """``Index.upsert``: known ids are replaced (removed, then added), new ids are added."""

    def test_replaces_known_records_and_adds_new_ones(self, tmp_path: Path) -> None:
        from identmatch.testing import generate_records

        records = generate_records(300, seed=13).drop(columns=["error_type", "hard_negative"])
        with identmatch.Index.build(records, tmp_path / "i.duckdb") as index:
            before = index.export().set_index("record_id")["entity_id"]
            sizes = before.value_counts()
            member = next(r for r, e in before.items() if sizes[e] >= 2)
            changed = records[records["record_id"] == member].copy()
            changed["forename"], changed["surname"] = "Quintessa", "Vexworth-Marlowe"
            changed["dob"], changed["nhs_number"] = "1901-02-03", None
            fresh = changed.assign(record_id="NEW-1")
            outcome = index.upsert(pd.concat([changed, fresh], ignore_index=True))
            rows = outcome.set_index("record_id")
            assert bool(rows.loc[member, "replaced"]) is True
            assert rows.loc[member, "left"] == before[member]
            assert rows.loc[member, "entity_id"] != before[member]  # no longer that person
            assert bool(rows.loc["NEW-1", "replaced"]) is False
            assert pd.isna(rows.loc["NEW-1", "left"])
            assert rows.loc["NEW-1", "entity_id"] == rows.loc[member, "entity_id"]
            after = index.export()
            assert len(after) == len(records) + 1
            assert after["record_id"].is_unique
            stored = index.entity(str(rows.loc[member, "entity_id"]))
            assert set(stored["surname"]) == {"Vexworth-Marlowe"}

    def test_nothing_known_is_an_add(self, tmp_path: Path) -> None:
        from identmatch.testing import generate_records

        records = generate_records(120, seed=3).drop(columns=["error_type", "hard_negative"])
        with identmatch.Index.build(records.iloc[:100], tmp_path / "i.duckdb") as index:
            outcome = index.upsert(records.iloc[100:])
            assert not outcome["replaced"].any()
            assert outcome["left"].isna().all()
            assert set(outcome["action"]) <= {"joined", "new", "merged"}
            assert len(index.export()) == 120


UPSERT_LOOP = """
import sys
import pandas as pd
import identmatch
from identmatch.testing import generate_records

records = generate_records(300, seed=13).drop(columns=["error_type", "hard_negative"])
batch = records.iloc[:40].copy()
index = identmatch.Index.open(sys.argv[1])
print("ready", flush=True)
n = int(sys.argv[2])
while True:
    n += 1
    index.upsert(batch.assign(source=f"v{n}", surname=batch["surname"].fillna("X") + "x"))
"""


def test_kill_9_mid_upsert_leaves_old_or_new_records_never_neither(tmp_path: Path) -> None:
    """A process upserting 40 records in a loop is killed (SIGKILL) at random moments: each
    time the file holds all 40, every one in the same version, and opens and searches."""
    import random
    import signal

    records = generate_records(300, seed=13).drop(columns=["error_type", "hard_negative"])
    path = tmp_path / "i.duckdb"
    identmatch.Index.build(records, path).close()
    ids = set(records["record_id"].iloc[:40].astype(str))
    original = dict(zip(records["record_id"].astype(str), records["source"], strict=True))
    chance = random.Random(26)
    versions: set[str] = set()
    for round_ in range(5):
        with subprocess.Popen(
            [sys.executable, "-c", UPSERT_LOOP, str(path), str(1000 * round_)],
            stdout=subprocess.PIPE,
            text=True,
        ) as child:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            time.sleep(chance.uniform(0.2, 0.7))
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        with identmatch.Index.open(path) as index:
            stored = index.export()
            held = stored[stored["record_id"].isin(ids)]
            assert set(held["record_id"]) == ids, f"round {round_}: records lost"
            sources = dict(zip(held["record_id"], held["source"], strict=True))
            if sources != {r: original[r] for r in ids}:  # not the built versions: one update
                assert len(set(sources.values())) == 1, f"round {round_}: a half update"
                versions.add(str(held["source"].iloc[0]))
            assert len(stored) == 300
            assert index.search(fields_of(records.iloc[100]), top=1)
    assert versions  # updates did commit along the way


@pytest.mark.parametrize("bad", ["PR-7#2", "PR 7", "PR/7", "PR-7?x", "%41", "x" * 201])
def test_record_ids_outside_the_safe_set_are_refused_on_every_path(
    tmp_path: Path, index: identmatch.Index, records: pd.DataFrame, bad: str
) -> None:
    """An id with ``#``, space, ``/``, ``?``, ``%`` or over 200 characters is refused by the
    Python API and the command, naming the column and row (never the id); nothing is added."""
    new = records.iloc[700:703].assign(record_id=["OK-1", bad, "OK-3"])
    with pytest.raises(identmatch.SchemaError, match=r"record_id at data row 3 ") as refused:
        index.add(new)
    assert bad not in str(refused.value)
    with pytest.raises(identmatch.SchemaError, match=re.escape("A-Z a-z 0-9 . _ : -")):
        index.upsert(new)
    assert "OK-1" not in index
    index.close()
    new.to_csv(tmp_path / "new.csv", index=False)
    command = str(Path(sys.executable).with_name("identmatch"))
    added = subprocess.run(
        [command, "index", "add", "new.csv", "--index", "k.duckdb", "--out", "a.csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert added.returncode != 0
    assert "record_id at data row 3" in added.stderr
    assert bad not in added.stderr
    with identmatch.Index.open(tmp_path / "k.duckdb", read_only=True) as opened:
        assert "OK-1" not in opened
