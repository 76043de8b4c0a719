"""The service under misuse, faults and operators: real ``identmatch serve`` on 127.0.0.1.

Each test starts its own server (on a copy of one small synthetic index) when it needs to
stop, signal or flood it; everything goes over real HTTP on loopback.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

import identmatch
from identmatch.testing import generate_records

pytestmark = pytest.mark.slow

QUERY_FIELDS = ("forename", "surname", "dob", "postcode")


@dataclass
class Server:
    url: str
    reader: str
    writer: str
    index: Path
    config: Path
    log: Path
    records: pd.DataFrame
    process: subprocess.Popen[bytes]
    keys: dict[str, str] = field(default_factory=dict)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
        return int(self.process.returncode)

    def call(self, method: str, path: str, key: str | None = "reader", **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}))
        if key is not None:
            headers["Authorization"] = f"Bearer {getattr(self, key)}"
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command() -> str:
    return str(Path(sys.executable).with_name("identmatch"))


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return generate_records(300, seed=5).drop(columns=["error_type", "hard_negative"])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, records: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("built") / "known.duckdb"
    identmatch.Index.build(records.iloc[:250], path).close()
    return path


LIMITS = "[limits]\nmax_body_bytes = 20000\nmax_batch = 5\n"


def start(
    base: Path,
    built: Path,
    records: pd.DataFrame,
    *,
    config_text: str = LIMITS,
    umask: int | None = None,
    extra: tuple[str, ...] = (),
) -> Server:
    """`identmatch serve` on a copy of ``built``, with a search key and a write key."""
    index = base / "known.duckdb"
    shutil.copyfile(built, index)
    config = base / "service.toml"
    config.write_text(config_text, encoding="utf-8")
    _, reader = identmatch.create_api_key(config, name="case-system", role="search")
    _, writer = identmatch.create_api_key(config, name="feed", role="write")
    port = free_port()
    log = base / "server.log"

    def set_umask() -> None:
        if umask is not None:
            os.umask(umask)

    with log.open("wb") as handle:
        process = subprocess.Popen(
            [
                *(command(), "serve", "--index", str(index), "--config", str(config)),
                *("--host", "127.0.0.1", "--port", str(port), *extra),
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            preexec_fn=set_umask,  # only sets the child's umask, before exec
        )
    server = Server(
        f"http://127.0.0.1:{port}", reader, writer, index, config, log, records, process
    )
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(server.url + "/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "service did not start"
        time.sleep(0.1)
    return server


@pytest.fixture
def server(tmp_path: Path, built: Path, records: pd.DataFrame) -> Iterator[Server]:
    running = start(tmp_path, built, records)
    yield running
    running.stop()


def person_of(row: pd.Series[Any]) -> dict[str, Any]:
    return {k: row[k] for k in QUERY_FIELDS if isinstance(row[k], str) and row[k]}


def known_row(records: pd.DataFrame, n: int = 3) -> pd.Series[Any]:
    frame = records.iloc[:250]
    return frame[frame["dob"].notna() & frame["surname"].notna()].iloc[n]


# ------------------------------------------------------------------------ shutdown
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_leaves_every_change_in_the_file_alone(
    tmp_path: Path, built: Path, records: pd.DataFrame, sig: int
) -> None:
    """Stopped by SIGTERM or SIGINT, the index file without its WAL holds changes and audit."""
    server = start(tmp_path, built, records)
    try:
        row = known_row(records)
        searched = server.call(
            "POST", "/v1/search", json={"purpose": "case 1", "person": person_of(row)}
        )
        assert searched.status_code == 200, searched.text
        new = {"record_id": "NEW-1", "surname": "Quatermain", "dob": "1931-12-25"}
        added = server.call("POST", "/v1/records", key="writer", json={"records": [new]})
        assert added.status_code == 200, added.text
        gone = str(records.iloc[10]["record_id"])
        removed = server.call("DELETE", f"/v1/records/{gone}", key="writer")
        assert removed.status_code == 200, removed.text
    finally:
        code = server.stop(sig)
    assert code in (0, -sig), server.log.read_text()
    assert "shut down cleanly" in server.log.read_text()
    copy = tmp_path / "copy" / "known.duckdb"
    copy.parent.mkdir()
    shutil.copyfile(server.index, copy)  # the file alone, as a backup would take it
    with identmatch.Index.open(copy, read_only=True) as opened:
        assert "NEW-1" in opened
        assert gone not in opened
    actions = [e.action for e in identmatch.AuditLog.read(copy)]
    assert actions == ["search", "add", "remove"]


# ---------------------------------------------------------------------- file modes
def test_served_index_and_its_wal_are_owner_only(
    tmp_path: Path, built: Path, records: pd.DataFrame
) -> None:
    """Served under umask 000, the index and the WAL its changes create are 0600."""
    import stat

    server = start(tmp_path, built, records, umask=0)
    try:
        new = {"record_id": "NEW-1", "surname": "Quatermain", "dob": "1931-12-25"}
        added = server.call("POST", "/v1/records", key="writer", json={"records": [new]})
        assert added.status_code == 200, added.text
        wal = server.index.with_name(server.index.name + ".wal")
        assert wal.exists()
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600
        assert stat.S_IMODE(server.index.stat().st_mode) == 0o600
    finally:
        server.stop()
    assert stat.S_IMODE(server.index.stat().st_mode) == 0o600
