"""The audit trail: entries committed before the caller goes on, fingerprints without names."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import identmatch
from identmatch.testing import generate_records

pytestmark = pytest.mark.slow

PERSON = {"forename": "Ann", "surname": "Smith", "dob": "1980-02-01"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit") / "k.duckdb"
    identmatch.Index.build(generate_records(60, seed=2), path).close()
    return path


@pytest.fixture
def index(tmp_path: Path, built: Path) -> Any:
    path = tmp_path / "k.duckdb"
    path.write_bytes(built.read_bytes())
    opened = identmatch.Index.open(path)
    yield opened
    opened.close()


def test_entries_are_committed_and_read_back(index: identmatch.Index) -> None:
    """A written entry is readable at once, from the log and from the closed file."""
    log = identmatch.AuditLog(index)
    audit_id = log.write(
        key_id="k1",
        action="search",
        purpose="case 7",
        fingerprint=log.fingerprint(PERSON),
        entity_ids=["E000001", "E000002"],
    )
    entries = log.entries()
    assert [e.audit_id for e in entries] == [audit_id]
    entry = entries[0]
    assert entry.key_id == "k1"
    assert entry.purpose == "case 7"
    assert entry.entity_ids == ("E000001", "E000002")
    log.close()
    path = index.path
    index.close()
    assert identmatch.AuditLog.read(path) == entries
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert identmatch.AuditLog.read(path, since=later) == []


def test_fingerprint_folds_case_and_spacing_and_hides_names(index: identmatch.Index) -> None:
    """Equal queries give equal fingerprints whatever the case or spacing; no name is visible."""
    log = identmatch.AuditLog(index)
    same = {"forename": " ann ", "surname": "SMITH", "dob": "1980-02-01"}
    assert log.fingerprint(PERSON) == log.fingerprint(same)
    assert log.fingerprint(PERSON) != log.fingerprint(PERSON | {"forename": "Anne"})
    assert "smith" not in log.fingerprint(PERSON).lower()
    assert len(log.fingerprint(PERSON)) == 64


def test_fingerprints_differ_between_index_files(
    index: identmatch.Index, tmp_path: Path, built: Path
) -> None:
    """Each file has its own secret, so a fingerprint cannot be recomputed without the file."""
    other_path = tmp_path / "other.duckdb"
    identmatch.Index.build(generate_records(30, seed=3), other_path).close()
    with identmatch.Index.open(other_path) as other:
        assert identmatch.AuditLog(index).fingerprint(PERSON) != identmatch.AuditLog(
            other
        ).fingerprint(PERSON)


def test_concurrent_writers_get_distinct_ids(index: identmatch.Index) -> None:
    """Entries from many threads are all committed, each with its own id."""
    log = identmatch.AuditLog(index)
    ids: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(10):
            audit_id = log.write(key_id=f"k{n}", action="search", purpose=f"case {i}")
            with lock:
                ids.append(audit_id)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ids) == list(range(1, 81))
    assert len(log.entries()) == 80
    log.close()


def test_ids_continue_after_reopening(index: identmatch.Index) -> None:
    """A new log on the same file numbers on from the last entry."""
    first = identmatch.AuditLog(index)
    first.write(key_id="k", action="add", record_ids=["R1"])
    first.close()
    second = identmatch.AuditLog(index)
    assert second.write(key_id="k", action="remove", record_ids=["R1"]) == 2


def test_read_only_index_cannot_audit(built: Path) -> None:
    """An index opened read-only cannot keep an audit trail: that is refused by name."""
    with (
        identmatch.Index.open(built, read_only=True) as opened,
        pytest.raises(identmatch.ConfigError, match="writable"),
    ):
        identmatch.AuditLog(opened)


def test_audit_listing_keeps_each_entry_on_one_line(index: identmatch.Index) -> None:
    """A purpose holding line separators and tabs (found by the API fuzz) still lists as one line
    per entry, in JSON (ASCII escapes, read back exactly) and in the tab-separated text."""
    from click.testing import CliRunner

    from identmatch._cli import cli

    purpose = "case\n7\t\u2028\x85\x1c\u00e9\U0001f600 end"
    log = identmatch.AuditLog(index)
    for key_id in ("k1", "k2"):
        log.write(key_id=key_id, action="search", purpose=purpose, entity_ids=["E000001"])
    log.close()
    path = index.path
    index.close()
    runner = CliRunner()
    as_json = runner.invoke(cli, ["audit", "--index", str(path), "--json"])
    assert as_json.exit_code == 0, as_json.output
    lines = as_json.output.splitlines()
    assert len(lines) == 2
    assert all(line.isascii() for line in lines)
    assert [json.loads(line)["purpose"] for line in lines] == [purpose, purpose]
    as_text = runner.invoke(cli, ["audit", "--index", str(path)])
    assert as_text.exit_code == 0, as_text.output
    rows = as_text.output.splitlines()
    assert len(rows) == 2
    assert all(len(row.split("\t")) == 8 for row in rows)
