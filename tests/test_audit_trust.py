"""An audit trail a data protection officer can sign: complete, chained from the build, and
checkable against a head kept elsewhere. The installed ``identmatch`` command on real DuckDB
files edited with duckdb, and ``identmatch serve`` over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import httpx
import pandas as pd
import pytest

import identmatch
from identmatch.testing import generate_records

from _support import free_port, start_service

pytestmark = pytest.mark.slow

SEARCH = ("--purpose", "case 12", "--surname", "Smith", "--forename", "Ann")


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed command, as an operator runs it."""
    command = str(Path(sys.executable).with_name("identmatch"))
    return subprocess.run(
        [command, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


def tamper(path: Path, *statements: str) -> None:
    """Edit the index file as anyone who can write it can: plain duckdb, no key."""
    connection = duckdb.connect(str(path))
    try:
        for statement in statements:
            connection.execute(statement)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return generate_records(120, seed=31).drop(columns=["error_type", "hard_negative"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, records: pd.DataFrame) -> Path:
    """An index built by the command, with a few audited searches after its build."""
    folder = tmp_path_factory.mktemp("trust")
    source = folder / "records.csv"
    records.iloc[:100].to_csv(source, index=False)
    path = folder / "known.duckdb"
    made = run("index", "build", str(source), "--index", str(path))
    assert made.returncode == 0, made.stderr
    (folder / "build.log").write_text(made.stderr, encoding="utf-8")
    for _ in range(3):
        found = run("search", "--index", str(path), *SEARCH)
        assert found.returncode == 0, found.stderr
    return path


@pytest.fixture
def index(tmp_path: Path, built: Path) -> Path:
    path = tmp_path / "known.duckdb"
    shutil.copyfile(built, path)  # a copy finds the trail's key as the original does
    return path


def verify(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run("audit", "--index", str(path), "--verify", *extra)


# ---------------------------------------------------------------------------------- F1
def test_the_chain_is_on_from_the_build(index: Path, built: Path) -> None:
    """Without any key given, the trail is chained from its first entry, the build, under a
    key the build made and named."""
    key = identmatch.AuditLog.key_file(index)
    told = (built.parent / "build.log").read_text(encoding="utf-8")
    assert f"its audit trail is chained under the key {key}" in " ".join(told.split())
    checked = verify(index)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "4 entries, 4 chained" in checked.stdout
    assert "chain intact" in checked.stdout
    entries = identmatch.AuditLog.read(index)
    assert [e.action for e in entries] == ["build", "search", "search", "search"]
    assert all(e.chain for e in entries)
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.parent != index.parent  # outside the index's directory and its backups


@pytest.mark.parametrize(
    ("statements", "problem"),
    [
        (["UPDATE audit SET chain = NULL"], "entry 1: not chained"),
        (["UPDATE audit SET chain = NULL WHERE audit_id >= 3"], "entry 3: not chained"),
        (["DELETE FROM audit"], "the trail is empty"),
        (
            [
                "DELETE FROM audit WHERE audit_id = 2",
                "UPDATE audit SET audit_id = audit_id - 1 WHERE audit_id > 2",
            ],
            "does not agree with the chain",
        ),
        (
            [
                "UPDATE audit SET chain = NULL",
                "DELETE FROM meta WHERE key = 'audit_chain_check'",
            ],
            "carries no chain mark",
        ),
        (
            [
                "UPDATE audit SET chain = NULL",
                "UPDATE meta SET value = '9:x' WHERE key = 'audit_chain_from'",
            ],
            "was altered",
        ),
    ],
    ids=[
        "all-unchained",
        "newest-unchained",
        "emptied",
        "removed-renumbered",
        "mark-gone",
        "start-moved",
    ],
)
def test_a_trail_edited_without_the_key_is_broken(
    index: Path, statements: list[str], problem: str
) -> None:
    """F1: whoever can write the file but lacks the key cannot make `audit --verify` pass:
    chains set to NULL, rows removed and renumbered, an emptied trail, the chain's marks
    in meta removed or moved. The review's own case through the command, the others
    through ``AuditLog.verify``, which the command calls."""
    tamper(index, *statements)
    if statements == ["UPDATE audit SET chain = NULL"]:
        checked = verify(index)
        assert checked.returncode == 1, checked.stdout + checked.stderr
        assert "chain intact" not in checked.stdout
        assert problem in checked.stdout, checked.stdout
        return
    report = identmatch.AuditLog.verify(index)
    assert not report.ok
    assert any(problem in found for found in report.problems), report.problems


def test_new_entries_do_not_hide_a_break(index: Path) -> None:
    """F1: entries written after the tampering chain on, but the break stays reported."""
    tamper(index, "UPDATE audit SET chain = NULL")
    found = run("search", "--index", str(index), *SEARCH)
    assert found.returncode == 0, found.stderr
    checked = verify(index)
    assert checked.returncode == 1
    assert "entry 2: not chained" in checked.stdout


def test_a_sealed_head_catches_truncation(index: Path, tmp_path: Path) -> None:
    """F1: removing the newest entries leaves a chain that agrees; the head sealed to a file
    elsewhere catches it."""
    seals = tmp_path / "elsewhere" / "seals.jsonl"
    seals.parent.mkdir()
    sealed = verify(index, "--seal-to", str(seals))
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    seal = json.loads(seals.read_text(encoding="ascii").splitlines()[-1])
    assert (seal["entries"], seal["last_id"]) == (4, 4)
    assert seals.stat().st_mode & 0o777 == 0o600
    assert verify(index, "--against", str(seals)).returncode == 0
    tamper(index, "DELETE FROM audit WHERE audit_id >= 3")
    assert verify(index).returncode == 0  # the shorter chain agrees with itself
    checked = verify(index, "--against", str(seals))
    assert checked.returncode == 1
    assert "newer entries were removed" in checked.stdout


def test_an_older_release_trail_is_chained_from_its_next_entry(index: Path) -> None:
    """A trail an older release wrote (unchained, no chain marks) still opens; it is chained
    from its next entry with a new key, the older entries are reported as such, and an
    unchained entry after that is a break."""
    tamper(
        index,
        "DELETE FROM meta WHERE key LIKE 'audit_chain%'",
        "DELETE FROM audit",
        "INSERT INTO audit (audit_id, logged_at, key_id, action, purpose) VALUES "
        "(1, TIMESTAMP '2026-01-05 10:00:00', 'k1', 'search', 'old 1'), "
        "(2, TIMESTAMP '2026-01-05 10:01:00', 'k1', 'search', 'old 2')",
    )
    assert "no chain mark" in verify(index).stdout  # not chained yet
    found = run("search", "--index", str(index), *SEARCH)
    assert found.returncode == 0, found.stderr
    assert "audit chain started at entry 3" in found.stderr
    checked = verify(index)
    assert checked.returncode == 0, checked.stdout
    assert "2 unchained entries before entry 3 (written by an older release" in checked.stdout
    assert [e.action for e in identmatch.AuditLog.read(index)][2:] == ["chain", "search"]
    tamper(index, "UPDATE audit SET chain = NULL WHERE audit_id = 4")
    assert "entry 4: not chained" in verify(index).stdout


# ---------------------------------------------------------------------------------- F5
def test_every_write_is_audited(index: Path, tmp_path: Path, records: pd.DataFrame) -> None:
    """F5: `index add`, `index compact`, `decisions add` and the Python API's add, remove
    and upsert each leave an entry, in the chain."""
    extra = tmp_path / "more.csv"
    records.iloc[100:110].to_csv(extra, index=False)
    added = run("index", "add", str(extra), "--index", str(index))
    assert added.returncode == 0, added.stderr
    new_ids = [str(r) for r in records.iloc[100:110]["record_id"]]
    with identmatch.Index.open(index) as opened:
        removed = opened.remove([new_ids[0]], by="api:retention", purpose="retention rule 4")
        assert removed.attrs["audit_id"] == 6
        update = records.iloc[[101]].assign(surname="Changed")
        opened.upsert(update, by="api:feed")
    first, second = new_ids[1], new_ids[2]
    decided = run(
        "decisions",
        "add",
        first,
        second,
        "--index",
        str(index),
        "--decision",
        "unsure",
        "--reason",
        "check",
        "--purpose",
        "review 3",
    )
    assert decided.returncode == 0, decided.stderr
    compacted = run("index", "compact", "--index", str(index))
    assert compacted.returncode == 0, compacted.stderr
    entries = identmatch.AuditLog.read(index)[4:]  # after the build's and the searches'
    assert [(e.action, e.key_id.split(":")[0]) for e in entries] == [
        ("add", "cli"),
        ("remove", "api"),
        ("add", "api"),
        ("decision", "cli"),
        ("compact", "cli"),
    ]
    add, remove, upsert, decision, compact = entries
    assert set(add.record_ids) == set(new_ids)
    assert remove.record_ids == (new_ids[0],)
    assert (remove.key_id, remove.purpose) == ("api:retention", "retention rule 4")
    assert upsert.record_ids == (first,)
    assert upsert.detail == "update: 1 replaced"
    assert set(decision.record_ids) == {first, second}
    assert compact.detail is not None
    assert "bytes" in compact.detail
    checked = verify(index)
    assert checked.returncode == 0, checked.stdout


def test_writes_need_the_chain_key(index: Path, tmp_path: Path, records: pd.DataFrame) -> None:
    """F5: without the trail's key nothing is added, removed or compacted; with the key
    file named (moved out of the key directory), it is."""
    moved = tmp_path / "vault" / "audit.key"
    moved.parent.mkdir()
    shutil.copyfile(identmatch.AuditLog.key_file(index), moved)
    moved.chmod(0o600)
    elsewhere = {"IDENTMATCH_AUDIT_KEY_DIR": str(tmp_path / "empty")}
    extra = tmp_path / "more.csv"
    records.iloc[100:103].to_csv(extra, index=False)
    size = index.stat().st_size
    for args in (
        ("index", "add", str(extra), "--index", str(index)),
        ("index", "compact", "--index", str(index)),
    ):
        refused = run(*args, env=elsewhere)
        assert refused.returncode == 2, refused.stderr
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1, refused.stderr
        assert "its key was not found" in lines[0]
        assert "--audit-key-file" in lines[0]
    assert index.stat().st_size == size
    with identmatch.Index.open(index, read_only=True) as opened:
        assert len(opened) == 100
    added = run(
        "index",
        "add",
        str(extra),
        "--index",
        str(index),
        "--audit-key-file",
        str(moved),
        env=elsewhere,
    )
    assert added.returncode == 0, added.stderr
    assert identmatch.AuditLog.read(index)[-1].action == "add"


# ---------------------------------------------------------------------------------- F7
def _service(base: Path, index: Path, config_text: str = "") -> tuple[Path, str]:
    config = base / "service.toml"
    config.write_text(config_text, encoding="utf-8")
    _, token = identmatch.create_api_key(config, name="case-system", role="search")
    return config, token


def test_refusals_are_counted_per_address_per_minute(index: Path, tmp_path: Path) -> None:
    """F7: a flood of calls with a wrong key from 4 connections writes one entry per address
    per minute holding the count, not one per call, and the chain holds."""
    config, token = _service(tmp_path, index)
    url, process = start_service(index, config, tmp_path / "server.log")
    flood = 400
    try:

        def hammer(n: int) -> None:
            with httpx.Client(headers={"Authorization": "Bearer imk_wrong"}) as client:
                for _ in range(n):
                    body = {"purpose": "x", "person": {"surname": "Smith"}}
                    assert client.post(url + "/v1/search", json=body).status_code == 401

        threads = [threading.Thread(target=hammer, args=(flood // 4,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        body = {"purpose": "case 9", "person": {"surname": "Smith"}}
        allowed = httpx.post(
            url + "/v1/search", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert allowed.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=60)
    entries = identmatch.AuditLog.read(index)
    denied = [e for e in entries if e.action == "denied"]
    assert 1 <= len(denied) <= 2, [e.detail for e in denied]  # a minute may end in the flood
    assert sum(int(e.detail.split(" refused")[0]) for e in denied) == flood
    assert all("from 127.0.0.1" in e.detail and "401 POST /v1/search x" in e.detail for e in denied)
    assert [e.action for e in entries].count("search") == 4
    checked = verify(index)
    assert checked.returncode == 0, checked.stdout


def test_a_search_that_cannot_be_audited_is_refused(index: Path, tmp_path: Path) -> None:
    """F7: when the trail cannot be written (the file may grow no more: a full disk), an
    otherwise allowed search gets 503 and a log line saying why, never results; once the
    trail can be written again, searches are answered and the chain holds."""
    config, token = _service(tmp_path, index)
    port = free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("identmatch")),
            *("serve", "--index", str(index), "--config", str(config)),
            *("--host", "127.0.0.1", "--port", str(port)),
        ],
        stdout=subprocess.PIPE,  # not a file: the limit below would stop the log too
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    body = {"purpose": "case 10", "person": {"surname": "Smith"}}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "service did not start"
            time.sleep(0.1)
        assert httpx.post(url + "/v1/search", json=body, headers=headers).status_code == 200
        soft, hard = resource.prlimit(process.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (1, hard))  # no file may grow
        for _ in range(2):
            full = httpx.post(url + "/v1/search", json=body, headers=headers)
            assert full.status_code == 503
            assert full.json() == {"detail": "audit trail unavailable"}
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (soft, hard))
        assert httpx.post(url + "/v1/search", json=body, headers=headers).status_code == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=60)
    log = output.decode("utf-8", "replace")
    assert "the audit trail cannot be written" in log
    assert "audited calls are refused" in log
    searches = [e for e in identmatch.AuditLog.read(index) if e.purpose == "case 10"]
    assert len(searches) == 2  # the two answered; none of the refused
    assert verify(index).returncode == 0


# ------------------------------------------------------------------------- F12 (serve)
def test_serve_takes_the_audit_key_like_every_command(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F12: without its key, `serve` of a chained index fails with one line naming what to
    pass (no traceback, no abort); with --audit-key-file, or IDENTMATCH_AUDIT_KEY_FILE, it
    serves, its entries chain, and the heads it seals (audit_seal_file) check out."""
    moved = tmp_path / "vault" / "audit.key"
    moved.parent.mkdir()
    shutil.copyfile(identmatch.AuditLog.key_file(index), moved)
    moved.chmod(0o600)
    seals = tmp_path / "seals.jsonl"
    config, token = _service(tmp_path, index, f'audit_seal_file = "{seals}"\n')
    elsewhere = {"IDENTMATCH_AUDIT_KEY_DIR": str(tmp_path / "empty")}
    port = str(free_port())
    serving = ("serve", "--index", str(index), "--config", str(config), "--port", port)
    refused = run(*serving, env=elsewhere)
    assert refused.returncode == 2
    assert refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith("identmatch: error: known.duckdb: its audit trail is chained")
    assert "--audit-key-file" in lines[0]
    assert "IDENTMATCH_AUDIT_KEY_FILE" in lines[0]
    body = {"purpose": "case 11", "person": {"surname": "Smith"}}
    for extra, env in (
        (("--audit-key-file", str(moved)), {}),
        ((), {"IDENTMATCH_AUDIT_KEY_FILE": str(moved)}),
    ):
        with monkeypatch.context() as patched:  # what the command inherits
            for name, value in (elsewhere | env).items():
                patched.setenv(name, value)
            url, process = start_service(index, config, tmp_path / "server.log", extra=extra)
        try:
            reply = httpx.post(
                url + "/v1/search", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            assert reply.status_code == 200
        finally:
            process.terminate()
            process.wait(timeout=60)
    assert [e.purpose for e in identmatch.AuditLog.read(index)].count("case 11") == 2
    assert len(seals.read_text(encoding="ascii").splitlines()) == 2  # one at each stop
    checked = verify(index, "--audit-key-file", str(moved), "--against", str(seals))
    assert checked.returncode == 0, checked.stdout


def test_refusal_counts_wait_for_their_minute_and_are_bounded(
    index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """F7: counts are written once their minute is over, one entry per address, and past the
    address cap the rest share one entry (a real trail; the clock is the test's)."""
    import asyncio

    from identmatch._service import refusals

    monkeypatch.setattr(refusals, "MAX_ADDRESSES", 3)
    now = [29_000_000 * 60.0 + 5]
    with identmatch.Index.open(index) as opened:
        log = identmatch.AuditLog(opened)
        counted = refusals.Refusals(log, clock=lambda: now[0])

        async def flood() -> None:
            for n in range(10):
                client = (f"10.0.0.{n % 5}", 40000 + n)
                scope = {"method": "GET", "path": "/v1/export", "client": client}
                await counted.record(scope, "-", 401)

        asyncio.run(flood())
        assert counted.flush() == []  # the minute is not over
        now[0] += 60
        for written in counted.flush():
            written.result()
        denied = [e for e in log.entries() if e.action == "denied"]
    assert len(denied) == 4  # three addresses and the rest
    assert sum(int(e.detail.split(" refused")[0]) for e in denied) == 10
    assert any("from other addresses" in e.detail for e in denied)
    assert all("in the minute 2025-02-19T" in e.detail for e in denied), denied[0].detail
