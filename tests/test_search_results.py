"""What a search shows a practitioner: the search prior, weak candidates, fields not read.

A small synthetic index with a few people made for the purpose, built with a model whose
pairwise prior is that of a 20,000-record dedupe (-20.6 bits), as in the case that showed
the problem: a rare full name without a date of birth was called nobody.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import identmatch
from identmatch._cli.main import cli
from identmatch._index.search import WEAK_MAX, search_prior_weight
from identmatch._model.scoring import probability_from_weight
from identmatch.testing import demo_paths, generate_records

from _support import start_service

pytestmark = pytest.mark.slow

PAIRWISE_20K = -20.6
"""The pairwise prior (bits) a dedupe of 20,000 synthetic records learnt."""

COLUMNS = ["record_id", "source", "forename", "middle_names", "surname", "dob", "sex", "postcode"]
# People made for the tests, among a synthetic crowd: two records of Aaron J Bricks (a rare
# surname), one of Keisha Okonkwo and one of Priya Castellano.
_PEOPLE = [
    ("K-1", "probation", "Aaron", "J", "Bricks", "1979-03-14", "M", "LS6 4AB"),
    ("K-2", "police", "Aaron", "J", "Bricks", "14/03/1979", "M", "LS6 4AB"),
    ("K-3", "mental_health", "Keisha", "", "Okonkwo", "1990-01-01", "F", "M1 1AE"),
    ("K-4", "substance_misuse", "Priya", "", "Castellano", "1985-06-02", "F", "B1 1AA"),
]
# Given but unreadable: a 13th month, an NHS number failing its check digit (the real
# one ends 2), a postcode with no letter or digit, a sex that is neither.
UNREADABLE = {"dob": "31/13/1989", "nhs_number": "9815811313", "postcode": "!!!", "sex": "u"}


@dataclass
class Known:
    index: identmatch.Index
    path: Path
    entity: dict[str, str]


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Known]:
    base = tmp_path_factory.mktemp("search")
    crowd = generate_records(500, seed=17).drop(columns=["error_type", "hard_negative"])
    people = pd.DataFrame(_PEOPLE, columns=COLUMNS)
    records = pd.concat([crowd, people], ignore_index=True)
    with identmatch.Index.build(records, base / "first.duckdb") as first:
        low = 2.0**PAIRWISE_20K / (1.0 + 2.0**PAIRWISE_20K)
        model = first.model.model_copy(update={"probability_two_random_records_match": low})
    path = base / "known.duckdb"
    index = identmatch.Index.build(records, path, model=model)
    frame = index.export()
    entity = dict(zip(frame["record_id"].astype(str), frame["entity_id"].astype(str), strict=True))
    yield Known(index, path, entity)
    index.close()


class TestSearchPrior:
    @given(
        known=st.floats(min_value=0.01, max_value=0.99),
        people=st.integers(min_value=1, max_value=10**9),
        more=st.integers(min_value=1, max_value=10**6),
    )
    def test_more_people_lower_prior_never_above_known(
        self, known: float, people: int, more: int
    ) -> None:
        """The prior falls as the index grows, and never says more than P(known)."""
        prior = search_prior_weight(known, people)
        assert search_prior_weight(known, people + more) < prior
        assert probability_from_weight(prior) <= known + 1e-12
        assert probability_from_weight(prior) == pytest.approx(known / people, rel=1e-9)

    def test_rare_full_name_without_dob_is_found(self, known: Known) -> None:
        """Aaron Bricks, no date of birth, against two records of Aaron J Bricks: below 0.5
        from the 20k dedupe's pairwise prior, at least possible from the search prior."""
        hits = known.index.search({"forename": "Aaron", "surname": "Bricks"})
        assert hits, hits.weak
        top = hits[0]
        assert top.entity_id == known.entity["K-1"] == known.entity["K-2"]
        assert top.match_probability >= 0.5
        assert top.verdict in ("match", "possible")
        evidence = top.match_weight - top.explanation.prior_weight
        assert probability_from_weight(known.index.model.prior_weight + evidence) < 0.5
        entities = len(set(known.entity.values()))
        assert top.explanation.prior_weight == search_prior_weight(0.5, entities)

    def test_prior_follows_the_entities_through_adds_and_removals(
        self, known: Known, tmp_path: Path
    ) -> None:
        """Loaded or read from the file, after adds and a removal, a search starts from
        P(known) over the index's number of entities as it is then."""
        copy = tmp_path / "copy.duckdb"
        copy.write_bytes(known.path.read_bytes())
        query = {"forename": "Aaron", "surname": "Bricks"}
        with identmatch.Index.open(copy) as index:
            index.warm()
            newcomers = generate_records(60, seed=99).drop(columns=["error_type", "hard_negative"])
            newcomers["record_id"] = "N-" + newcomers["record_id"].astype(str)
            index.add(newcomers)
            index.remove(["K-4"])
            entities = index.export()["entity_id"].nunique()
            assert index._snapshot.entities_total == entities
            loaded = index.search(query)[0].explanation.prior_weight
            assert loaded == search_prior_weight(0.5, entities)
            before = search_prior_weight(0.5, len(set(known.entity.values())))
            assert loaded < before
        with identmatch.Index.open(copy) as cold:
            assert cold.search(query)[0].explanation.prior_weight == loaded
            assert not cold.loaded

    def test_search_known_is_a_setting(self, known: Known) -> None:
        """``ModelConfig.search_known`` sets P(known); out of (0, 1) it is refused."""
        assert identmatch.ModelConfig(search_known=0.2).search_known == 0.2
        with pytest.raises(ValueError, match="search_known"):
            identmatch.ModelConfig(search_known=1.0)


class TestUnread:
    def test_each_unreadable_field_is_named_never_echoed(self, known: Known) -> None:
        """A 13th month, a failing check digit, a postcode of punctuation and sex "u" are
        each named with the reason; the values are not repeated; the rest still searches."""
        hits = known.index.search({"forename": "Aaron", "surname": "Bricks", **UNREADABLE})
        assert [u.field for u in hits.unread] == ["dob", "sex", "postcode", "nhs_number"]
        messages = [u.message for u in hits.unread]
        assert messages[0].startswith("date of birth not read")
        assert messages[2].startswith("postcode not read")
        assert messages[3] == "NHS number not read: fails its check digit"
        for value in ("31/13/1989", "9815811313", "!!!"):
            assert not any(value in m for m in messages)
        assert hits
        assert hits[0].entity_id == known.entity["K-1"]

    def test_blank_fields_are_not_given_and_readable_ones_not_named(self, known: Known) -> None:
        """Blank fields were not given; read fields are not named."""
        hits = known.index.search(
            {"forename": "Aaron", "surname": "Bricks", "dob": "  ", "postcode": "ls64ab"}
        )
        assert hits.unread == ()

    def test_a_year_alone_is_read_in_part(self, known: Known) -> None:
        """A date of birth given as a year is named as read only in part."""
        hits = known.index.search({"surname": "Bricks", "dob": "1979"})
        assert [u.message for u in hits.unread] == [
            "date of birth not read in full: only the year could be read"
        ]

    def test_nhs_numbers_not_ten_digits_say_so(self, known: Known) -> None:
        """An NHS number of the wrong length is named with that reason."""
        hits = known.index.search({"surname": "Bricks", "nhs_number": "12345"})
        assert [u.reason for u in hits.unread] == ["not ten digits"]

    def test_a_file_of_queries_names_them_too(self, known: Known) -> None:
        """``search_many`` gives each query's unread fields in its ``unread`` column."""
        queries = pd.DataFrame(
            [
                {"record_id": "Q1", "forename": "Aaron", "surname": "Bricks", "dob": "1979-03-14"},
                {"record_id": "Q2", "forename": "Aaron", "surname": "Bricks", **UNREADABLE},
            ]
        )
        found = known.index.search_many(queries).set_index("record_id")
        assert found.loc["Q1", "unread"] == ""
        assert found.loc["Q2", "unread"] == "dob; sex; postcode; nhs_number"


class TestWeak:
    def test_same_full_name_is_a_labelled_weak_candidate(self, known: Known) -> None:
        """Keisha Okonkwo with another date of birth, sex and postcode is below possible,
        and listed apart as ``weak: same full name``."""
        hits = known.index.search(
            {
                "forename": "Keisha",
                "surname": "Okonkwo",
                "dob": "1961-08-27",
                "sex": "M",
                "postcode": "TR1 2AB",
            }
        )
        keisha = known.entity["K-3"]
        assert keisha not in [hit.entity_id for hit in hits]
        weak = {w.entity_id: w for w in hits.weak}[keisha]
        assert weak.match_probability < 0.5
        assert "same full name" in weak.reasons
        assert weak.label.startswith("weak: same full name")
        assert [r.record_id for r in weak.records] == ["K-3"]

    def test_same_surname_and_dob_is_a_labelled_weak_candidate(self, known: Known) -> None:
        """Another forename, sex and postcode with Priya Castellano's surname and date of
        birth is listed as ``weak: same surname and date of birth``, not as a hit."""
        hits = known.index.search(
            {
                "forename": "Bartholomew",
                "surname": "Castellano",
                "dob": "1985-06-02",
                "sex": "M",
                "postcode": "TR1 2AB",
            }
        )
        priya = known.entity["K-4"]
        assert priya not in [hit.entity_id for hit in hits]
        weak = {w.entity_id: w for w in hits.weak}[priya]
        assert "same surname and date of birth" in weak.reasons
        assert "weak: " in weak.label

    def test_weak_candidates_stay_within_top_and_apart(self, known: Known) -> None:
        """Never a hit and a weak candidate at once, at most WEAK_MAX weak, and never more
        entities in all than ``top``."""
        for _, row in generate_records(500, seed=17).iloc[::25].iterrows():
            person = {"forename": row["forename"], "surname": row["surname"]}
            person = {k: v for k, v in person.items() if isinstance(v, str)}
            for top in (1, 3, 8):
                hits = known.index.search(person, top=top)
                shown = hits.entity_ids
                assert len(shown) == len(set(shown)) <= top
                assert len(hits.weak) <= WEAK_MAX
                assert all(w.match_probability < 0.5 for w in hits.weak)
                assert all(w.reasons for w in hits.weak)


class TestDemo:
    def test_jon_evens_finds_the_known_person(self, tmp_path: Path) -> None:
        """On the demo index, "Jon Evens" (a nickname, a misspelt surname, no date of birth)
        is shown: Jonathan Carl Evans, known to two services, labelled if not a hit."""
        adults, children = demo_paths()
        both = pd.concat([pd.read_csv(p, dtype=str) for p in (adults, children)])
        wanted = set(both.loc[both["person_id"] == "P0000352", "record_id"])
        assert len(wanted) == 2
        with identmatch.Index.build(both, tmp_path / "demo.duckdb") as index:
            hits = index.search({"forename": "Jon", "surname": "Evens"})
        shown = [*hits, *hits.weak]
        found = [f for f in shown if {r.record_id for r in f.records} == wanted]
        assert found, (hits, hits.weak)
        if found[0] in hits.weak:
            assert found[0].label.startswith("weak: ")


def test_cli_names_unread_fields_and_weak_candidates(known: Known, tmp_path: Path) -> None:
    """`identmatch search` prints the fields not read, the hits, then the weak candidates
    under their own heading with their labels."""
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(known.path.read_bytes())
    done = CliRunner().invoke(
        cli,
        [
            *("search", "--index", str(copy), "--purpose", "case 1"),
            *("--forename", "Keisha", "--surname", "Okonkwo", "--dob", "1961-08-27"),
            *("--nhs-number", "9815811313", "--sex", "M", "--postcode", "!!!"),
        ],
    )
    assert done.exit_code == 0, done.output
    out = done.output
    assert "not read: postcode not read" in out
    assert "not read: NHS number not read: fails its check digit" in out
    assert "!!!" not in out
    assert "9815811313" not in out
    assert "weak candidates (below possible" in out
    assert "weak: same full name" in out
    assert out.index("weak candidates") > out.index("not read")


def test_http_reply_names_unread_fields_and_weak_candidates(known: Known, tmp_path: Path) -> None:
    """Over real HTTP: the reply's ``unread`` and ``weak`` lists; the weak candidate is
    audited as shown, with its best record only, and the key may not open it (nor anything
    its searches did not return as a hit)."""
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(known.path.read_bytes())
    config = tmp_path / "service.toml"
    _, key = identmatch.create_api_key(config, name="case-system", role="search")
    log = tmp_path / "server.log"
    url, process = start_service(copy, config, log)
    headers = {"Authorization": f"Bearer {key}"}
    person = {"forename": "Keisha", "surname": "Okonkwo", "dob": "1961-08-27", "sex": "M"}
    person |= {"postcode": "!!!", "nhs_number": "9815811313"}
    try:
        reply = httpx.post(
            url + "/v1/search",
            json={"purpose": "case 2026-0142", "person": person},
            headers=headers,
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        result = reply.json()["results"][0]
        assert [u["field"] for u in result["unread"]] == ["postcode", "nhs_number"]
        assert result["unread"][1]["message"] == "NHS number not read: fails its check digit"
        keisha = known.entity["K-3"]
        assert keisha not in [h["entity_id"] for h in result["hits"]]
        weak = {w["entity_id"]: w for w in result["weak"]}[keisha]
        assert weak["label"].startswith("weak: same full name")
        assert set(weak) == {
            "entity_id",
            "label",
            "reasons",
            "match_probability",
            "match_weight",
            "best_record_id",
            "explanation",
            "records",
        }
        # Shown with the record that scored best only, and not opened by id: a weak
        # candidate is not a finding (a search finding the person at "possible" opens it).
        assert [r["record_id"] for r in weak["records"]] == [weak["best_record_id"]]
        opened = httpx.get(
            f"{url}/v1/entities/{keisha}", params={"purpose": "case 2026-0142"}, headers=headers
        )
        assert opened.status_code == 403, opened.text
        other = known.entity["K-1"]
        refused = httpx.get(
            f"{url}/v1/entities/{other}", params={"purpose": "case 2026-0142"}, headers=headers
        )
        assert refused.status_code == 403
    finally:
        process.terminate()
        process.wait(timeout=30)
    text = log.read_text(encoding="utf-8")
    for value in ("1961-08-27", "9815811313", "Okonkwo"):
        assert value not in text
    entries = [e for e in identmatch.AuditLog.read(copy) if e.action == "search"]
    assert keisha in json.dumps([list(e.entity_ids) for e in entries])
