"""The page's HTTP side under uvicorn on 127.0.0.1: its files and headers, the model and
session endpoints it reads, and the household an entity read shows. The page itself, in a
real browser, is tested in tests/test_browser.py."""

from __future__ import annotations

import html
import math
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

import identmatch
from identmatch.testing import generate_records

from _support import start_service

pytestmark = pytest.mark.slow

# A household: Dean (two records) and Kayla at one address, a neighbour at the same postcode.
_HOUSE = [
    ("H-1", "probation", "Dean", "Halvorsen", "1984-02-11", "M", "M1 1AE", "1 Quay Street"),
    ("H-2", "police", "Dean", "Halvorsen", "11/02/1984", "M", "M1 1AE", "1 Quay St"),
    ("H-3", "childrens_services", "Kayla", "Brennick", "2015-07-30", "F", "M1 1AE", "1 Quay St"),
    ("H-4", "mental_health", "Ruth", "Omondi", "1950-01-05", "F", "M1 1AE", "9 Quay Street"),
    ("H-5", "police", "Tom", "Ashgrove", "1990-03-03", "M", "LS2 7EW", "4 Park Row"),
]


@dataclass
class Service:
    url: str
    keys: dict[str, str]
    index: Path
    process: subprocess.Popen[bytes]
    entity: dict[str, str]
    """Each record's entity at the start (the served file is locked to other processes)."""
    model: identmatch.Model
    histogram: list[tuple[float, float, int]]
    threshold: float

    def call(self, method: str, path: str, role: str = "search", **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[role]}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    base = tmp_path_factory.mktemp("web")
    crowd = generate_records(400, seed=11).drop(columns=["error_type", "hard_negative"])
    columns = ["record_id", "source", "forename", "surname", "dob", "sex", "postcode", "address"]
    house = pd.DataFrame(_HOUSE, columns=columns)
    index = base / "known.duckdb"
    with identmatch.Index.build(pd.concat([crowd, house], ignore_index=True), index) as built:
        frame = built.export()
        entity = dict(
            zip(frame["record_id"].astype(str), frame["entity_id"].astype(str), strict=True)
        )
        known = (built.model, built.match_weight_histogram(), built.config.threshold)
    config = base / "service.toml"
    config.write_text('[sources]\npolice = "Police (custody records)"\n', encoding="utf-8")
    keys = {
        role: identmatch.create_api_key(config, name=role, role=role)[1]  # type: ignore[arg-type]
        for role in ("search", "review", "write", "audit")
    }
    url, process = start_service(index, config, base / "server.log")
    yield Service(url, keys, index, process, entity, *known)
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


def test_page_files_have_a_strict_policy(service: Service) -> None:
    """The page and its script and style are served without a key, from this origin only,
    under a policy that forbids inline code, other origins, framing and form submission."""
    for path, kind in (
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/app.css", "text/css"),
    ):
        reply = httpx.get(service.url + path)
        assert reply.status_code == 200, path
        assert reply.headers["content-type"].startswith(kind)
        policy = reply.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy
        assert "unsafe" not in policy
        assert "form-action 'none'" in policy
        assert "frame-ancestors 'none'" in policy
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["cache-control"] == "no-store"
        assert reply.headers["referrer-policy"] == "no-referrer"
    html = httpx.get(service.url + "/").text
    # Nothing from elsewhere, and no inline script or style for the policy to refuse.
    assert "http://" not in html
    assert "https://" not in html
    assert "<script>" not in html
    assert "style=" not in html
    assert httpx.get(service.url + "/favicon.ico").status_code == 204


def test_page_script_writes_text_only() -> None:
    """The script never turns data into markup (the browser test checks it with a hostile
    name); no eval, no HTML sinks, no storage that outlives the tab."""
    from importlib.resources import files

    script = (files("identmatch._service") / "web" / "app.js").read_text(encoding="utf-8")
    for sink in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "localStorage",
        'setTimeout("',
        "javascript:",
    ):
        assert sink not in script, sink
    assert "sessionStorage" in script


def test_api_replies_are_not_cached(service: Service) -> None:
    reply = service.call(
        "POST", "/v1/search", json={"purpose": "case 1", "person": {"surname": "Halvorsen"}}
    )
    assert reply.status_code == 200
    assert reply.headers["cache-control"] == "no-store"
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_session_names_the_key(service: Service) -> None:
    config = identmatch.ServiceConfig.load(service.index.with_name("service.toml"))
    for role in ("search", "review", "write", "audit"):
        body = service.call("GET", "/v1/session", role).json()
        key = next(k for k in config.keys if k.role == role)
        assert body == {
            "key_id": key.id,
            "name": role,
            "role": role,
            "expires": "",
            "sources": {"police": "Police (custody records)"},
        }
    assert httpx.get(service.url + "/v1/session").status_code == 401


def test_model_matches_the_index(service: Service) -> None:
    """Every level's m, u and weight and the histogram are the index's own."""
    assert service.call("GET", "/v1/model", "audit").status_code == 403
    body = service.call("GET", "/v1/model").json()
    model, histogram, threshold = service.model, service.histogram, service.threshold
    assert [c["name"] for c in body["comparisons"]] == [c.name for c in model.comparisons]
    for shown, spec in zip(body["comparisons"], model.comparisons, strict=True):
        for i, (level, kept) in enumerate(zip(shown["levels"], spec.levels, strict=True)):
            assert (level["label"], level["m"], level["u"]) == (kept.label, kept.m, kept.u)
            if kept.kind == "null":
                assert level["weight"] is None
            else:
                assert level["weight"] == pytest.approx(model.level_weight(spec.name, i))
    assert body["prior_weight"] == pytest.approx(model.prior_weight)
    assert body["threshold"] == threshold
    assert body["threshold_weight"] == pytest.approx(math.log2(threshold / (1 - threshold)))
    assert [(b["lower"], b["upper"], b["count"]) for b in body["histogram"]] == histogram
    assert sum(b["count"] for b in body["histogram"]) > 0


def test_the_page_charts_are_the_library_charts(service: Service) -> None:
    """The page's histogram and waterfall: the library's Vega-Lite charts as SVG, rendered by
    the service (no script in them, nothing fetched), readable with a search key only."""
    reply = service.call("GET", "/v1/charts/match-weights")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("image/svg+xml")
    assert reply.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in reply.headers["content-security-policy"]
    svg = reply.text
    assert svg.startswith("<svg")
    assert f"threshold {service.threshold:g}" in svg
    assert "<script" not in svg
    assert "href=" not in svg
    assert service.call("GET", "/v1/charts/match-weights", "audit").status_code == 403
    for spec in service.model.comparisons:
        reply = service.call("GET", "/v1/charts/parameters", params={"comparison": spec.name})
        assert reply.status_code == 200
        text = html.unescape(reply.text)
        for level in spec.levels:
            assert (level.label in text) == (level.kind != "null")
    assert (
        service.call("GET", "/v1/charts/parameters", params={"comparison": "x"}).status_code == 404
    )
    search = {"purpose": "case 12", "person": {"forename": "Dean", "surname": "Halvorsen"}}
    hit = service.call("POST", "/v1/search", json=search).json()["results"][0]["hits"][0]
    body = {**hit["explanation"], "start": "Starting point: one known person"}
    reply = service.call("POST", "/v1/charts/waterfall", json=body)
    assert reply.status_code == 200, reply.text
    svg = reply.text
    assert svg.startswith("<svg")
    assert "Starting point: one known person" in svg
    for contribution in hit["explanation"]["contributions"]:
        assert contribution["label"] in svg
    assert f"{hit['explanation']['match_weight']:+.2f}".replace("-", "\u2212") in svg
    # A control character would abort the renderer: refused, and the service still answers.
    control = {**body, "start": "Starting\x11point"}
    assert service.call("POST", "/v1/charts/waterfall", json=control).status_code == 422
    assert service.call("POST", "/v1/charts/waterfall", json=body).status_code == 200
    too_many = {**body, "contributions": body["contributions"] * 20}
    assert service.call("POST", "/v1/charts/waterfall", json=too_many).status_code == 422
    assert service.call("POST", "/v1/charts/waterfall", "audit", json=body).status_code == 403


def test_entity_read_shows_the_household(service: Service) -> None:
    """Kayla (same address) comes before Ruth (same postcode); Tom, elsewhere, is not there;
    the entry of the read names them, and the read does not let the key open them."""
    search = {
        "purpose": "case 77",
        "person": {"forename": "Dean", "surname": "Halvorsen", "dob": "1984-02-11"},
    }
    hits = service.call("POST", "/v1/search", json=search).json()["results"][0]["hits"]
    dean = hits[0]["entity_id"]
    assert {r["record_id"] for r in hits[0]["records"]} == {"H-1", "H-2"}
    reply = service.call("GET", f"/v1/entities/{dean}", params={"purpose": "case 77"})
    assert reply.status_code == 200, reply.text
    records = {r["record_id"]: r for r in reply.json()["records"]}
    # Where each record puts the person, as the index compares it.
    assert {r: (records[r]["postcode"], records[r]["address"]) for r in records} == {
        "H-1": ("M1 1AE", "1 quay street"),
        "H-2": ("M1 1AE", "1 quay st"),
    }
    household = reply.json()["household"]
    kayla, ruth = service.entity["H-3"], service.entity["H-4"]
    assert [(m["entity_id"], m["basis"]) for m in household[:2]] == [
        (kayla, "address"),
        (ruth, "postcode"),
    ]
    assert household[0]["name"] == "Kayla Brennick"
    assert household[0]["sources"] == ["childrens_services"]
    assert service.entity["H-5"] not in {m["entity_id"] for m in household}
    assert dean not in {m["entity_id"] for m in household}
    # Shown, not opened: the key's search did not return Kayla.
    refused = service.call("GET", f"/v1/entities/{kayla}", params={"purpose": "case 77"})
    assert refused.status_code == 403
    entries = service.call("GET", "/v1/audit", "audit").json()["entries"]
    read = next(e for e in entries if e["action"] == "entity" and e["entity_ids"][0] == dean)
    assert {kayla, ruth} <= set(read["entity_ids"])


def test_household_in_python(tmp_path: Path) -> None:
    """``Index.household`` on its own: no postcode, no household; limit is checked."""
    columns = ["record_id", "source", "forename", "surname", "dob", "sex", "postcode", "address"]
    frame = pd.DataFrame(_HOUSE, columns=columns)
    frame.loc[len(frame)] = ["H-6", "police", "Ann", "Nopost", "1970-01-01", "F", None, None]
    with identmatch.Index.build(frame, tmp_path / "i.duckdb") as index:
        out = index.export().set_index("record_id")["entity_id"]
        assert index.household(str(out["H-6"])).empty
        assert index.household(str(out["H-5"])).empty
        near = index.household(str(out["H-3"]))
        assert list(near["entity_id"]) == [out["H-1"], out["H-4"]]
        assert list(near["records"]) == [2, 1]
        with pytest.raises(identmatch.ConfigError, match="limit"):
            index.household(str(out["H-3"]), limit=0)


def test_source_labels_are_read_again_on_sighup(service: Service) -> None:
    """A label added to ``[sources]`` reaches the page on SIGHUP, like a new key."""
    path = service.index.with_name("service.toml")
    config = identmatch.ServiceConfig.load(path)
    sources = {**config.sources, "mental_health": "Mental health services"}
    path.write_text(config.model_copy(update={"sources": sources}).to_toml(), encoding="utf-8")
    service.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while service.call("GET", "/v1/session").json()["sources"] != sources:
        assert time.monotonic() < deadline, "the labels were not reloaded"
        time.sleep(0.05)
