"""Review over HTTP: the queue, decisions and their roles, under uvicorn on 127.0.0.1."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from click.testing import CliRunner

import identmatch
from identmatch._cli.main import cli
from identmatch._service.config import write_private
from identmatch.testing import generate_records

from _support import start_service

pytestmark = pytest.mark.slow


@dataclass
class Service:
    url: str
    keys: dict[str, str]
    index: Path
    log: Path
    records: pd.DataFrame
    process: subprocess.Popen[bytes]

    def call(self, method: str, path: str, role: str = "review", **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[role]}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    base = tmp_path_factory.mktemp("review")
    records = generate_records(700, seed=5).drop(columns=["error_type", "hard_negative"])
    index = base / "known.duckdb"
    identmatch.Index.build(records.iloc[:600], index).close()
    config = base / "service.toml"
    config.write_text("", encoding="utf-8")
    keys = {
        role: identmatch.create_api_key(config, name=role, role=role)[1]  # type: ignore[arg-type]
        for role in ("search", "review", "write", "audit")
    }
    # Review keys with budgets of their own, set per key in the config.
    key, keys["tight"] = identmatch.create_api_key(config, name="tight", role="review")
    key2, keys["guesser"] = identmatch.create_api_key(config, name="guesser", role="search")
    loaded = identmatch.ServiceConfig.load(config)
    budgets = {
        key.id: {"decisions_per_minute": 2, "lookups_per_minute": 5},
        key2.id: {"lookups_per_minute": 25},
    }
    own = tuple(k.model_copy(update=budgets.get(k.id, {})) for k in loaded.keys)
    write_private(config, loaded.model_copy(update={"keys": own}).to_toml())
    url, process = start_service(index, config, base / "server.log")
    running = Service(url, keys, index, base / "server.log", records, process)
    yield running
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


QUERY_FIELDS = ("forename", "surname", "dob", "postcode", "nhs_number")


def shown_by_search(service: Service, record_id: str, role: str = "review") -> set[str]:
    """Search (as ``role``) for the person of ``record_id``; the record ids the reply shows."""
    row = service.records[service.records["record_id"] == record_id].iloc[0]
    person = {k: row[k] for k in QUERY_FIELDS if isinstance(row[k], str) and row[k]}
    reply = service.call("POST", "/v1/search", role, json={"purpose": "review", "person": person})
    assert reply.status_code == 200, reply.text
    result = reply.json()["results"][0]
    return {r["record_id"] for hit in result["hits"] + result["weak"] for r in hit["records"]}


def test_roles(service: Service) -> None:
    """The queue and decisions need review or write; search and audit keys get 403."""
    for role, status in (("search", 403), ("audit", 403), ("review", 200), ("write", 200)):
        reply = service.call("GET", "/v1/review/queue", role, params={"purpose": "weekly review"})
        assert reply.status_code == status, (role, reply.text)
    body = {"record_ids": ["a", "b"], "decision": "unsure", "reason": "r", "purpose": "p 1"}
    assert service.call("POST", "/v1/decisions", "search", json=body).status_code == 403
    # A review key searches, but does not add.
    person = {"purpose": "case", "person": {"surname": "Smith"}}
    assert service.call("POST", "/v1/search", "review", json=person).status_code == 200
    record = {"records": [{"record_id": "X-1", "surname": "Smith"}]}
    assert service.call("POST", "/v1/records", "review", json=record).status_code == 403


def test_queue_needs_a_purpose_and_shows_evidence(service: Service) -> None:
    assert service.call("GET", "/v1/review/queue").status_code == 422
    reply = service.call("GET", "/v1/review/queue", params={"purpose": "weekly", "limit": 5})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert 0 < len(body["pairs"]) <= 5
    pair = body["pairs"][0]
    assert pair["explanation"]["contributions"]
    assert [r["record_id"] for r in pair["records"]] == pair["record_ids"]
    assert body["audit_id"] > 0
    # The queue shows the pair's records; it does not open their entities to the key
    # (only the key's own searches do).
    shown = service.call(
        "GET", f"/v1/entities/{pair['entity_ids'][0]}", params={"purpose": "weekly"}
    )
    assert shown.status_code == 403, shown.text


def test_different_splits_the_entity_and_holds_against_an_add(service: Service) -> None:
    """POST a "different" about two records of one entity: split at once; a new record
    matching both then joins one side only; a contradicting "same" is 409."""
    exported = service.call("GET", "/v1/export", "write", params={"purpose": "check"}).json()
    frame = pd.DataFrame(exported["records"])
    sizes = frame.groupby("entity_id")["record_id"].transform("size")
    group = frame[sizes >= 3].groupby("entity_id")["record_id"].apply(list).iloc[0]
    a, b = group[0], group[1]
    body = {"record_ids": [a, b], "decision": "different", "reason": "brothers", "purpose": "rv 1"}
    # Not shown to the review key yet: refused, whether the records exist or not.
    assert service.call("POST", "/v1/decisions", json=body).status_code == 403
    assert set(group) <= shown_by_search(service, a)
    reply = service.call("POST", "/v1/decisions", json=body)
    assert reply.status_code == 200, reply.text
    decided = reply.json()
    assert decided["entity_ids"][0] != decided["entity_ids"][1]
    assert decided["split"]
    # A copy of b's record (it matches a too) is added through the API.
    row = service.records[service.records["record_id"] == b].iloc[0]
    fields = ("forename", "surname", "dob", "postcode", "nhs_number")
    copy = {k: row[k] for k in fields if isinstance(row[k], str) and row[k]}
    added = service.call(
        "POST", "/v1/records", "write", json={"records": [{"record_id": "COPY-B", **copy}]}
    )
    assert added.status_code == 200, added.text
    after = pd.DataFrame(
        service.call("GET", "/v1/export", "write", params={"purpose": "check"}).json()["records"]
    )
    entity = dict(zip(after["record_id"], after["entity_id"], strict=True))
    assert entity[a] != entity[b]
    again = {"record_ids": [a, b], "decision": "same", "reason": "no", "purpose": "rv 2"}
    third = next(r for r in group if r not in (a, b) and entity[r] == entity[a])
    contradicting = {**again, "record_ids": [third, b]}
    assert service.call("POST", "/v1/decisions", json=contradicting).status_code == 409


def entities_now(service: Service) -> dict[str, str]:
    exported = service.call("GET", "/v1/export", "write", params={"purpose": "check"}).json()
    return {r["record_id"]: r["entity_id"] for r in exported["records"]}


_UNDO = {"record_ids": ["a", "b"], "reason": "r", "purpose": "ppp"}


def test_undo_puts_a_split_and_a_merge_back(service: Service) -> None:
    """Undo a "different" that split an entity: its parts rejoin under the old id. Undo a
    "same" that merged two entities: they come apart again. Each undo is an "unsure" about
    the pair naming the decision undone; only the decision still in force can be undone."""
    before = entities_now(service)
    members = pd.Series(before).groupby(pd.Series(before)).groups
    known = set(service.records["record_id"])
    group = next(sorted(ids) for ids in members.values() if len(ids) >= 3 and set(ids) <= known)
    a, b = group[0], group[-1]
    assert {a, b} <= shown_by_search(service, a)  # a decision (and its undo) needs them shown
    body = {"record_ids": [a, b], "decision": "different", "reason": "looked", "purpose": "rv 3"}
    decided = service.call("POST", "/v1/decisions", json=body).json()
    assert decided["split"]
    undo = {"record_ids": [a, b], "reason": "clicked the wrong button", "purpose": "rv 3"}
    reply = service.call("POST", f"/v1/decisions/{decided['decision_id']}/undo", json=undo)
    assert reply.status_code == 200, reply.text
    undone = reply.json()
    assert undone["decision"] == "unsure"
    assert undone["decision_id"] > decided["decision_id"]
    assert undone["entity_ids"] == [before[a], before[a]]
    assert {m["record_id"] for m in undone["split"]} == {m["record_id"] for m in decided["split"]}
    after = entities_now(service)
    assert {r: after[r] for r in group} == {r: before[r] for r in group}
    # It no longer holds, so it cannot be undone twice; the reversing row says what it undid.
    again = service.call("POST", f"/v1/decisions/{decided['decision_id']}/undo", json=undo)
    assert again.status_code == 409
    assert "no longer holds" in again.json()["detail"]
    held = service.call("GET", "/v1/decisions", params={"purpose": "check"}).json()["decisions"]
    latest = [d for d in held if {d["record_id_l"], d["record_id_r"]} == {a, b}][-1]
    assert latest["decision"] == "unsure"
    assert latest["reason"] == f"undoes decision {decided['decision_id']}: clicked the wrong button"

    # A "same" joining two entities, undone: apart again.
    queue = service.call("GET", "/v1/review/queue", params={"purpose": "rv 4"}).json()
    pair = next(p for p in queue["pairs"] if p["entity_ids"][0] != p["entity_ids"][1])
    c, d = pair["record_ids"]
    body = {"record_ids": [c, d], "decision": "same", "reason": "one person", "purpose": "rv 4"}
    merged = service.call("POST", "/v1/decisions", json=body).json()
    assert merged["entity_ids"][0] == merged["entity_ids"][1]
    # Naming records (shown) the decision is not about: no such decision about them.
    path = f"/v1/decisions/{merged['decision_id']}/undo"
    assert service.call("POST", path, json=undo).status_code == 404
    still = entities_now(service)
    assert still[c] == still[d]  # the refused undo changed nothing
    reply = service.call("POST", path, json={**undo, "record_ids": [c, d]})
    assert reply.status_code == 200, reply.text
    apart = reply.json()["entity_ids"]
    assert apart[0] != apart[1]
    now = entities_now(service)
    assert now[c] != now[d]


@pytest.mark.parametrize(
    ("role", "path", "body", "status"),
    [
        ("search", "/v1/decisions/1/undo", {**_UNDO, "record_ids": ["a", "b"]}, 403),
        # Records the key was never shown: refused before the decision is looked up.
        ("review", "/v1/decisions/999999/undo", {**_UNDO, "record_ids": ["a", "b"]}, 403),
        ("review", "/v1/decisions/1/undo", {"reason": "r", "purpose": "ppp"}, 422),
        ("review", "/v1/decisions/1/undo", {**_UNDO, "reason": ""}, 422),
        ("review", "/v1/decisions/1/undo", {"record_ids": ["a", "b"], "reason": "r"}, 422),
        ("review", "/v1/decisions/0/undo", _UNDO, 422),
    ],
)
def test_bad_undos(
    service: Service, role: str, path: str, body: dict[str, Any], status: int
) -> None:
    reply = service.call("POST", path, role, json=body)
    assert reply.status_code == status, reply.text


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"record_ids": ["a"], "decision": "same", "reason": "r", "purpose": "ppp"}, 422),
        ({"record_ids": ["a", "a"], "decision": "same", "reason": "r", "purpose": "ppp"}, 422),
        ({"record_ids": ["a", "b"], "decision": "maybe", "reason": "r", "purpose": "ppp"}, 422),
        ({"record_ids": ["a", "b"], "decision": "same", "reason": "", "purpose": "ppp"}, 422),
        ({"record_ids": ["a", "b"], "decision": "same", "reason": "r"}, 422),
        (
            {
                "record_ids": ["NOPE-1", "NOPE-2"],
                "decision": "same",
                "reason": "r",
                "purpose": "ppp",
            },
            403,
        ),
    ],
)
def test_bad_decisions(service: Service, body: dict[str, Any], status: int) -> None:
    reply = service.call("POST", "/v1/decisions", json=body)
    assert reply.status_code == status, reply.text


def test_a_review_key_cannot_walk_the_index_with_decisions(service: Service) -> None:
    """F2: 'unsure' on pairs of ids the key was never shown is refused (403) and reveals no
    entity; no decision is stored; the queue's entities and weak candidates stay unreadable;
    a decision on records the key's own search showed is accepted."""
    exported = service.call("GET", "/v1/export", "write", params={"purpose": "check"}).json()
    ids = [r["record_id"] for r in exported["records"]]
    before = service.call("GET", "/v1/decisions", "write", params={"purpose": "count"}).json()
    walked = [
        service.call(
            "POST",
            "/v1/decisions",
            json={
                "record_ids": [ids[i], ids[i + 300]],
                "decision": "unsure",
                "reason": "walk",
                "purpose": "walk the index",
            },
        )
        for i in range(0, 60, 2)
    ]
    assert {r.status_code for r in walked} == {403}
    assert all(r.json() == {"detail": "forbidden"} for r in walked)
    after = service.call("GET", "/v1/decisions", "write", params={"purpose": "count"}).json()
    assert len(after["decisions"]) == len(before["decisions"])
    # A weak candidate of the key's own search is shown, not opened.
    row = service.records.iloc[1]
    person = {"forename": "Zed", "surname": row["surname"], "dob": row["dob"]}
    found = service.call("POST", "/v1/search", json={"purpose": "case 4", "person": person})
    result = found.json()["results"][0]
    assert result["weak"]
    for weak in result["weak"]:
        # It carries the record that scored best, not the person's every record.
        assert [r["record_id"] for r in weak["records"]] == [weak["best_record_id"]]
        read = service.call(
            "GET", f"/v1/entities/{weak['entity_id']}", params={"purpose": "case 4"}
        )
        assert read.status_code == 403
    for hit in result["hits"]:
        read = service.call("GET", f"/v1/entities/{hit['entity_id']}", params={"purpose": "case 4"})
        assert read.status_code == 200
    # Records its own search showed may be decided on.
    shown = sorted(shown_by_search(service, str(service.records.iloc[20]["record_id"])))
    assert len(shown) >= 2
    ok = {"record_ids": shown[:2], "decision": "unsure", "reason": "r", "purpose": "review 5"}
    assert service.call("POST", "/v1/decisions", json=ok).status_code == 200


def test_budgets_are_per_key_from_the_config(service: Service) -> None:
    """A key's own decisions and lookups budgets (set in its [[keys]] entry) hold: 429 with
    Retry-After past them, while other keys go on; the log says so once, without values."""
    shown = sorted(shown_by_search(service, str(service.records.iloc[30]["record_id"]), "tight"))
    assert len(shown) >= 2
    body = {"record_ids": shown[:2], "decision": "unsure", "reason": "r", "purpose": "review 6"}
    replies = [service.call("POST", "/v1/decisions", "tight", json=body) for _ in range(3)]
    assert [r.status_code for r in replies] == [200, 200, 429]
    assert int(replies[2].headers["retry-after"]) >= 1
    searches = [
        service.call("POST", "/v1/search", "tight", json={"purpose": "case 7", "person": p})
        for p in [{"surname": "Nobody"}] * 5
    ]
    assert [r.status_code for r in searches] == [200, 200, 200, 200, 429]  # 1 + 4 of 5
    # Another key, shown the same records, goes on.
    assert set(shown[:2]) <= shown_by_search(service, str(service.records.iloc[30]["record_id"]))
    assert service.call("POST", "/v1/decisions", json=body).status_code == 200
    log = service.log.read_text(encoding="utf-8")
    tight = next(
        k.id
        for k in identmatch.ServiceConfig.load(service.index.with_name("service.toml")).keys
        if k.name == "tight"
    )
    # One alert per spell of refusals, whichever budget ran out first.
    alerts = [line for line in log.splitlines() if f"ALERT key {tight} hit its budget" in line]
    assert len(alerts) == 1
    assert "(429 POST /v1/decisions)" in alerts[0]


def test_a_key_guessing_names_raises_an_alert(service: Service) -> None:
    """Twenty searches that find nobody: one alert line naming the key, never the names."""
    guesses = [f"Zyxqvor{chr(97 + i)}" for i in range(20)]
    for name in guesses:
        person = {"forename": "Quentin", "surname": name}
        reply = service.call(
            "POST", "/v1/search", "guesser", json={"purpose": "g 1", "person": person}
        )
        assert reply.status_code == 200
        assert not reply.json()["results"][0]["hits"]
    log = service.log.read_text(encoding="utf-8")
    alerts = [line for line in log.splitlines() if "ALERT" in line and "found nobody" in line]
    assert len(alerts) == 1, alerts
    assert "20 of its last 20 searches found nobody" in alerts[0]
    assert not any(name in log for name in guesses)
    assert "Quentin" not in log


def test_decisions_export_through_the_service(service: Service, tmp_path: Path) -> None:
    """`identmatch decisions export --url` reads a served index's decisions."""
    out = tmp_path / "decisions.csv"
    runner = CliRunner(env={"IDENTMATCH_API_KEY": service.keys["review"]})
    result = runner.invoke(
        cli,
        ["decisions", "export", "--url", service.url, "--out", str(out), "--purpose", "rebuild"],
    )
    assert result.exit_code == 0, result.output
    found = identmatch.read_decisions(out)
    assert "brothers" in set(found.frame["reason"])
    assert set(found.frame["decided_by"]) == {
        k.id
        for k in identmatch.ServiceConfig.load(service.index.with_name("service.toml")).keys
        if k.role == "review"
    }


def test_zz_decisions_are_audited(service: Service) -> None:
    service.process.terminate()
    service.process.wait(timeout=30)
    entries = identmatch.AuditLog.read(service.index)
    decisions = [e for e in entries if e.action == "decision"]
    assert decisions
    assert all(e.purpose for e in decisions)
    assert any("different" in e.detail for e in decisions)
    assert any(e.detail.startswith("undo of decision ") for e in decisions)
    assert any(e.action == "queue" for e in entries)
    text = service.log.read_text(encoding="utf-8") + "".join(str(e) for e in entries)
    assert "brothers" not in text  # the reason stays with the decision, not in the trail
