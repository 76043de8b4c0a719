"""The service under misuse, faults and operators: real ``identmatch serve`` on 127.0.0.1.

Each test starts its own server (on a copy of one small synthetic index) when it needs to
stop, signal or flood it; everything goes over real HTTP on loopback.
"""

from __future__ import annotations

import json
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
ROOMY = (
    "lookups_per_minute = 100000\nlookups_per_day = 10000000\nentity_reads_per_hour = 100000\n"
    "decisions_per_minute = 100000\ndecisions_per_day = 10000000\n"
)
"""Budgets for tests whose traffic is not about budgets (the defaults are a case worker's)."""


def start(
    base: Path,
    built: Path,
    records: pd.DataFrame,
    *,
    config_text: str = LIMITS + ROOMY,
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
    assert actions == ["build", "search", "add", "remove"]


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


# ---------------------------------------------------------------- reads of people
def entity_ids(index: Path) -> list[str]:
    with identmatch.Index.open(index, read_only=True) as opened:
        return sorted(set(opened.export()["entity_id"].astype(str)))


def raw_request(url: str, request: bytes, *, wait: float = 5.0) -> bytes:
    """Send raw bytes on a new connection; what comes back within ``wait`` seconds."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(request)
        try:
            return sock.recv(65536)
        except TimeoutError:
            return b""


class TestReads:
    def test_entity_read_needs_a_purpose(self, server: Server) -> None:
        """An entity read without a purpose is 422, whatever the entity."""
        reply = server.call("GET", "/v1/entities/E000001")
        assert reply.status_code == 422
        assert "purpose" in reply.text

    def test_search_key_reads_only_entities_its_searches_returned(
        self, server: Server, built: Path
    ) -> None:
        """Walking the ids gets 403 for every entity but those the key's searches returned."""
        row = known_row(server.records)
        found = server.call(
            "POST", "/v1/search", json={"purpose": "case 1", "person": person_of(row)}
        )
        hits = found.json()["results"][0]["hits"]
        returned = {h["entity_id"] for h in hits}
        assert returned
        purpose = {"purpose": "case 1"}
        asked = entity_ids(built)[:40] + sorted(returned)
        walked = {e: server.call("GET", f"/v1/entities/{e}", params=purpose) for e in asked}
        for entity_id, reply in walked.items():
            if entity_id in returned:
                assert reply.status_code == 200, reply.text
            else:
                assert reply.status_code == 403, (entity_id, reply.text)
                assert reply.json() == {"detail": "forbidden"}
        top = walked[hits[0]["entity_id"]].json()
        assert row["record_id"] in [r["record_id"] for r in top["records"]]
        # The write key never searched for this person: it may not read the entity either.
        other = server.call(
            "GET", f"/v1/entities/{sorted(returned)[0]}", key="writer", params=purpose
        )
        assert other.status_code == 403
        server.stop()
        entries = identmatch.AuditLog.read(server.index)
        reader_id = next(e.key_id for e in entries if e.action == "search")
        refused = [e for e in entries if e.action == "denied"]
        # Counted per address and key per minute: one entry each (two across a minute's end).
        assert sum(int(e.detail.split(" refused")[0]) for e in refused) == (
            len(walked) - len(returned) + 1
        )
        assert {e.detail.split(": ", 1)[1].rsplit(" x", 1)[0] for e in refused} == {
            "403 GET /v1/entities/{entity_id}"
        }
        assert reader_id in {e.key_id for e in refused}
        reads = [e for e in entries if e.action == "entity"]
        assert {e.entity_ids[0] for e in reads} == returned
        assert {e.purpose for e in reads} == {"case 1"}

    def test_key_is_checked_before_the_body_is_read(self, server: Server) -> None:
        """A wrong key, or a search key writing, is refused at once, with the body unsent."""
        start = server.url.removeprefix("http://")
        for path, token, status in (
            ("/v1/search", "imk_wrong", b"401"),
            ("/v1/records", server.reader, b"403"),
        ):
            head = (
                f"POST {path} HTTP/1.1\r\nHost: {start}\r\nAuthorization: Bearer {token}\r\n"
                "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"
            ).encode()
            began = time.monotonic()
            reply = raw_request(server.url, head)
            assert reply.split(b"\r\n", 1)[0] == b"HTTP/1.1 " + status + (
                b" Unauthorized" if status == b"401" else b" Forbidden"
            ), reply
            assert time.monotonic() - began < 4  # without the check: no reply at all

    def test_lookup_budget_is_per_key_and_refusals_are_audited_once(
        self, tmp_path: Path, built: Path, records: pd.DataFrame
    ) -> None:
        """Past its lookups a key gets 429 with Retry-After; another key is unaffected."""
        config = LIMITS + "lookups_per_minute = 4\nentity_reads_per_hour = 1\n"
        server = start(tmp_path, built, records, config_text=config)
        try:
            body = {"purpose": "case 9", "person": person_of(known_row(records))}
            replies = [server.call("POST", "/v1/search", json=body) for _ in range(3)]
            assert [r.status_code for r in replies] == [200, 200, 200]
            entity = replies[0].json()["results"][0]["hits"][0]["entity_id"]
            batch = {"purpose": "case 9", "people": [body["person"]] * 2}
            refused = server.call("POST", "/v1/search", json=batch)  # 2 people, 1 lookup left
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) >= 1
            shown = server.call("GET", f"/v1/entities/{entity}", params={"purpose": "case 9"})
            assert shown.status_code == 200  # the last lookup
            again = server.call("GET", f"/v1/entities/{entity}", params={"purpose": "case 9"})
            assert again.status_code == 429
            assert server.call("POST", "/v1/search", json=body).status_code == 429
            assert server.call("POST", "/v1/search", key="writer", json=body).status_code == 200
        finally:
            server.stop()
        entries = identmatch.AuditLog.read(server.index)
        limited = [e for e in entries if e.action == "denied" and e.detail.startswith("429")]
        assert len(limited) == 1  # one entry per spell, not one per refused call
        assert [e.action for e in entries].count("search") == 4


# --------------------------------------------------------------------------- logs
def test_access_log_has_paths_without_query_strings(server: Server) -> None:
    """Names a careless client puts in a query string never reach the access log."""
    params = {"purpose": "Zebulon Quatermain 1931-12-25", "surname": "Quatermain"}
    reply = server.call("GET", "/v1/entities/E000001", params=params)
    assert reply.status_code == 403
    server.call("DELETE", "/v1/records/NOPE", key="writer", params={"purpose": "Quatermain"})
    server.stop()
    log = server.log.read_text(encoding="utf-8")
    assert '"GET /v1/entities/E000001 HTTP/1.1" 403' in log
    assert '"DELETE /v1/records/NOPE HTTP/1.1" 404' in log
    assert "Quatermain" not in log
    assert "purpose=" not in log


# --------------------------------------------------------------------- connections
CONNECTION_LIMITS = (
    LIMITS
    + ROOMY
    + (
        "header_timeout = 2.0\nbody_timeout = 2.0\nkeep_alive_timeout = 2.0\n"
        "max_connections_per_client = 40\n"
    )
)


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (EOF or reset)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


def test_idle_connections_cannot_lock_out_a_caller(
    tmp_path: Path, built: Path, records: pd.DataFrame
) -> None:
    """600 idle connections from one address: another caller is served, the idle ones closed.

    The flood comes from 127.0.0.1 and the caller from 127.0.0.2 (both loopback), as two
    client addresses would.
    """
    server = start(tmp_path, built, records, config_text=CONNECTION_LIMITS)
    port = int(server.url.rsplit(":", 1)[1])
    flood: list[socket.socket] = []
    try:
        for _ in range(600):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sock.connect(("127.0.0.1", port))
            flood.append(sock)
        caller = httpx.Client(
            transport=httpx.HTTPTransport(local_address="127.0.0.2"), base_url=server.url
        )
        with caller:
            began = time.monotonic()
            body = {"purpose": "case 1", "person": person_of(known_row(records))}
            headers = {"Authorization": f"Bearer {server.reader}"}
            for _ in range(5):
                reply = caller.post("/v1/search", json=body, headers=headers, timeout=10)
                assert reply.status_code == 200, reply.text
            assert time.monotonic() - began < 10
        # Over the per-address cap: closed as soon as accepted.
        at_once = sum(closed_within(sock, 0.01) for sock in flood[100:])
        assert at_once == 500
        # The rest are closed once the header timeout passes.
        assert all(closed_within(sock, 4.0) for sock in flood[:100])
        assert server.call("GET", "/healthz", key=None).status_code == 200
    finally:
        for sock in flood:
            sock.close()
        server.stop()


def test_slow_headers_and_slow_bodies_are_cut_off(
    tmp_path: Path, built: Path, records: pd.DataFrame
) -> None:
    """Headers or a body trickled in a byte at a time are cut off at their timeouts."""
    server = start(tmp_path, built, records, config_text=CONNECTION_LIMITS)
    port = int(server.url.rsplit(":", 1)[1])
    try:
        head = (
            f"POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
            f"{server.reader}\r\nContent-Type: application/json\r\nContent-Length: 400\r\n"
        ).encode()
        for complete, trickle in ((b"", b"X-Slow: 1\r\n"), (b"\r\n", b" ")):
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(head + complete)
                began = time.monotonic()
                cut = False
                for byte in trickle * 40:  # 40 bytes, one every 0.2 s: 8 s in all
                    try:
                        sock.sendall(bytes([byte]))
                    except (BrokenPipeError, ConnectionResetError):
                        cut = True
                        break
                    if closed_within(sock, 0.2):
                        cut = True
                        break
                assert cut
                assert 1.5 < time.monotonic() - began < 6.0  # the trickle lasts 8 s
        # Nothing half-sent was acted on: no search was audited.
        assert server.call("GET", "/healthz", key=None).status_code == 200
    finally:
        server.stop()
    assert [e.action for e in identmatch.AuditLog.read(server.index)] == ["build"]


# -------------------------------------------------------------------- audit chain
def test_served_trail_is_chained_under_the_key_file(
    tmp_path: Path, built: Path, records: pd.DataFrame
) -> None:
    """With audit_key_file set (the index's key, moved out of the key directory), every
    entry the service writes (refusals too) verifies."""
    made = identmatch.AuditLog.key_file(built)
    (tmp_path / "audit.key").write_bytes(made.read_bytes())
    (tmp_path / "audit.key").chmod(0o600)
    config = 'audit_key_file = "audit.key"\n' + LIMITS + ROOMY
    server = start(tmp_path, built, records, config_text=config)
    try:
        body = {"purpose": "case 1", "person": person_of(known_row(records))}
        assert server.call("POST", "/v1/search", json=body).status_code == 200
        assert server.call("POST", "/v1/search", key=None, json=body).status_code == 401
        new = {"record_id": "NEW-1", "surname": "Quatermain"}
        assert server.call("POST", "/v1/records", json={"records": [new]}).status_code == 403
    finally:
        server.stop()
    key = identmatch.AuditLog.read_key(tmp_path / "audit.key")
    report = identmatch.AuditLog.verify(server.index, key)
    assert report.ok, report.problems
    # The build, the search, and the refusals counted per address and key (401, 403).
    assert (report.entries, report.chained) == (4, 4)


# ------------------------------------------------------------------ operators' keys
def test_docs_are_off_unless_asked_for(server: Server) -> None:
    """Without --docs neither the OpenAPI description nor its pages are served."""
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert server.call("GET", path, key=None).status_code == 404


def test_sighup_adds_and_revokes_keys_without_a_restart(server: Server) -> None:
    """A key created, or one deleted from service.toml, takes effect on SIGHUP."""
    body = {"purpose": "case 1", "person": {"surname": "Smith"}}
    _, fresh = identmatch.create_api_key(server.config, name="new-desk", role="search")
    headers = {"Authorization": f"Bearer {fresh}"}
    assert (
        server.call("POST", "/v1/search", key=None, headers=headers, json=body).status_code == 401
    )
    reload_keys(server)
    assert (
        server.call("POST", "/v1/search", key=None, headers=headers, json=body).status_code == 200
    )
    config = identmatch.ServiceConfig.load(server.config)
    revoked = config.authenticate(server.reader)
    assert revoked is not None
    kept = tuple(k for k in config.keys if k.id != revoked.id)
    server.config.write_text(config.model_copy(update={"keys": kept}).to_toml(), "utf-8")
    reload_keys(server)
    assert server.call("POST", "/v1/search", json=body).status_code == 401
    assert server.call("POST", "/v1/search", key="writer", json=body).status_code == 200
    # An unusable file is not loaded: the running keys stay.
    server.config.write_text("[limits\n", "utf-8")
    server.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "kept the running config" not in server.log.read_text(encoding="utf-8"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert server.call("POST", "/v1/search", key="writer", json=body).status_code == 200


def test_expired_key_is_refused(server: Server) -> None:
    """A key past its expiry date gets 401 like a wrong one; one before it works."""
    body = {"purpose": "case 1", "person": {"surname": "Smith"}}
    _, old = identmatch.create_api_key(
        server.config, name="old", role="search", expires="2020-01-01"
    )
    _, new = identmatch.create_api_key(
        server.config, name="new", role="search", expires="2999-01-01T00:00:00Z"
    )
    reload_keys(server)
    for token, status in ((old, 401), (new, 200)):
        headers = {"Authorization": f"Bearer {token}"}
        reply = server.call("POST", "/v1/search", key=None, headers=headers, json=body)
        assert reply.status_code == status


def test_warns_off_loopback_without_tls_only() -> None:
    """Plain HTTP on a non-loopback address or a host name warns; loopback or TLS does not."""
    from identmatch._service.server import plain_http_off_loopback

    assert plain_http_off_loopback("0.0.0.0", tls=False)
    assert plain_http_off_loopback("192.0.2.10", tls=False)
    assert plain_http_off_loopback("::", tls=False)
    assert plain_http_off_loopback("service.example", tls=False)
    assert not plain_http_off_loopback("0.0.0.0", tls=True)
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert not plain_http_off_loopback(host, tls=False)


def test_loopback_start_does_not_warn(server: Server) -> None:
    """On 127.0.0.1 the service starts without the plain-HTTP warning."""
    server.stop()
    assert "without TLS" not in server.log.read_text(encoding="utf-8")


# ------------------------------------------------------------ reads while serving
def reload_keys(server: Server) -> None:
    """SIGHUP the server and wait until it says it reloaded its keys."""
    mark = server.log.stat().st_size
    server.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "SIGHUP: reloaded" not in server.log.read_text(encoding="utf-8")[mark:]:
        assert time.monotonic() < deadline, server.log.read_text(encoding="utf-8")
        time.sleep(0.05)


def cli(*args: str | Path, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDENTMATCH_")}
    if key is not None:
        env["IDENTMATCH_API_KEY"] = key
    return subprocess.run(
        [command(), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


def test_operators_read_a_served_index_through_the_service(server: Server) -> None:
    """While serving, the file is locked (one line, exit 2); --url reads through the service."""
    held = cli("audit", "--index", server.index)
    assert held.returncode == 2
    assert "in use by another process" in held.stderr
    _, auditor = identmatch.create_api_key(server.config, name="dpo", role="audit")
    reload_keys(server)
    row = known_row(server.records)
    found = cli(
        *("search", "--url", server.url, "--purpose", "case 11"),
        *("--surname", row["surname"], "--dob", row["dob"]),
        key=server.reader,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith("1. E")
    assert row["record_id"] in found.stdout
    out = server.index.with_name("e.csv")
    exported = cli(
        "index",
        "export",
        "--url",
        server.url,
        "--out",
        out,
        "--purpose",
        "return 12",
        key=server.writer,
    )
    assert exported.returncode == 0, exported.stderr
    assert len(pd.read_csv(out)) == 250
    refused = cli(
        "index", "export", "--url", server.url, "--out", out, "--purpose", "p 1", key=server.reader
    )
    assert refused.returncode == 2
    assert "HTTP 403: forbidden" in refused.stderr
    listed = cli("audit", "--url", server.url, "--json", key=auditor)
    assert listed.returncode == 0, listed.stderr
    entries = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(e["action"], e["purpose"]) for e in entries if e["action"] != "denied"][1:] == [
        ("search", "case 11"),
        ("export", "return 12"),
    ]
    assert cli("audit", "--url", server.url, key=server.reader).returncode == 2
    assert row["surname"] not in listed.stdout


# --------------------------------------------------------------------------- soak
SOAK_LIMITS = (
    LIMITS + ROOMY + ("header_timeout = 2.0\nbody_timeout = 2.0\nmax_connections_per_client = 40\n")
)


def test_soak_mixed_traffic_and_hostile_callers(
    tmp_path: Path, built: Path, records: pd.DataFrame
) -> None:
    """Searches, adds (updates among them) and removals, a reviewer deciding and a hostile
    reviewer walking, beside hostile callers for a few seconds, then SIGTERM.

    No reply is a 5xx, every acknowledged add and removal is in the file alone afterwards,
    every answered search is audited, and no searched or hostile value reaches the log. The
    reviewer's decisions on pairs it was shown are stored; its contradicting decision is 409
    naming the standing ones and is not stored; the walker's decisions on pairs it was never
    shown are all 403 and store nothing.
    """
    import threading

    server = start(tmp_path, built, records, config_text=SOAK_LIMITS)
    _, reviewer_key = identmatch.create_api_key(server.config, name="reviewer", role="review")
    _, walker_key = identmatch.create_api_key(server.config, name="walker", role="review")
    reload_keys(server)
    port = int(server.url.rsplit(":", 1)[1])
    spared = set(records.iloc[200:250]["record_id"].astype(str))  # the writer removes these
    stop_at = time.monotonic() + 6.0
    statuses: list[int] = []
    searched: list[int] = []
    added: list[str] = []
    removed: list[str] = []
    decided: list[int] = []
    contradiction: list[Any] = []
    trio: list[str] = []
    walked: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def legit(key: str) -> httpx.Client:
        return httpx.Client(
            transport=httpx.HTTPTransport(local_address="127.0.0.2"),
            base_url=server.url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=20,
        )

    def searcher(offset: int) -> None:
        with legit(server.reader) as client:
            n = offset
            while time.monotonic() < stop_at:
                row = known_row(records, n % 100)
                reply = client.post(
                    "/v1/search", json={"purpose": "soak", "person": person_of(row)}
                )
                with lock:
                    statuses.append(reply.status_code)
                    if reply.status_code == 200:
                        searched.append(len(reply.json()["audit_ids"]))
                n += 7

    def writer() -> None:
        with legit(server.writer) as client:
            n = 0
            spare = [str(r) for r in records.iloc[200:250]["record_id"]]
            while time.monotonic() < stop_at:
                row = records.iloc[250 + n % 50]
                record = {"record_id": f"SOAK-{n}", **person_of(row)}
                reply = client.post("/v1/records", json={"records": [record]})
                with lock:
                    statuses.append(reply.status_code)
                    if reply.status_code == 200:
                        added.append(record["record_id"])
                if spare:
                    gone = spare.pop()
                    reply = client.delete(f"/v1/records/{gone}", params={"purpose": "soak"})
                    with lock:
                        statuses.append(reply.status_code)
                        if reply.status_code == 200:
                            removed.append(gone)
                n += 1

    def reviewer() -> None:
        with legit(reviewer_key) as client:
            # Three records of one person, shown by the reviewer's own search.
            group: list[str] = []
            n = 0
            while len(group) < 3:
                reply = client.post(
                    "/v1/search",
                    json={"purpose": "soak review", "person": person_of(known_row(records, n))},
                )
                hits = reply.json()["results"][0]["hits"]
                ids = [r["record_id"] for r in hits[0]["records"]] if hits else []
                group = [r for r in ids if r not in spared and not r.startswith("SOAK")]
                n += 1
            a, b, c = group[:3]
            trio.extend(group[:3])

            def decide(pair: list[str], kind: str) -> httpx.Response:
                body = {"record_ids": pair, "decision": kind, "reason": "r", "purpose": "soak"}
                reply = client.post("/v1/decisions", json=body)
                with lock:
                    statuses.append(reply.status_code)
                return reply

            for pair in ([a, b], [b, c]):
                reply = decide(pair, "same")
                assert reply.status_code == 200, reply.text
                decided.append(reply.json()["decision_id"])
            contradiction.append(decide([a, c], "different"))
            while time.monotonic() < stop_at:  # the queue's pairs, then nothing more to do
                queue = client.get("/v1/review/queue", params={"purpose": "soak", "limit": 3})
                for pair in queue.json()["pairs"]:
                    reply = decide(pair["record_ids"], "unsure")
                    if reply.status_code == 200:
                        decided.append(reply.json()["decision_id"])
                time.sleep(0.2)

    def walker() -> None:
        with legit(walker_key) as client:
            n = 0
            while time.monotonic() < stop_at:
                pair = [
                    str(records.iloc[n % 200]["record_id"]),
                    str(records.iloc[(n + 1) % 200]["record_id"]),
                ]
                body = {"record_ids": pair, "decision": "unsure", "reason": "w", "purpose": "walk"}
                reply = client.post("/v1/decisions", json=body)
                with lock:
                    statuses.append(reply.status_code)
                    walked.append(reply.status_code)
                n += 2

    def hostile() -> None:
        idle = []
        with httpx.Client(base_url=server.url, timeout=20) as client:
            n = 0
            while time.monotonic() < stop_at:
                replies = [
                    client.post(
                        "/v1/search",
                        headers={"Authorization": "Bearer imk_guess"},
                        json={"purpose": "x", "person": {"surname": "Quatermain"}},
                    ),
                    client.post(
                        "/v1/search",
                        headers={
                            "Authorization": f"Bearer {server.reader}",
                            "Content-Type": "application/json",
                        },
                        content=b'{"purpose": "x", "person": {"surname": "Quatermain"',
                    ),
                    client.get(
                        f"/v1/entities/E{n % 300:06d}",
                        headers={"Authorization": f"Bearer {server.reader}"},
                        params={"purpose": "Quatermain walk"},
                    ),
                    client.post(
                        "/v1/records",
                        headers={"Authorization": f"Bearer {server.reader}"},
                        json={"records": [{"record_id": "EVIL-1", "surname": "Quatermain"}]},
                    ),
                    client.post(
                        "/v1/search",
                        headers={"Authorization": f"Bearer {server.reader}"},
                        json={"purpose": "Quatermain " * 3000, "person": {"surname": "Q"}},
                    ),
                ]
                if len(idle) < 100:  # from a third address; over its cap they are cut at once
                    sock = socket.socket()
                    idle.append(sock)
                    try:
                        sock.bind(("127.0.0.3", 0))
                        sock.connect(("127.0.0.1", port))
                        sock.sendall(b"POST /v1/search HTTP/1.1\r\nHost: x\r\n")  # unfinished
                    except OSError:
                        pass
                with lock:
                    statuses.extend(r.status_code for r in replies)
                n += 1
        for sock in idle:
            sock.close()

    def guarded(target: Any, *args: Any) -> threading.Thread:
        def run() -> None:
            try:
                target(*args)
            except Exception as exc:  # a transport error is a finding too
                with lock:
                    failures.append(f"{target.__name__}: {type(exc).__name__}: {exc}")

        return threading.Thread(target=run)

    threads = [guarded(searcher, i) for i in range(3)] + [
        guarded(target) for target in (writer, hostile, reviewer, walker)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        code = server.stop()
    assert not failures, failures
    assert code in (0, -signal.SIGTERM)
    assert statuses
    assert not [s for s in statuses if s >= 500]
    assert {401, 403, 413, 422} <= set(statuses)
    assert searched
    assert added
    assert removed
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(server.index, copy)  # the file alone
    with identmatch.Index.open(copy, read_only=True) as opened:
        assert all(record_id in opened for record_id in added)
        assert not any(record_id in opened for record_id in removed)
        assert "EVIL-1" not in opened
        stored = opened.decisions().frame
        entity = dict(
            zip(*(opened.export()[c].astype(str) for c in ("record_id", "entity_id")), strict=True)
        )
    refused = contradiction[0]
    assert refused.status_code == 409, refused.text
    assert refused.json()["decision_ids"] == decided[:2]
    assert len(stored) == len(decided)  # the reviewer's, each once; none of the walker's
    assert "different" not in set(stored["decision"])
    a, b, c = trio
    assert entity[a] == entity[b] == entity[c]  # the 'same' decisions hold, B and C together
    assert walked
    assert set(walked) == {403}
    entries = identmatch.AuditLog.read(copy)
    assert sum(e.action == "search" and e.purpose == "soak" for e in entries) == sum(searched)
    assert sum(e.action == "add" for e in entries) == len(added)
    assert sum(e.action == "remove" for e in entries) == len(removed)
    log = server.log.read_text(encoding="utf-8")
    assert "Quatermain" not in log
    for row in (known_row(records, n) for n in range(0, 100, 7)):
        assert str(row["surname"]) not in log
