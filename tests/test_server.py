"""The HTTP service end to end: ``identmatch serve`` under uvicorn on 127.0.0.1, over real HTTP.

One server for the module (a small synthetic index, no training): search, add, update,
delete, entity, auth and role failures, limits, malformed input, an OpenAPI fuzz, and last
the audit trail and the server's log, read after the server stops.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import schemathesis
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error

import identmatch
from identmatch._cli.main import cli
from identmatch.testing import generate_records

pytestmark = pytest.mark.slow

QUERY_FIELDS = ("forename", "surname", "dob", "postcode")


@dataclass
class Server:
    url: str
    reader: str
    writer: str
    index: Path
    log: Path
    records: pd.DataFrame
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`identmatch serve` on a 600-record index, with a search key and a write key."""
    base = tmp_path_factory.mktemp("service")
    records = generate_records(700, seed=5).drop(columns=["error_type", "hard_negative"])
    index = base / "known.duckdb"
    identmatch.Index.build(records.iloc[:600], index).close()
    config = base / "service.toml"
    # The module's traffic is two keys from one address: room beyond a case worker's day.
    config.write_text(
        "[limits]\nmax_body_bytes = 20000\nmax_batch = 5\nlookups_per_minute = 100000\n"
        "lookups_per_day = 1000000\nentity_reads_per_hour = 100000\n",
        encoding="utf-8",
    )
    _, reader = identmatch.create_api_key(config, name="case-system", role="search")
    _, writer = identmatch.create_api_key(config, name="feed", role="write")
    port = _free_port()
    log = base / "server.log"
    command = Path(sys.executable).with_name("identmatch")
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [
                *(str(command), "serve", "--index", str(index), "--config", str(config)),
                *("--host", "127.0.0.1", "--port", str(port), "--docs"),
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    running = Server(f"http://127.0.0.1:{port}", reader, writer, index, log, records, process)
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(running.url + "/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "service did not start"
        time.sleep(0.2)
    yield running
    running.stop()


def call(server: Server, method: str, path: str, key: str | None = "reader", **kw: Any) -> Any:
    headers = dict(kw.pop("headers", {}))
    if key is not None:
        headers["Authorization"] = f"Bearer {getattr(server, key)}"
    return httpx.request(method, server.url + path, headers=headers, timeout=30, **kw)


def person_of(row: pd.Series[Any]) -> dict[str, Any]:
    return {k: row[k] for k in QUERY_FIELDS if isinstance(row[k], str) and row[k]}


def known_row(server: Server) -> pd.Series[Any]:
    frame = server.records.iloc[:600]
    return frame[frame["dob"].notna() & frame["surname"].notna()].iloc[3]


class TestHealth:
    def test_health_needs_no_key(self, server: Server) -> None:
        """/healthz and /readyz answer without a key."""
        assert call(server, "GET", "/healthz", key=None).json() == {"status": "ok"}
        assert call(server, "GET", "/readyz", key=None).json() == {"status": "ready"}

    def test_openapi_describes_the_api(self, server: Server) -> None:
        """The OpenAPI description lists every route and the bearer scheme."""
        spec = call(server, "GET", "/openapi.json", key=None).json()
        assert {"/v1/search", "/v1/records", "/v1/records/{record_id}"} <= set(spec["paths"])
        assert "/v1/entities/{entity_id}" in spec["paths"]
        assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


class TestSearch:
    def test_known_person_is_found_with_explanation(self, server: Server) -> None:
        """A person in the index comes back first, with a verdict, explanation and records."""
        row = known_row(server)
        reply = call(
            server, "POST", "/v1/search", json={"purpose": "case 1", "person": person_of(row)}
        )
        assert reply.status_code == 200, reply.text
        body = reply.json()
        hits = body["results"][0]["hits"]
        assert hits[0]["verdict"] == "match"
        assert row["record_id"] in [r["record_id"] for r in hits[0]["records"]]
        assert hits[0]["explanation"]["contributions"]
        assert len(body["audit_ids"]) == 1

    def test_batch_keeps_the_order(self, server: Server) -> None:
        """A batch returns one result per person, in order; an unknown one has no hits."""
        row = known_row(server)
        nobody = {"forename": "Zebulon", "surname": "Quatermain", "dob": "1931-12-25"}
        reply = call(
            server,
            "POST",
            "/v1/search",
            json={"purpose": "case 2", "people": [nobody, person_of(row)], "top": 2},
        )
        assert reply.status_code == 200, reply.text
        results = reply.json()["results"]
        assert results[0]["hits"] == []
        assert results[1]["hits"][0]["verdict"] == "match"
        assert len(reply.json()["audit_ids"]) == 2

    def test_sql_in_values_is_just_text(self, server: Server) -> None:
        """Values that look like SQL are searched as names and change nothing."""
        hostile = {"forename": "x'; DROP TABLE records; --", "surname": '"); DELETE FROM keys'}
        reply = call(server, "POST", "/v1/search", json={"purpose": "case 3", "person": hostile})
        assert reply.status_code == 200
        again = call(
            server,
            "POST",
            "/v1/search",
            json={"purpose": "c 4", "person": person_of(known_row(server))},
        )
        assert again.json()["results"][0]["hits"]


class TestAuth:
    @pytest.mark.parametrize(
        "header",
        [None, "Bearer wrong", "Bearer imk_", "Basic dXNlcjpwYXNz", "bearer", "imk_nothing"],
    )
    def test_missing_or_wrong_key_is_401_without_detail(
        self, server: Server, header: str | None
    ) -> None:
        """Every wrong or missing key gets the same bare 401."""
        headers = {"Authorization": header} if header is not None else {}
        body = {"purpose": "case", "person": {"surname": "Smith"}}
        reply = call(server, "POST", "/v1/search", key=None, headers=headers, json=body)
        assert reply.status_code == 401
        assert reply.json() == {"detail": "unauthorized"}

    def test_auth_is_checked_before_the_body(self, server: Server) -> None:
        """Without a key, even an invalid body gets 401, not a validation hint."""
        reply = call(server, "POST", "/v1/records", key=None, content=b"{not json")
        assert reply.status_code == 401

    def test_search_key_cannot_write(self, server: Server) -> None:
        """A search key gets 403 on adds and deletes, and nothing changes."""
        add = {"records": [{"record_id": "NEW-1", "surname": "Smith"}]}
        assert call(server, "POST", "/v1/records", json=add).status_code == 403
        delete = call(server, "DELETE", f"/v1/records/{known_row(server)['record_id']}")
        assert delete.status_code == 403
        assert delete.json() == {"detail": "forbidden"}

    def test_write_key_can_also_search(self, server: Server) -> None:
        """The write role includes search."""
        body = {"purpose": "case", "person": {"surname": "Smith"}}
        assert call(server, "POST", "/v1/search", key="writer", json=body).status_code == 200


class TestChanges:
    def test_add_update_entity_delete(self, server: Server) -> None:
        """A record is added to its person's entity, replaced, shown, then removed."""
        new = server.records.iloc[600:700]
        row = known_row(server)
        record = person_of(row) | {"record_id": "NEW-2", "source": "police"}
        reply = call(server, "POST", "/v1/records", key="writer", json={"records": [record]})
        assert reply.status_code == 200, reply.text
        outcome = reply.json()["records"][0]
        assert outcome == {
            "record_id": "NEW-2",
            "entity_id": outcome["entity_id"],
            "action": "joined",
            "replaced": False,
        }
        entity_id = outcome["entity_id"]
        again = call(server, "POST", "/v1/records", key="writer", json={"records": [record]})
        assert again.json()["records"][0]["replaced"] is True
        # The reader opens the entity once its own search has found it.
        body = {"purpose": "case 5", "person": person_of(row)}
        found = call(server, "POST", "/v1/search", json=body).json()["results"][0]["hits"]
        assert entity_id in [h["entity_id"] for h in found]
        shown = call(server, "GET", f"/v1/entities/{entity_id}", params={"purpose": "case 5"})
        assert shown.status_code == 200
        ids = [r["record_id"] for r in shown.json()["records"]]
        assert ids.count("NEW-2") == 1
        assert row["record_id"] in ids
        assert shown.json()["names"]
        gone = call(server, "DELETE", "/v1/records/NEW-2", key="writer")
        assert gone.status_code == 200
        assert gone.json()["entity_id"] == entity_id
        assert call(server, "DELETE", "/v1/records/NEW-2", key="writer").status_code == 404
        after = call(server, "GET", f"/v1/entities/{entity_id}", params={"purpose": "case 5"})
        assert "NEW-2" not in [r["record_id"] for r in after.json()["records"]]
        batch = [
            {"record_id": str(r["record_id"]), **person_of(r)} for _, r in new.head(5).iterrows()
        ]
        added = call(server, "POST", "/v1/records", key="writer", json={"records": batch})
        assert added.status_code == 200
        assert [r["record_id"] for r in added.json()["records"]] == [b["record_id"] for b in batch]

    def test_entity_and_export_give_the_date_recorded(self, server: Server) -> None:
        """A record added with the date its source recorded it gives that date (ISO) in the
        entity reply and the export; a record given without one gives none."""
        row = known_row(server)
        record = person_of(row) | {"record_id": "REC-1", "recorded": "3 March 2024"}
        reply = call(server, "POST", "/v1/records", key="writer", json={"records": [record]})
        assert reply.status_code == 200, reply.text
        entity_id = reply.json()["records"][0]["entity_id"]
        body = {"purpose": "case 6", "person": person_of(row)}
        found = call(server, "POST", "/v1/search", json=body).json()["results"][0]["hits"]
        assert entity_id in [h["entity_id"] for h in found]
        shown = call(server, "GET", f"/v1/entities/{entity_id}", params={"purpose": "case 6"})
        assert shown.status_code == 200, shown.text
        dates = {r["record_id"]: r["recorded"] for r in shown.json()["records"]}
        assert dates["REC-1"] == "2024-03-03"
        assert dates[row["record_id"]] is None
        exported = call(server, "GET", "/v1/export", key="writer", params={"purpose": "case 6"})
        assert exported.status_code == 200, exported.text
        dates = {r["record_id"]: r["recorded"] for r in exported.json()["records"]}
        assert (dates["REC-1"], dates[row["record_id"]]) == ("2024-03-03", None)
        assert call(server, "DELETE", "/v1/records/REC-1", key="writer").status_code == 200

    def test_unknown_entity_is_403_or_404(self, server: Server) -> None:
        """An id the key was never shown is 403 (existing or not); one it was, now gone, 404."""
        purpose = {"purpose": "case 8"}
        assert call(server, "GET", "/v1/entities/E999999", params=purpose).status_code == 403
        record = {"record_id": "GONE-1", "forename": "Zebulon", "surname": "Quatermain"}
        added = call(server, "POST", "/v1/records", key="writer", json={"records": [record]})
        entity_id = added.json()["records"][0]["entity_id"]
        # An add does not open the entity to the key; its own search finding it does.
        found = call(
            server,
            "POST",
            "/v1/search",
            key="writer",
            json={"purpose": "case 8", "person": {"forename": "Zebulon", "surname": "Quatermain"}},
        )
        assert entity_id in [h["entity_id"] for h in found.json()["results"][0]["hits"]]
        assert call(server, "DELETE", "/v1/records/GONE-1", key="writer").status_code == 200
        gone = call(server, "GET", f"/v1/entities/{entity_id}", key="writer", params=purpose)
        assert gone.status_code == 404


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"person": {"surname": "Smith"}}, "purpose"),
            ({"purpose": "case", "person": {"surname": "Smith", "shoe_size": "9"}}, "shoe_size"),
            ({"purpose": "case", "person": {}}, "person"),
            ({"purpose": "case"}, "body"),
            ({"purpose": "case", "person": {"surname": "x" * 201}}, "surname"),
            ({"purpose": "case", "person": {"surname": 5}}, "surname"),
            ({"purpose": "case", "person": {"surname": "Smith"}, "top": 0}, "top"),
            ({"purpose": "case", "person": {"surname": "Smith"}, "top": 21}, "top"),
            ({"purpose": "case", "people": [{"surname": "Smith"}] * 6}, "people"),
        ],
    )
    def test_invalid_search_is_422_naming_the_field(
        self, server: Server, body: dict[str, Any], field: str
    ) -> None:
        """Validation errors are 422 and name the field, without echoing the input."""
        reply = call(server, "POST", "/v1/search", json=body)
        assert reply.status_code == 422, reply.text
        detail = reply.json()["detail"]
        assert any(field in [str(p) for p in error["loc"]] for error in detail), detail
        assert all(set(error) == {"loc", "msg", "type"} for error in detail)
        assert "Smith" not in reply.text

    def test_malformed_json_is_422(self, server: Server) -> None:
        """A body that is not JSON is 422."""
        reply = call(
            server,
            "POST",
            "/v1/search",
            content=b'{"purpose": "case", "person": {',
            headers={"Content-Type": "application/json"},
        )
        assert reply.status_code == 422

    def test_oversized_body_is_413(self, server: Server) -> None:
        """A body over the configured limit is refused with 413 before it is parsed."""
        body = {"purpose": "case " + "x" * 30_000, "person": {"surname": "Smith"}}
        assert call(server, "POST", "/v1/search", json=body).status_code == 413

    def test_too_many_records_and_duplicate_ids_are_422(self, server: Server) -> None:
        """An add over the batch limit, or repeating an id, is 422."""
        many = {"records": [{"record_id": f"B{i}", "surname": "Smith"} for i in range(6)]}
        assert call(server, "POST", "/v1/records", key="writer", json=many).status_code == 422
        twice = {"records": [{"record_id": "B1", "surname": "A"}, {"record_id": "B1"}]}
        assert call(server, "POST", "/v1/records", key="writer", json=twice).status_code == 422

    @pytest.mark.parametrize("bad", ["PR-7#2", "PR 7", "PR/7", "PR-7?x=1", "PR%7", "x" * 201])
    def test_record_ids_outside_the_safe_set_are_422(self, server: Server, bad: str) -> None:
        """F8: an id with ``#`` (a URL fragment), ``/``, ``?``, ``%`` or a space, or over 200
        characters, is refused naming the field: ``DELETE /v1/records/PR-7#2`` could only
        ever reach ``PR-7``. Nothing is added, and PR-7 is still there."""
        first = {"records": [{"record_id": "PR-7", "surname": "Smith"}]}
        assert call(server, "POST", "/v1/records", key="writer", json=first).status_code == 200
        body = {"records": [{"record_id": bad, "surname": "Smith"}]}
        reply = call(server, "POST", "/v1/records", key="writer", json=body)
        assert reply.status_code == 422, reply.text
        assert ["body", "records", 0, "record_id"] in [e["loc"] for e in reply.json()["detail"]]
        decided = {"record_ids": ["PR-7", bad], "decision": "same", "reason": "r", "purpose": "p 1"}
        assert call(server, "POST", "/v1/decisions", key="writer", json=decided).status_code == 422
        if "/" not in bad and "#" not in bad and "?" not in bad:  # those end the path
            path = "/v1/records/" + httpx.URL("/" + bad).raw_path.decode()[1:]
            assert call(server, "DELETE", path, key="writer").status_code == 422
        exported = call(server, "GET", "/v1/export", key="writer", params={"purpose": "check"})
        ids = {r["record_id"] for r in exported.json()["records"]}
        assert "PR-7" in ids
        assert bad not in ids

    def test_service_keeps_working_after_bad_input(self, server: Server) -> None:
        """After all the bad requests the service still answers searches."""
        body = {"purpose": "case 6", "person": person_of(known_row(server))}
        assert call(server, "POST", "/v1/search", json=body).status_code == 200


@pytest.mark.parametrize("generation", ["positive", "negative"])
def test_fuzz_finds_no_server_error(server: Server, generation: str) -> None:
    """Requests generated from the service's own OpenAPI description never get a 5xx.

    Valid requests (positive) and requests that break the schema (negative), for every
    operation, sent with the write key over HTTP to the running server.
    """
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    mode = GenerationMode(generation)
    headers = {"Authorization": f"Bearer {server.writer}"}
    fuzzed = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=15,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: Any) -> None:
            response = case.call(base_url=server.url, headers=headers, timeout=30)
            case.validate_response(response, checks=[not_a_server_error])

        try:
            check()
        except Unsatisfiable:
            # An operation without parameters or body has no invalid form to generate.
            assert generation == "negative"
            continue
        fuzzed.append(operation.label)
    assert {"POST /v1/search", "POST /v1/records", "DELETE /v1/records/{record_id}"} <= set(fuzzed)


def test_zz_audit_trail_and_logs(server: Server) -> None:
    """After the server stops: every search and change was audited, and logs hold no names."""
    server.stop()
    runner = CliRunner()
    result = runner.invoke(cli, ["audit", "--index", str(server.index), "--json"])
    assert result.exit_code == 0, result.output
    entries = [json.loads(line) for line in result.output.splitlines()]
    searches = [e for e in entries if e["action"] == "search"]
    assert {"case 1", "case 2", "case 3"} <= {e["purpose"] for e in searches}
    assert all(len(e["fingerprint"]) == 64 for e in searches)
    first = next(e for e in searches if e["purpose"] == "case 1")
    assert first["entity_ids"]
    actions = {e["action"] for e in entries}
    assert {"search", "add", "remove", "entity"} <= actions
    assert entries[0]["action"] == "build"
    # An update is one entry: the record, the entity it left and the one it joined.
    updates = [e for e in entries if e["action"] == "add" and e["detail"] == "update: 1 replaced"]
    assert ["NEW-2"] in [e["record_ids"] for e in updates]
    assert len({e["key_id"] for e in entries[1:] if e["action"] != "denied"}) == 2
    denied = [e for e in entries if e["action"] == "denied"]  # counted per address per minute
    assert any(e["key_id"] == "-" and "401 POST /v1/search x" in e["detail"] for e in denied)
    assert any(e["key_id"] != "-" and "403 POST /v1/records x" in e["detail"] for e in denied)
    row = known_row(server)
    text = result.output + server.log.read_text(encoding="utf-8")
    for value in (row["surname"], row["forename"], row["dob"], "Quatermain", "Zebulon"):
        assert str(value) not in text


@pytest.fixture
def inprocess(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    """The app for a 60-record index, in this process, and a write key."""
    from identmatch._service.server import create_app

    index = identmatch.Index.build(generate_records(60, seed=4), tmp_path / "k.duckdb")
    _, token = identmatch.create_api_key(tmp_path / "s.toml", name="t", role="write")
    config = identmatch.ServiceConfig.load(tmp_path / "s.toml")
    yield create_app(index, config), token
    index.close()


async def _post(app: Any, token: str, body: dict[str, Any]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post(
            "/v1/search", json=body, headers={"Authorization": f"Bearer {token}"}
        )


def test_unexpected_error_is_a_bare_500_logged_without_values(
    inprocess: tuple[Any, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An error inside a route gives 500 "internal error"; the log names its class only."""
    import asyncio

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("bad value Quatermain")

    monkeypatch.setattr(identmatch.Index, "search", broken)
    body = {"purpose": "case", "person": {"surname": "Quatermain"}}
    reply = asyncio.run(_post(*inprocess, body))
    assert reply.status_code == 500
    assert reply.json() == {"detail": "internal error"}
    assert "ValueError" in caplog.text
    assert "Quatermain" not in caplog.text


def test_fast_path_replies_as_the_route_does(inprocess: tuple[Any, str]) -> None:
    """A search the fast path answers gets the reply FastAPI's route gives (audit ids aside).

    ``application/json`` is answered on the fast path; a ``+json`` media type is left to
    FastAPI, which reads it as JSON too. Both are audited.
    """
    import asyncio

    app, token = inprocess
    body = json.dumps({"purpose": "case 7", "person": {"surname": "Smith", "dob": "1980-01-01"}})

    async def calls() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [
                await client.post(
                    "/v1/search",
                    content=body,
                    headers={"Authorization": f"{scheme} {token}", "Content-Type": kind},
                )
                for scheme, kind in (
                    ("Bearer", "application/json"),
                    ("bearer", "application/json; charset=utf-8"),
                    ("Bearer", "application/x-case+json"),
                )
            ]

    replies = asyncio.run(calls())
    assert [r.status_code for r in replies] == [200, 200, 200]
    assert len({r.headers["content-type"] for r in replies}) == 1
    bodies = [r.json() for r in replies]
    ids = [b.pop("audit_ids") for b in bodies]
    assert bodies[0] == bodies[1] == bodies[2]
    assert ids[1][0] == ids[0][0] + 1
    assert ids[2][0] == ids[1][0] + 1


def test_not_ready_until_loaded_but_searches_answer(tmp_path: Path) -> None:
    """Before the index is loaded /readyz is 503 "loading"; searches are answered meanwhile."""
    import asyncio

    from identmatch._service.server import create_app

    index = identmatch.Index.build(generate_records(60, seed=4), tmp_path / "k.duckdb")
    _, token = identmatch.create_api_key(tmp_path / "s.toml", name="t", role="search")
    app = create_app(index, identmatch.ServiceConfig.load(tmp_path / "s.toml"))
    body = {"purpose": "case 1", "person": {"surname": "Smith", "dob": "1980-01-01"}}

    async def calls() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            ready = await client.get("/readyz")
            searched = await client.post(
                "/v1/search", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            return ready, searched

    try:
        assert not index.loaded
        ready, searched = asyncio.run(calls())
        assert (ready.status_code, ready.json()) == (503, {"status": "loading"})
        assert searched.status_code == 200
        assert not index.loaded  # answered from the file
        index.warm()
        ready, _ = asyncio.run(calls())
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    finally:
        index.close()
