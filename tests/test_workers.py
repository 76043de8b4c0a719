"""Search worker processes: ``identmatch serve --workers N`` over real HTTP on 127.0.0.1.

Workers hold copies of the index in memory and answer searches; the service process keeps
the file, the keys and the audit trail. They must answer exactly as the service process does,
see every write before the write's reply is sent, survive being killed mid-traffic without a
failed request, and never outlive the service.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

import identmatch
from identmatch._service.workers import worker_environment
from test_server_hardening import LIMITS, Server, built, person_of, records, start  # noqa: F401

pytestmark = pytest.mark.slow

WORKERS = ("--workers", "2")
BUSY = LIMITS + "lookups_per_minute = 100000\nlookups_per_day = 10000000\n"
"""The test's own traffic is one key from one address: lift the key's lookup budget."""


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (its search workers)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(c) for c in text]
    return found


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def workers_ready(server: Server, n: int, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        reply = httpx.get(server.url + "/readyz")
        if reply.status_code == 200 and reply.json().get("workers") == n:
            return
        time.sleep(0.1)
    raise AssertionError(f"{n} workers were not ready: {server.log.read_text()[-2000:]}")


@pytest.fixture
def served(tmp_path: Path, built: Path, records: pd.DataFrame) -> Iterator[Server]:  # noqa: F811
    running = start(tmp_path, built, records, config_text=BUSY, extra=WORKERS)
    workers_ready(running, 2)
    yield running
    running.stop()


def search(server: Server, person: dict[str, Any], key: str = "reader") -> dict[str, Any]:
    reply = server.call("POST", "/v1/search", key, json={"person": person, "purpose": "check"})
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def test_workers_answer_as_the_service_process_does(
    tmp_path: Path,
    built: Path,  # noqa: F811
    records: pd.DataFrame,  # noqa: F811
) -> None:
    """Byte for byte the same results, from the workers' CPU, each search audited."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    alone = start(tmp_path / "one", built, records)
    pooled = start(tmp_path / "two", built, records, extra=WORKERS)
    try:
        workers_ready(pooled, 2)
        pids = children(pooled.process.pid)
        assert len(pids) == 2
        before = sum(cpu_seconds(p) for p in pids)
        people = [person_of(row) for _, row in records.iloc[:300:3].iterrows()]
        people += [{"forename": "Nobody", "surname": "Atall", "dob": "1901-01-01"}]
        for person in people:
            one = alone.call("POST", "/v1/search", json={"person": person, "purpose": "check"})
            two = pooled.call("POST", "/v1/search", json={"person": person, "purpose": "check"})
            assert one.status_code == two.status_code == 200
            assert one.content == two.content  # the same audit ids too: same index, same calls
        assert sum(cpu_seconds(p) for p in pids) > before  # the workers did the searching
        many = {"people": people[:5], "purpose": "check", "top": 3}
        one, two = (s.call("POST", "/v1/search", json=many) for s in (alone, pooled))
        assert one.content == two.content
    finally:
        stopped(alone)
        stopped(pooled)
    actions = [e.action for e in identmatch.AuditLog.read(pooled.index)]
    assert actions == ["build"] + ["search"] * (len(people) + 5)


def test_a_write_is_seen_by_the_next_search(served: Server, records: pd.DataFrame) -> None:  # noqa: F811
    """Adds, updates and removals reach every worker before the write's reply is sent."""
    for n, row in enumerate(records.iloc[250:262].itertuples()):
        person = person_of(pd.Series(row._asdict()))
        record = {"record_id": f"new-{n}", **person}
        added = served.call(
            "POST", "/v1/records", "writer", json={"records": [record], "purpose": "feed"}
        )
        assert added.status_code == 200, added.text
        entity = added.json()["records"][0]["entity_id"]
        for _ in range(4):  # both workers, in turn
            hits = search(served, person)["results"][0]["hits"]
            assert entity in [h["entity_id"] for h in hits]
            found = [r["record_id"] for h in hits for r in h["records"]]
            assert record["record_id"] in found
        removed = served.call(
            "DELETE", f"/v1/records/new-{n}", "writer", params={"purpose": "retention"}
        )
        assert removed.status_code == 200
        for _ in range(4):
            hits = search(served, person)["results"][0]["hits"]
            assert record["record_id"] not in [r["record_id"] for h in hits for r in h["records"]]


def test_a_worker_killed_mid_traffic_fails_no_search(served: Server, records: pd.DataFrame) -> None:  # noqa: F811
    people = [person_of(row) for _, row in records.iloc[:200].iterrows()]
    statuses: list[int] = []
    stop = threading.Event()

    def traffic(offset: int) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {served.reader}"}) as client:
            i = offset
            while not stop.is_set():
                body = {"person": people[i % len(people)], "purpose": "check"}
                statuses.append(client.post(served.url + "/v1/search", json=body).status_code)
                i += 4

    threads = [threading.Thread(target=traffic, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        victim = children(served.process.pid)[0]
        os.kill(victim, signal.SIGKILL)
        time.sleep(1.0)
        workers_ready(served, 2)  # another was started
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert victim not in children(served.process.pid)
    assert len(statuses) > 50
    assert set(statuses) == {200}
    assert "ended (exit code -9); starting another" in served.log.read_text()


def test_stopping_the_service_stops_its_workers(
    tmp_path: Path,
    built: Path,  # noqa: F811
    records: pd.DataFrame,  # noqa: F811
) -> None:
    """SIGTERM: workers stopped, the index checkpointed; a killed service's workers end too."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    server = start(tmp_path / "a", built, records, extra=WORKERS)
    workers_ready(server, 2)
    pids = children(server.process.pid)
    search(server, person_of(records.iloc[3]))
    stopped(server)
    assert not [p for p in pids if Path(f"/proc/{p}").exists() and not _zombie(p)]
    assert [e.action for e in identmatch.AuditLog.read(server.index)] == ["build", "search"]

    killed = start(tmp_path / "b", built, records, extra=WORKERS)
    workers_ready(killed, 2)
    pids = children(killed.process.pid)
    killed.stop(signal.SIGKILL)
    deadline = time.monotonic() + 20
    while [p for p in pids if Path(f"/proc/{p}").exists() and not _zombie(p)]:
        assert time.monotonic() < deadline, "a worker outlived its service"
        time.sleep(0.1)


def stopped(server: Server) -> None:
    """Stop with SIGTERM; it must shut down cleanly (uvicorn re-raises the signal at exit)."""
    assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert "shut down cleanly" in server.log.read_text()


def _zombie(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def test_a_worker_is_started_without_the_index_key() -> None:
    given = {"PATH": "/usr/bin", "IDENTMATCH_INDEX_KEY": "k", "IDENTMATCH_INDEX_KEY_FILE": "/k"}
    assert worker_environment(given) == {"PATH": "/usr/bin"}


def test_a_worker_holds_no_api_key(served: Server) -> None:
    """Its command line names the module and its pipe; no key reaches it."""
    for pid in children(served.process.pid):
        environment = Path(f"/proc/{pid}/environ").read_bytes()
        assert served.reader.encode() not in environment
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert b"identmatch._service.workers" in command
        assert served.reader.encode() not in b" ".join(command)


def test_readyz_counts_ready_workers(served: Server) -> None:
    assert json.loads(httpx.get(served.url + "/readyz").content) == {
        "status": "ready",
        "workers": 2,
    }


def test_a_frozen_worker_is_answered_for_not_counted_ready_and_restarted(
    tmp_path: Path,
    built: Path,  # noqa: F811
    records: pd.DataFrame,  # noqa: F811
) -> None:
    """Both workers stopped (SIGSTOP): each search is still answered, by the service process,
    within the deadline; /readyz stops counting them; they are killed and started again."""
    config = BUSY + "worker_deadline = 1.0\n"
    server = start(tmp_path, built, records, config_text=config, extra=WORKERS)
    try:
        workers_ready(server, 2)
        frozen = children(server.process.pid)
        person = person_of(records.iloc[7])
        expected = search(server, person)["results"]
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        for _ in range(4):
            began = time.monotonic()
            assert search(server, person)["results"] == expected
            assert time.monotonic() - began < 1.0 + 1.0  # the deadline, and the search itself
        deadline = time.monotonic() + 3.0  # a liveness check every half deadline
        while httpx.get(server.url + "/readyz").json()["workers"] != 0:
            assert time.monotonic() < deadline, "a stopped worker is still counted ready"
            time.sleep(0.05)
        workers_ready(server, 2)  # killed, and others started
        assert not set(frozen) & set(children(server.process.pid))
        assert all(_zombie(pid) for pid in frozen)
        assert search(server, person)["results"] == expected
        log = server.log.read_text()
        assert "did not answer a search within 1.0 s; stopping it" in log or (
            "did not answer a liveness check within 1.0 s; stopping it" in log
        )
        assert "ended (exit code -9); starting another" in log
    finally:
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        stopped(server)
