"""The web page in a real browser: Debian's chromium driven by Playwright, against the demo
served by the installed command (`identmatch demo --serve`) on 127.0.0.1.

Skipped, with the reason, where chromium or Playwright is missing; `.ci/run` installs
chromium, so CI runs them. Screenshots of each screen go to the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import signal
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
from identmatch._synthetic.demo import demo_paths

from _support import free_port

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("IDENTMATCH_CHROMIUM") or shutil.which("chromium") or ""
if not CHROMIUM:
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium; .ci/run does it)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Demo:
    url: str
    token: str
    folder: Path
    process: subprocess.Popen[str]
    keys: dict[str, str] = field(default_factory=dict)
    people: pd.DataFrame = field(default_factory=pd.DataFrame)

    def call(self, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`identmatch demo --serve` as a user runs it: the key is read from what it prints."""
    folder = tmp_path_factory.mktemp("demo")
    port = free_port()
    command = Path(sys.executable).with_name("identmatch")
    log = (folder / "server.log").open("w")
    process = subprocess.Popen(
        [str(command), "demo", "--serve", "--dir", str(folder / "demo"), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert process.stdout is not None
    token = ""
    while not token:
        line = process.stdout.readline()
        assert line, (folder / "server.log").read_text()
        if line.startswith("imk_"):
            token = line.strip()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(url + "/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None, (folder / "server.log").read_text()
        assert time.monotonic() < deadline, "the demo service did not start"
        time.sleep(0.2)
    running = Demo(url, token, folder, process)
    # More keys for the tests, picked up by the running service on SIGHUP.
    config = folder / "demo" / "service.toml"
    for role in ("write", "audit"):
        running.keys[role] = identmatch.create_api_key(config, name=role, role=role)[1]  # type: ignore[arg-type]
    process.send_signal(signal.SIGHUP)
    while running.call("GET", "/v1/session", running.keys["audit"]).status_code != 200:
        assert time.monotonic() < deadline + 30, "the keys were not reloaded"
        time.sleep(0.1)
    adults, children = demo_paths()
    running.people = pd.concat([pd.read_csv(p, dtype=str) for p in (adults, children)])
    yield running
    process.terminate()
    process.wait(timeout=30)
    process.stdout.close()
    log.close()


@dataclass
class Browser:
    page: Any
    requests: list[str]
    problems: list[str]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium: Any, demo: Demo) -> Iterator[Browser]:
    """A fresh tab (its own session storage), watching every request and console error."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    seen = Browser(page, [], [])
    page.on("request", lambda r: seen.requests.append(r.url))
    page.on("console", lambda m: seen.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen.problems.append(str(e)))
    page.goto(demo.url + "/")
    yield seen
    context.close()
    # Nothing from anywhere but the service; no script error, no policy violation.
    assert all(u.startswith(demo.url + "/") for u in seen.requests), seen.requests
    assert not [p for p in seen.problems if "401" not in p], seen.problems


def sign_in(page: Any, token: str) -> None:
    page.get_by_role("textbox", name="API key").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Is this person known?").wait_for()


def search(page: Any, fields: dict[str, str]) -> None:
    """Fill the search form by its labels, give a purpose and search."""
    for label, value in fields.items():
        page.get_by_role("textbox", name=label, exact=True).fill(value)
    page.locator("#q-purpose").fill("case 2026-0142: new adult in household")
    page.get_by_role("button", name="Find this person").click()


def shot(page: Any, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000  # a drawn screen, not a blank one


def linked_person(demo: Demo) -> pd.Series:
    """A child's record whose person is also in the adults' file (known to two services)."""
    people = demo.people
    both = people.groupby("person_id")["source"].transform("nunique") >= 2
    return people[both & (people["source"] == "childrens_services")].iloc[0]


def test_search_shows_ranked_people_and_the_evidence(
    demo: Demo, browser: Browser, tmp_path: Path
) -> None:
    page = browser.page
    sign_in(page, demo.token)
    person = linked_person(demo)
    search(
        page,
        {
            "First name": person["forename"],
            "Last name": person["surname"],
            "Date of birth": person["dob"],
        },
    )
    first = page.locator("article.hit").first
    first.wait_for()
    expected = demo.people[demo.people["person_id"] == person["person_id"]]
    text = first.inner_text()
    assert "Same person (match)" in text or "Possibly the same person" in text
    for record_id in expected["record_id"]:
        assert record_id in text  # every record of the person, from each service
    for source in expected["source"].unique():
        assert source in text
    chart = first.locator("figure.why svg[role=img]")
    assert "bits" in chart.get_attribute("aria-label")
    assert chart.locator("rect").count() >= 3
    evidence = first.locator("ul.evidence").inner_text()
    assert "surname: the same" in evidence
    assert "evidence for one person" in evidence
    # No postcode was given: it weighs nothing, is named under the chart and not drawn.
    assert "Weighing nothing" in evidence
    assert "postcode: missing on one side" in evidence
    assert "postcode: missing" not in (chart.text_content() or "")
    shot(page, tmp_path / "search.png")
    # What was typed went in POST bodies only, never in a URL.
    for value in (person["forename"], person["surname"], person["dob"]):
        assert not [u for u in browser.requests if value.lower() in u.lower()]


def test_weak_candidates_and_unread_fields_are_shown_apart(
    demo: Demo, browser: Browser, tmp_path: Path
) -> None:
    """ "Jon Evens" with a date of birth that cannot be read: the page names the date as not
    read (without repeating it) and lists Jonathan Evans apart, labelled weak, not ranked."""
    page = browser.page
    sign_in(page, demo.token)
    search(page, {"First name": "Jon", "Last name": "Evens", "Date of birth": "31/13/1989"})
    section = page.locator("section.weak")
    section.wait_for()
    notice = page.locator("#results .unread").inner_text()
    assert "date of birth not read" in notice
    assert "31/13/1989" not in page.locator("#results").inner_text()
    assert page.locator("article.hit").count() == 0
    assert "No one known matches" in page.locator("#results h2").first.inner_text()
    candidate = section.locator("article.weak-candidate").first
    text = candidate.inner_text()
    assert "weak: " in candidate.locator(".badge.weak").inner_text()
    expected = demo.people[demo.people["person_id"] == "P0000352"]
    # The record that scored best, not the person's every record; and no way to open it.
    assert len([r for r in expected["record_id"] if r in text]) == 1
    assert candidate.locator("table.records tbody tr").count() == 1
    assert (
        candidate.get_by_role("button", name="Open this person's records and household").count()
        == 0
    )
    assert "to look at" in page.locator("#status").inner_text()
    shot(page, tmp_path / "weak.png")


def test_entity_shows_records_names_and_household(
    demo: Demo, browser: Browser, tmp_path: Path
) -> None:
    """Open a person with others at the same postcode: records by source, every name and
    date of birth, and the household, whose rows fill the search form when asked."""
    page = browser.page
    sign_in(page, demo.token)
    people = demo.people
    shared = people.groupby("postcode")["person_id"].transform("nunique") >= 2
    person = people[shared].iloc[0]
    search(page, {"First name": person["forename"], "Last name": person["surname"]})
    page.locator("article.hit").first.wait_for()
    page.get_by_role("button", name="Open this person's records and household").first.click()
    page.get_by_role("heading", name="Others known at the same address").wait_for()
    body = page.locator("#entity").inner_text()
    assert "Every name recorded" in body
    assert "Every date of birth recorded" in body
    rows = page.locator("table.household tbody tr")
    assert rows.count() >= 1
    assert person["postcode"].replace(" ", "") in rows.all_inner_texts().__str__().replace(" ", "")
    shot(page, tmp_path / "entity.png")
    rows.first.get_by_role("button", name="Search for this person").click()
    page.get_by_role("heading", name="Is this person known?").wait_for()
    assert page.locator("#q-postcode").input_value()
    assert page.locator("#q-purpose").input_value().startswith("case 2026-0142")


def test_review_different_splits_the_entity(demo: Demo, browser: Browser, tmp_path: Path) -> None:
    """Decide "different" on a queued pair now in one entity: the page says they are apart,
    and the service holds the decision."""
    page = browser.page
    sign_in(page, demo.token)
    page.get_by_role("button", name="Review").click()
    page.locator("#r-purpose").fill("weekly review 49")
    page.get_by_role("button", name="Show the queue").click()
    page.locator("#queue article").first.wait_for()
    shot(page, tmp_path / "review.png")
    chosen = None
    for item in page.locator("#queue article").all():
        row = item.locator("table.pair tbody tr:has(th:text-is('Entity now')) td")
        if row.nth(0).inner_text() == row.nth(1).inner_text():
            chosen = item
            break
    assert chosen is not None, "the demo queue has a pair inside one entity"
    ids = chosen.locator("table.pair tbody tr:has(th:text-is('Record')) td")
    pair = {ids.nth(0).inner_text(), ids.nth(1).inner_text()}
    chosen.get_by_role("button", name="Different people").click()
    assert "Give a reason" in page.locator("#status").inner_text()  # none given yet
    chosen.get_by_role("textbox", name="Reason (required; do not write names)").fill(
        "brothers: different NHS numbers on the case file"
    )
    chosen.get_by_role("button", name="Different people").click()
    done = chosen.locator("p.done")
    done.wait_for()
    assert "They are now apart" in done.inner_text()
    held = demo.call("GET", "/v1/decisions", demo.token, params={"purpose": "check"}).json()
    assert any(
        {d["record_id_l"], d["record_id_r"]} == pair and d["decision"] == "different"
        for d in held["decisions"]
    )


def test_model_screen_draws_every_comparison(demo: Demo, browser: Browser, tmp_path: Path) -> None:
    page = browser.page
    sign_in(page, demo.token)
    page.get_by_role("button", name="Model").click()
    page.get_by_role("heading", name="Match weights of the pairs the build scored").wait_for()
    model = demo.call("GET", "/v1/model", demo.token).json()
    assert page.locator("figure.comparison").count() == len(model["comparisons"])
    bars = page.locator("figure.comparison").first.locator("rect").count()
    assert bars == sum(1 for lv in model["comparisons"][0]["levels"] if lv["weight"] is not None)
    assert page.locator("svg.histogram rect").count() == len(model["histogram"])
    shot(page, tmp_path / "model.png")


def test_keyboard_alone_signs_in_searches_and_opens(demo: Demo, browser: Browser) -> None:
    page = browser.page
    person = linked_person(demo)

    def tab_to(element_id: str, limit: int = 40) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == element_id:
                return
        pytest.fail(f"Tab never reached #{element_id}")

    tab_to("key")
    page.keyboard.type(demo.token)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Is this person known?").wait_for()
    assert page.evaluate("document.activeElement.id") == "search-title"
    tab_to("q-surname")
    page.keyboard.type(person["surname"])
    tab_to("q-dob")
    page.keyboard.type(person["dob"])
    tab_to("q-purpose")
    page.keyboard.type("case 5: keyboard")
    page.keyboard.press("Enter")
    page.locator("article.hit").first.wait_for()
    for _ in range(60):
        page.keyboard.press("Tab")
        if "Open this person" in page.evaluate("document.activeElement.textContent"):
            break
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Others known at the same address").wait_for()
    assert page.evaluate("document.activeElement.id") == "entity-title"


def test_every_control_is_labelled(demo: Demo, browser: Browser) -> None:
    """Every visible field has a label, every button a name, every chart a text alternative."""
    page = browser.page
    check = """() => {
      const bad = [];
      const shown = (e) => e.offsetParent !== null;
      for (const e of document.querySelectorAll("input, select, textarea"))
        if (shown(e) && !e.labels.length) bad.push("field " + e.id);
      for (const e of document.querySelectorAll("button"))
        if (shown(e) && !e.textContent.trim()) bad.push("button");
      for (const e of document.querySelectorAll("svg"))
        if (e.getAttribute("role") !== "img" || !e.getAttribute("aria-label")) bad.push("svg");
      return bad;
    }"""
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.evaluate(check) == []
    sign_in(page, demo.token)
    person = linked_person(demo)
    search(page, {"Last name": person["surname"], "Date of birth": person["dob"]})
    page.locator("article.hit").first.wait_for()
    assert page.evaluate(check) == []
    page.get_by_role("button", name="Review").click()
    page.locator("#r-purpose").fill("labels check")
    page.get_by_role("button", name="Show the queue").click()
    page.locator("#queue article").first.wait_for()
    assert page.evaluate(check) == []
    page.get_by_role("button", name="Model").click()
    assert page.evaluate(check) == []


def test_hostile_values_are_shown_as_text(demo: Demo, browser: Browser) -> None:
    """A name that is markup is shown literally: no element is made, no script runs."""
    hostile = '<img src=x onerror="window.__pwned=1">'
    record = {
        "record_id": "X-EVIL-1",
        "source": "<b>police</b>",
        "forename": hostile,
        "surname": "Quillfeather",
        "dob": "1979-05-05",
    }
    added = demo.call(
        "POST", "/v1/records", demo.keys["write"], json={"records": [record], "purpose": "test"}
    )
    assert added.status_code == 200, added.text
    page = browser.page
    sign_in(page, demo.token)
    search(page, {"Last name": "Quillfeather", "Date of birth": "1979-05-05"})
    hit = page.locator("article.hit").first
    hit.wait_for()
    assert hostile in hit.inner_text()
    assert "<b>police</b>" in hit.inner_text()
    assert page.locator("#results img, #results b").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_the_key_lives_in_the_tab_only(demo: Demo, browser: Browser) -> None:
    page = browser.page
    page.get_by_role("textbox", name="API key").fill("imk_not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("The key was not accepted").wait_for()
    assert page.evaluate("sessionStorage.length") == 0
    sign_in(page, demo.token)
    assert page.evaluate("sessionStorage.getItem('identmatch.key')") == demo.token
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []
    assert page.locator("#key").input_value() == ""  # not left in the field
    page.reload()
    page.get_by_role("heading", name="Is this person known?").wait_for()
    person = linked_person(demo)
    search(page, {"Last name": person["surname"], "Date of birth": person["dob"]})
    page.locator("article.hit").first.wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in with an API key").wait_for()
    assert page.evaluate("sessionStorage.length") == 0
    assert page.locator("article.hit").count() == 0  # the results went with the key


def test_an_audit_key_is_told_it_cannot_search(demo: Demo, browser: Browser) -> None:
    page = browser.page
    page.get_by_role("textbox", name="API key").fill(demo.keys["audit"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("cannot search").wait_for()
    assert page.get_by_role("heading", name="Sign in with an API key").is_visible()
