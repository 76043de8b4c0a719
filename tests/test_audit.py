"""The audit trail: entries committed before the caller goes on, fingerprints without names."""

from __future__ import annotations

import json
import stat
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
    assert [(e.audit_id, e.action) for e in entries] == [(1, "build"), (audit_id, "search")]
    entry = entries[1]
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
    assert sorted(ids) == list(range(2, 82))  # after the build's entry
    assert len(log.entries()) == 81
    log.close()


def test_ids_continue_after_reopening(index: identmatch.Index) -> None:
    """A new log on the same file numbers on from the last entry."""
    first = identmatch.AuditLog(index)
    first.write(key_id="k", action="add", record_ids=["R1"])
    first.close()
    second = identmatch.AuditLog(index)
    assert second.write(key_id="k", action="remove", record_ids=["R1"]) == 3


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

    from identmatch._cli.main import cli

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
    lines = as_json.output.splitlines()[1:]  # after the build's entry
    assert len(lines) == 2
    assert all(line.isascii() for line in lines)
    assert [json.loads(line)["purpose"] for line in lines] == [purpose, purpose]
    as_text = runner.invoke(cli, ["audit", "--index", str(path)])
    assert as_text.exit_code == 0, as_text.output
    rows = as_text.output.splitlines()
    assert len(rows) == 3
    assert all(len(row.split("\t")) == 9 for row in rows)


def _tamper(path: Path, sql: str, params: list[Any]) -> None:
    import duckdb

    connection = duckdb.connect(str(path))
    try:
        connection.execute(sql, params)
    finally:
        connection.close()


class TestChain:
    @pytest.fixture
    def key(self, index: identmatch.Index) -> bytes:
        """The key made for the index at build."""
        return identmatch.AuditLog.read_key(identmatch.AuditLog.key_file(index))

    def _fill(self, index: identmatch.Index, key: bytes, n: int = 6) -> None:
        log = identmatch.AuditLog(index, chain_key=key)
        for i in range(n):
            log.write(key_id="k1", action="search", purpose=f"case {i}", entity_ids=[f"E{i}"])
        log.close()
        index.close()

    def test_intact_chain_verifies(self, index: identmatch.Index, key: bytes) -> None:
        """Entries written with the key verify, and the head is the newest entry's chain."""
        self._fill(index, key)
        report = identmatch.AuditLog.verify(index.path, key)
        assert report.ok, report.problems
        assert (report.entries, report.chained) == (7, 7)  # the build's and six
        assert report.head == identmatch.AuditLog.read(index.path)[-1].chain

    @pytest.mark.parametrize(
        ("sql", "params", "problem"),
        [
            ("UPDATE audit SET purpose = ? WHERE audit_id = 3", ["nothing to see"], "entry 3"),
            ("DELETE FROM audit WHERE audit_id = 2", [], "entries 2-2 are missing"),
            ("UPDATE audit SET entity_ids = ? WHERE audit_id = 5", [["E9"]], "entry 5"),
            ("UPDATE audit SET chain = NULL WHERE audit_id = 4", [], "entry 4: not chained"),
            ("DELETE FROM audit WHERE audit_id <= 2", [], "entries 1-2 are missing"),
        ],
        ids=["changed-purpose", "removed-middle", "changed-ids", "unchained", "removed-oldest"],
    )
    def test_tampering_is_found(
        self, index: identmatch.Index, key: bytes, sql: str, params: list[Any], problem: str
    ) -> None:
        """A changed, removed or unchained entry breaks the chain at that entry."""
        self._fill(index, key)
        _tamper(index.path, sql, params)
        report = identmatch.AuditLog.verify(index.path, key)
        assert not report.ok
        assert any(problem in p for p in report.problems), report.problems

    def test_wrong_or_missing_key_is_refused(
        self, index: identmatch.Index, key: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A writer without the key, or with another, is refused."""
        self._fill(index, key)
        other = tmp_path / "other.key"
        identmatch.AuditLog.new_key(other)
        with identmatch.Index.open(index.path) as reopened:
            with monkeypatch.context() as elsewhere:
                elsewhere.setenv("IDENTMATCH_AUDIT_KEY_DIR", str(tmp_path / "empty"))
                with pytest.raises(identmatch.ConfigError, match="its key was not found"):
                    identmatch.AuditLog(reopened)
            wrong = identmatch.AuditLog.read_key(other)
            with pytest.raises(identmatch.ConfigError, match="not this audit trail's chain key"):
                identmatch.AuditLog(reopened, chain_key=wrong)
        assert not identmatch.AuditLog.verify(index.path, wrong).ok

    def test_key_file_is_owner_only_and_never_overwritten(self, tmp_path: Path) -> None:
        """A key file readable by others is refused; new-key never overwrites one."""
        path = tmp_path / "audit.key"
        identmatch.AuditLog.new_key(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        before = path.read_text(encoding="ascii")
        with pytest.raises(identmatch.ConfigError, match="already exists"):
            identmatch.AuditLog.new_key(path)
        assert path.read_text(encoding="ascii") == before
        path.chmod(0o644)
        with pytest.raises(identmatch.ConfigError, match="owner only"):
            identmatch.AuditLog.read_key(path)

    def test_purge_keeps_the_chain_checkable(self, index: identmatch.Index, key: bytes) -> None:
        """After a purge the remaining entries verify from the anchor; a later cut is found."""
        self._fill(index, key, n=4)
        with identmatch.Index.open(index.path) as reopened:
            log = identmatch.AuditLog(reopened, chain_key=key)
            cutoff = datetime.now(UTC) + timedelta(seconds=1)
            assert log.purge(cutoff) == 5  # the build's and four
            log.write(key_id="k1", action="search", purpose="after", entity_ids=["E7"])
            log.close()
        entries = identmatch.AuditLog.read(index.path)
        assert [e.action for e in entries] == ["purge", "search"]
        assert entries[0].detail.startswith("5 entries logged before")
        report = identmatch.AuditLog.verify(index.path, key)
        assert report.ok, report.problems
        _tamper(index.path, "DELETE FROM audit WHERE action = 'purge'", [])
        assert not identmatch.AuditLog.verify(index.path, key).ok
