"""The web page in a real browser: Debian's chromium driven by Playwright, against the demo
served by the installed command (`identmatch demo --serve`) on 127.0.0.1.

Skipped, with the reason, where chromium or Playwright is missing; `.ci/run` installs
chromium, so CI runs them. Screenshots of each screen go to the test's temporary folder,
and also to the folder named by ``IDENTMATCH_SCREENSHOTS`` when set: the documentation's
pictures are made so (``IDENTMATCH_SCREENSHOTS=docs/images pytest tests/test_browser.py``).
"""

from __future__ import annotations

import os
import re
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
from identmatch._synthetic.demo import demo_paths, demo_recorded

from _support import free_port

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("IDENTMATCH_CHROMIUM") or shutil.which("chromium") or ""
SCREENSHOTS = os.environ.get("IDENTMATCH_SCREENSHOTS", "")  # read before conftest clears it
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
    # Nothing from anywhere but the service (the charts: blob: URLs of this origin, holding
    # the SVGs the script fetched from it); no script error, no policy violation.
    own = (demo.url + "/", "blob:" + demo.url + "/")
    assert all(u.startswith(own) for u in seen.requests), seen.requests
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
    if SCREENSHOTS:
        shutil.copyfile(path, Path(SCREENSHOTS) / path.name)


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
    # Sources in plain words: the config's label, else the code in words; never the code.
    assert "Children's services" in text
    for source in expected["source"].unique():
        assert source not in text
        if source != "childrens_services":
            assert source.replace("_", " ").capitalize() in text
    # The waterfall is the library's chart, drawn by the service as SVG, shown as an image.
    chart = first.locator("figure.why img.chart")
    chart.wait_for()
    alt = chart.get_attribute("alt") or ""
    assert "bits" in alt
    assert "surname: the same" in alt
    assert page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 200", arg=chart.element_handle()
    )
    assert chart.get_attribute("src").startswith("blob:")
    evidence = first.locator("ul.evidence").inner_text()
    assert "surname: the same" in evidence
    assert "evidence for one person" in evidence
    # No postcode was given: it weighs nothing, and is named under the chart as such.
    assert "Weighing nothing" in evidence
    assert "postcode: missing on one side" in evidence
    assert "postcode: missing" not in alt
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
    assert "No one known matches" in page.locator("#results > h2").inner_text()
    searched = page.locator("#results section.case-file").inner_text()
    assert "Date of birth: not read, searched without it" in searched
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
    # Each record's postcode, in its own column (the demo's records give no address line).
    records = page.locator("#entity table.records tbody tr")
    assert records.count() == (demo.people["person_id"] == person["person_id"]).sum()
    postcodes = records.locator("td[data-label=Postcode]").all_inner_texts()
    assert person["postcode"] in postcodes
    assert page.locator("#entity table.records thead th").all_inner_texts()[-3:] == [
        "Postcode",
        "Address",
        "Town",
    ]
    shot(page, tmp_path / "person.png")
    rows.first.get_by_role("button", name="Search for this person").click()
    page.get_by_role("heading", name="Is this person known?").wait_for()
    assert page.locator("#q-postcode").input_value()
    assert page.locator("#q-purpose").input_value().startswith("case 2026-0142")


def open_queue(page: Any, purpose: str) -> int:
    """Open the review screen and read the queue; how many items it holds."""
    page.get_by_role("button", name="Review").click()
    page.locator("#r-purpose").fill(purpose)
    page.get_by_role("button", name="Show the queue").click()
    position = page.locator("#queue-position")
    position.wait_for()
    found = re.fullmatch(r"Item 1 of (\d+): .+", position.inner_text())
    assert found, position.inner_text()
    return int(found.group(1))


def position(page: Any) -> tuple[int, int]:
    found = re.match(r"Item (\d+) of (\d+)", page.locator("#queue-position").inner_text())
    assert found
    return int(found.group(1)), int(found.group(2))


def item_in_one_entity(page: Any) -> tuple[str, str]:
    """Move on with "Next item" to an undecided pair now in one entity; its record ids."""
    while True:
        item = page.locator("#queue article")
        now = item.locator("table.pair tbody tr:has(th:text-is('Entity now')) td")
        one = now.nth(0).inner_text() == now.nth(1).inner_text()
        if one and item.locator("form.decide").count():
            ids = item.locator("table.pair tbody tr:has(th:text-is('Record')) td")
            return ids.nth(0).inner_text(), ids.nth(1).inner_text()
        at, total = position(page)
        assert at < total, "the demo queue has a pair inside one entity"
        page.get_by_role("button", name="Next item").click()
        page.locator("#queue-position").filter(has_text=f"Item {at + 1} of").wait_for()


def entities(demo: Demo) -> dict[str, str]:
    exported = demo.call("GET", "/v1/export", demo.keys["write"], params={"purpose": "check"})
    return {r["record_id"]: r["entity_id"] for r in exported.json()["records"]}


REASON = "Reason (required; do not write names)"


def test_review_different_splits_the_entity(demo: Demo, browser: Browser, tmp_path: Path) -> None:
    """Decide "different" on a queued pair now in one entity: the page says they are apart,
    and the service holds the decision."""
    page = browser.page
    sign_in(page, demo.token)
    open_queue(page, "weekly review 49")
    assert page.locator("#queue article").count() == 1  # one item at a time
    pair = set(item_in_one_entity(page))
    chosen = page.locator("#queue article")
    chosen.get_by_role("button", name="Different people").click()
    assert "Give a reason" in page.locator("#status").inner_text()  # none given yet
    chosen.get_by_role("textbox", name=REASON).fill(
        "brothers: different NHS numbers on the case file"
    )
    chosen.get_by_role("button", name="Different people").click()
    page.locator(".last-decision").wait_for()
    assert "They are now apart" in page.locator(".last-decision").inner_text()
    assert "They are now apart" in page.locator("#status").inner_text()
    held = demo.call("GET", "/v1/decisions", demo.token, params={"purpose": "check"}).json()
    assert any(
        {d["record_id_l"], d["record_id_r"]} == pair and d["decision"] == "different"
        for d in held["decisions"]
    )


def test_review_is_paged_keeps_the_focus_and_undoes(
    demo: Demo, browser: Browser, tmp_path: Path
) -> None:
    """One item at a time with its place in the queue; after a decision the next item's
    reason has the focus; "Undo the last decision" puts the split back and the item again."""
    page = browser.page
    sign_in(page, demo.token)
    total = open_queue(page, "weekly review 50")
    assert total >= 3
    shot(page, tmp_path / "review.png")
    assert page.get_by_role("button", name="Previous item").is_disabled()
    page.get_by_role("button", name="Next item").click()
    assert position(page) == (2, total)
    assert page.evaluate("document.activeElement.id") == "queue-position"
    page.get_by_role("button", name="Previous item").click()
    assert position(page) == (1, total)
    a, b = item_in_one_entity(page)
    at, _ = position(page)
    before = entities(demo)
    page.get_by_role("textbox", name=REASON).fill("different NHS numbers on file")
    page.get_by_role("button", name="Different people").click()
    page.locator(".last-decision").wait_for()
    # The next item, with the focus on its first control (the reason).
    after = at % total + 1
    assert position(page) == (after, total)
    assert page.evaluate("document.activeElement.id") == f"reason-{after - 1}"
    assert page.locator("#queue article form.decide").count() == 1
    split = entities(demo)
    assert split[a] != split[b]
    page.get_by_role("button", name="Undo the last decision").click()
    page.locator("#status").filter(has_text="Undone").wait_for()
    assert position(page) == (at, total)
    assert page.evaluate("document.activeElement.id") == f"reason-{at - 1}"
    assert page.locator(".last-decision").count() == 0
    rejoined = entities(demo)
    assert rejoined[a] == rejoined[b] == before[a]
    held = demo.call("GET", "/v1/decisions", demo.token, params={"purpose": "check"}).json()
    latest = [d for d in held["decisions"] if {d["record_id_l"], d["record_id_r"]} == {a, b}]
    assert [d["decision"] for d in latest] == ["different", "unsure"]
    assert latest[-1]["reason"].startswith("undoes decision ")


def test_model_screen_draws_every_comparison(demo: Demo, browser: Browser, tmp_path: Path) -> None:
    page = browser.page
    sign_in(page, demo.token)
    page.get_by_role("button", name="Model").click()
    page.get_by_role("heading", name="Match weights of the pairs the build scored").wait_for()
    model = demo.call("GET", "/v1/model", demo.token).json()
    # Each comparison: the library's parameters chart of it, drawn by the service, its
    # levels in words as the text alternative.
    figures = page.locator("figure.comparison")
    assert figures.count() == len(model["comparisons"])
    for i, comparison in enumerate(model["comparisons"]):
        image = figures.nth(i).locator("img.chart")
        image.wait_for()
        alt = image.get_attribute("alt") or ""
        for level in comparison["levels"]:
            assert (level["label"] in alt) == (level["weight"] is not None)
    assert page.wait_for_function(
        "() => [...document.querySelectorAll('figure.comparison img.chart')]"
        ".every((img) => img.complete && img.naturalWidth > 200)"
    )
    histogram = page.locator("figure.histogram img.chart")
    histogram.wait_for()
    assert f"{sum(b['count'] for b in model['histogram'])} scored pairs" in (
        histogram.get_attribute("alt") or ""
    )
    assert page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 200", arg=histogram.element_handle()
    )
    # The image is the library's chart of the index: the service's SVG marks the threshold.
    svg = demo.call("GET", "/v1/charts/match-weights", demo.token)
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert f"threshold {model['threshold']:g}" in svg.text
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
      for (const e of document.querySelectorAll("img"))
        if (!e.getAttribute("alt")) bad.push("img");
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


def visible_buttons(page: Any) -> int:
    return int(
        page.evaluate(
            "[...document.querySelectorAll('button')].filter((b) => b.offsetParent !== null).length"
        )
    )


def test_print_view_for_the_case_file(demo: Demo, browser: Browser, tmp_path: Path) -> None:
    """A result and a person print with what was searched, by which key (its name), when,
    why and the audit entry, and the evidence; without the navigation, the key id, the
    form or any button."""
    page = browser.page
    sign_in(page, demo.token)
    session = demo.call("GET", "/v1/session", demo.token).json()
    person = linked_person(demo)
    search(page, {"Last name": person["surname"], "Date of birth": person["dob"]})
    page.locator("article.hit").first.wait_for()
    record = page.locator("section.case-file").inner_text()
    assert f"Last name: {person['surname']}; Date of birth: {person['dob']}" in record
    assert f"the key named \u201c{session['name']}\u201d" in record
    assert "case 2026-0142: new adult in household" in record
    assert re.search(r"Audit entry\s+number \d+", record)
    assert re.search(r"When\s+\d{1,2} \w+ \d{4}", record)
    assert page.get_by_role("button", name="Print or save as PDF for the case file").is_visible()
    page.emulate_media(media="print")
    for hidden in ("header.bar", "#nav", "#who", "#search-form", "#status"):
        assert not page.locator(hidden).is_visible(), hidden
    printed = page.locator("body").inner_text()
    assert session["key_id"] not in printed
    assert demo.token not in printed
    assert visible_buttons(page) == 0
    assert page.locator("section.case-file").is_visible()
    first = page.locator("article.hit").first
    assert first.locator("ul.evidence").is_visible()
    assert first.locator("figure.why").is_visible()
    assert first.locator("table.records").is_visible()
    shot(page, tmp_path / "print-search.png")
    page.emulate_media(media="screen")
    page.get_by_role("button", name="Open this person's records and household").first.click()
    page.get_by_role("heading", name="Others known at the same address").wait_for()
    page.emulate_media(media="print")
    record = page.locator("#entity section.case-file").inner_text()
    assert f"Read by\nthe key named \u201c{session['name']}\u201d" in record
    assert f"Last name: {person['surname']}" in record
    assert not page.locator("#nav").is_visible()
    assert visible_buttons(page) == 0
    assert session["key_id"] not in page.locator("body").inner_text()
    assert page.locator("#entity table.records").is_visible()
    shot(page, tmp_path / "print-person.png")


def test_narrow_screen_never_scrolls_sideways(demo: Demo, browser: Browser, tmp_path: Path) -> None:
    """At 400 px wide the results, a person and the review queue fit the width."""
    page = browser.page
    page.set_viewport_size({"width": 400, "height": 800})
    width = "document.documentElement.scrollWidth"
    sign_in(page, demo.token)
    assert page.evaluate(width) <= 400
    people = demo.people
    shared = people.groupby("postcode")["person_id"].transform("nunique") >= 2
    person = people[shared].iloc[0]
    search(page, {"First name": person["forename"], "Last name": person["surname"]})
    page.locator("article.hit").first.wait_for()
    assert page.evaluate(width) <= 400
    shot(page, tmp_path / "narrow-search.png")
    page.get_by_role("button", name="Open this person's records and household").first.click()
    page.get_by_role("heading", name="Others known at the same address").wait_for()
    assert page.evaluate(width) <= 400
    # Each record is a block of labelled lines, not a row of columns.
    cell = page.locator("#entity table.records td[data-label=Postcode]").first
    assert cell.evaluate("(c) => getComputedStyle(c).display") == "block"
    shot(page, tmp_path / "narrow-person.png")
    open_queue(page, "weekly review 51")
    assert page.evaluate(width) <= 400
    shot(page, tmp_path / "narrow-review.png")


def test_invisible_characters_are_shown_escaped(demo: Demo, browser: Browser) -> None:
    """Bidi controls and zero-width characters in a stored value are shown escaped, as the
    command line prints them: "\\u202eevil", never "evil" drawn right to left as "live"."""
    from identmatch._cli.common import one_field

    forename, alias = "\u202eevil", "Ann\u200bMarie Quillbidi"
    record = {
        "record_id": "X-BIDI-1",
        "source": "police",
        "forename": forename,
        "surname": "Quillbidi",
        "aliases": [alias],
        "dob": "1971-02-03",
    }
    added = demo.call(
        "POST", "/v1/records", demo.keys["write"], json={"records": [record], "purpose": "test"}
    )
    assert added.status_code == 200, added.text
    page = browser.page
    sign_in(page, demo.token)
    search(page, {"Last name": "Quillbidi", "Date of birth": "1971-02-03"})
    hit = page.locator("article.hit").first
    hit.wait_for()
    text = hit.inner_text()
    for value in (forename, alias):
        assert one_field(value) in text
    assert "\\u202eevil" in text
    assert "Ann\\u200bMarie" in text
    shown = page.locator("body").inner_text()
    assert "\u202e" not in shown
    assert "\u200b" not in shown


def test_person_view_shows_when_each_record_was_recorded(
    demo: Demo, browser: Browser, tmp_path: Path
) -> None:
    """Each record on the person view, and in its print, says when its source recorded it
    (the demo's records carry dates), or that the date was not given (a record added without)."""
    person = linked_person(demo)
    given = ("forename", "surname", "dob", "sex", "postcode")
    record = {k: person[k] for k in given if isinstance(person[k], str)} | {
        "record_id": "REC-B1",
        "source": person["source"],
    }
    body = {"purpose": "case 2026-0142: record update", "records": [record]}
    added = demo.call("POST", "/v1/records", demo.keys["write"], json=body)
    assert added.status_code == 200, added.text
    entity_id = added.json()["records"][0]["entity_id"]
    try:
        page = browser.page
        sign_in(page, demo.token)
        search(page, {"Last name": person["surname"], "Date of birth": person["dob"]})
        hit = page.locator("article.hit", has_text=entity_id)
        hit.get_by_role("button", name="Open this person's records and household").click()
        page.get_by_role("heading", name="Others known at the same address").wait_for()
        headers = page.locator("#entity table.records thead th").all_inner_texts()
        assert headers[:3] == ["Source", "Recorded", "Record"]
        rows = page.locator("#entity table.records tbody tr")
        ours = rows.filter(has_text="REC-B1").locator("td[data-label=Recorded]")
        assert ours.inner_text() == "date recorded not given"
        others = rows.filter(has_not_text="REC-B1")
        ids = others.locator("td[data-label=Record]").all_inner_texts()
        assert person["record_id"] in ids
        months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov"]
        months.append("Dec")
        expected = [
            f"recorded {int(d[8:])} {months[int(d[5:7]) - 1]} {d[:4]}" for d in demo_recorded(ids)
        ]
        assert others.locator("td[data-label=Recorded]").all_inner_texts() == expected
        assert "does not keep the date" not in page.locator("#entity").inner_text()
        page.emulate_media(media="print")
        assert ours.is_visible()
        assert others.first.locator("td[data-label=Recorded]").is_visible()
        shot(page, tmp_path / "print-person-recorded.png")
        page.emulate_media(media="screen")
    finally:
        gone = demo.call("DELETE", "/v1/records/REC-B1", demo.keys["write"])
        assert gone.status_code == 200, gone.text
