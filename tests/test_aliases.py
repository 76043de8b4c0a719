"""One person behind many names and dates, and relatives who must stay apart.

Each case is a pair of records named by the error it models. The model is trained on
synthetic records; the pairs are then scored among those records (so term frequencies are
realistic) at the default threshold of 0.95.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import identmatch
from identmatch.testing import generate_records

pytestmark = pytest.mark.slow

THRESHOLD = 0.95

BASE: dict[str, Any] = {"sex": "M", "postcode": "LS6 4AB"}


def person(forename: str, surname: str, dob: str | None, **extra: Any) -> dict[str, Any]:
    return {**BASE, "forename": forename, "surname": surname, "dob": dob, **extra}


SAME_PERSON: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "known_alias": (
        person("Dean", "Walsh", "1984-02-11"),
        person("Gareth", "Pryce", "1984-02-11", aliases=["Dean Walsh"]),
    ),
    "known_alias_both_listing": (
        person("Kyle", "Barton", "1979-06-30", aliases=["Dean Walsh"]),
        person("Gareth", "Pryce", "1979-06-30", aliases=["Dean WALSH"]),
    ),
    "nickname_bill_william": (
        person("Bill", "Ormerod", "1971-03-05"),
        person("William", "Ormerod", "1971-03-05"),
    ),
    "nickname_william_bill": (
        person("William", "Ormerod", "1971-03-05"),
        person("Bill", "Ormerod", "1971-03-05"),
    ),
    "nickname_liz_elizabeth": (
        person("Liz", "Haworth", "1990-07-21", sex="F"),
        person("Elizabeth", "Haworth", "1990-07-21", sex="F"),
    ),
    "nickname_jon_jonathan": (
        person("Jon", "Pickles", "1982-12-01"),
        person("Jonathan", "Pickles", "1982-12-01"),
    ),
    "nickname_rob_robert": (
        person("Rob", "Heald", "1975-01-17"),
        person("Robert", "Heald", "1975-01-17"),
    ),
    "nickname_rob_robin": (
        person("Rob", "Heald", "1975-01-17"),
        person("Robin", "Heald", "1975-01-17"),
    ),
    "surname_typo": (
        person("Peter", "Greenhalgh", "1966-09-09"),
        person("Peter", "Greenhalhg", "1966-09-09"),
    ),
    "respelling_philips": (
        person("Adam", "Philips", "1988-04-04"),
        person("Adam", "Phillips", "1988-04-04"),
    ),
    "respelling_stephenson": (
        person("Carl", "Stephenson", "1970-10-10"),
        person("Carl", "Stevenson", "1970-10-10"),
    ),
    "respelling_mcdonald": (
        person("Ian", "McDonald", "1959-08-19"),
        person("Ian", "MacDonald", "1959-08-19"),
    ),
    "dropped_accents": (
        person("Michał", "Wójcik", "1992-02-28"),
        person("Michal", "Wojcik", "1992-02-28"),
    ),
    "transliteration_mohammed": (
        person("Mohammed", "Rahman", "1986-05-15"),
        person("Muhammad", "Rahman", "1986-05-15"),
    ),
    "transliteration_mohamed": (
        person("Mohamed", "Rahman", "1986-05-15"),
        person("Mohammad", "Rahman", "1986-05-15"),
    ),
    "transliteration_hussain": (
        person("Imran", "Hussain", "1980-11-11"),
        person("Imran", "Hussein", "1980-11-11"),
    ),
    "transliteration_chaudhry": (
        person("Asif", "Chaudhry", "1977-03-23"),
        person("Asif", "Choudhury", "1977-03-23"),
    ),
    "double_barrelled_part": (
        person("Lucy", "Ashworth-Kerr", "1995-06-06", sex="F"),
        person("Lucy", "Kerr", "1995-06-06", sex="F"),
    ),
    "double_barrelled_joined": (
        person("Lucy", "Ashworth-Kerr", "1995-06-06", sex="F"),
        person("Lucy", "Ashworthkerr", "1995-06-06", sex="F"),
    ),
    "double_barrelled_spaced": (
        person("Lucy", "Ashworth-Kerr", "1995-06-06", sex="F"),
        person("Lucy", "Ashworth Kerr", "1995-06-06", sex="F"),
    ),
    "former_surname_listed": (
        person("Joanne", "Okafor", "1983-08-08", sex="F", aliases=["Joanne Brennan"]),
        person("Joanne", "Brennan", "1983-08-08", sex="F"),
    ),
    "maiden_and_married_name": (
        person("Siobhan", "Brennan", "1983-08-08", sex="F", nhs_number="9434765919"),
        person("Siobhan", "Okafor", "1983-08-08", sex="F", nhs_number="9434765919"),
    ),
    "swapped_forename_surname": (
        person("Tariq", "Mahmood", "1991-01-09"),
        person("Mahmood", "Tariq", "1991-01-09"),
    ),
    "middle_name_as_forename": (
        person("Wayne", "Hargreaves", "1973-04-12", middle_names="Anthony"),
        person("Anthony", "Hargreaves", "1973-04-12"),
    ),
    "forename_initial": (
        person("J", "Sutcliffe", "1968-07-27"),
        person("Jasper", "Sutcliffe", "1968-07-27"),
    ),
    "dob_day_month_swapped": (
        person("Neil", "Ackroyd", "1985-04-03"),
        person("Neil", "Ackroyd", "1985-03-04"),
    ),
    "dob_one_digit": (
        person("Neil", "Ackroyd", "1985-04-03"),
        person("Neil", "Ackroyd", "1985-04-08"),
    ),
    "dob_year_transposed": (
        person("Neil", "Ackroyd", "1987-04-23"),
        person("Neil", "Ackroyd", "1978-04-23"),
    ),
    "dob_year_off_by_one": (
        person("Neil", "Ackroyd", "1989-04-23"),
        person("Neil", "Ackroyd", "1990-04-23"),
    ),
    "dob_year_only": (
        person("Neil", "Ackroyd", "1989-04-23"),
        person("Neil", "Ackroyd", "01/01/1989"),
    ),
    "dob_placeholder_is_missing": (
        person("Neil", "Ackroyd", "1989-04-23"),
        person("Neil", "Ackroyd", "1900-01-01"),
    ),
}

DIFFERENT_PEOPLE: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "twins": (
        person("Amy", "Pilling", "2001-05-06", sex="F"),
        person("Zara", "Pilling", "2001-05-06", sex="F"),
    ),
    "twins_brothers": (
        person("Kyle", "Pilling", "2001-05-06"),
        person("Ryan", "Pilling", "2001-05-06"),
    ),
    "father_and_son": (
        person("John", "Pilling", "1961-02-03"),
        person("John", "Pilling", "1988-07-09"),
    ),
    "brothers_at_one_address": (
        person("Craig", "Pilling", "1984-10-10"),
        person("Lee", "Pilling", "1987-01-15"),
    ),
    "two_john_smiths_same_year": (
        person("John", "Smith", "1980-03-14", postcode="M14 5RT"),
        person("John", "Smith", "1980-11-02", postcode="B11 2PQ"),
    ),
    "robert_is_not_robin": (
        person("Robert", "Heald", "1975-01-17"),
        person("Robin", "Heald", "1975-01-17"),
    ),
}

EXPECTED_LABEL = {
    "known_alias": "aliases: one record's known alias is the other's name",
    "nickname_bill_william": "forename: a nickname, short form or listed variant of the other",
    "nickname_rob_robin": "forename: a nickname, short form or listed variant of the other",
    "dob_day_month_swapped": "date of birth: day and month swapped",
    "dob_year_transposed": "date of birth: year digits transposed",
    "swapped_forename_surname": "forename: swapped with the surname",
    "twins": (
        "family guard: same surname, same or day-month-swapped date of birth, "
        "unrelated forenames (possible twins)"
    ),
}


@pytest.fixture(scope="module")
def background() -> pd.DataFrame:
    records = generate_records(6000, seed=5)
    return records.drop(columns=["error_type", "hard_negative", "person_id"])


@pytest.fixture(scope="module")
def scored(background: pd.DataFrame) -> identmatch.Result:
    """The named pairs scored among the background records with a model trained on them."""
    model = identmatch.dedupe(background).model
    rows = []
    for name, (a, b) in {**SAME_PERSON, **DIFFERENT_PEOPLE}.items():
        rows.append({"record_id": f"{name}:a", **a})
        rows.append({"record_id": f"{name}:b", **b})
    frame = pd.concat([background, pd.DataFrame(rows)], ignore_index=True)
    frame["aliases"] = frame["aliases"].map(lambda v: v if isinstance(v, list) else [])
    return identmatch.dedupe(frame, model=model)


@pytest.mark.parametrize("name", sorted(SAME_PERSON))
def test_same_person_scores_as_match(scored: identmatch.Result, name: str) -> None:
    """Each named error still scores at or above the default threshold."""
    explanation = scored.explain(f"{name}:a", f"{name}:b")
    assert explanation.match_probability >= THRESHOLD, str(explanation)


@pytest.mark.parametrize("name", sorted(DIFFERENT_PEOPLE))
def test_different_people_score_below_threshold(scored: identmatch.Result, name: str) -> None:
    """Relatives and namesakes score below the default threshold."""
    explanation = scored.explain(f"{name}:a", f"{name}:b")
    assert explanation.match_probability < THRESHOLD, str(explanation)


@pytest.mark.parametrize("name", sorted(DIFFERENT_PEOPLE))
def test_different_people_end_in_different_entities(scored: identmatch.Result, name: str) -> None:
    """Relatives and namesakes are not joined, directly or through other records."""
    entity = scored.entities.set_index("record_id")["entity_id"]
    assert entity[f"{name}:a"] != entity[f"{name}:b"]


@pytest.mark.parametrize(("name", "label"), sorted(EXPECTED_LABEL.items()))
def test_explanation_names_the_level(scored: identmatch.Result, name: str, label: str) -> None:
    """explain() says in words which level fired."""
    explanation = scored.explain(f"{name}:a", f"{name}:b")
    assert label in [c.label for c in explanation.contributions]
    assert label in str(explanation)


def test_common_surnames_count_for_less(scored: identmatch.Result) -> None:
    """Term-frequency adjustment: agreeing on Smith is worth less than on a rare surname."""
    smith = scored.explain("two_john_smiths_same_year:a", "two_john_smiths_same_year:b")
    surname_smith = next(c for c in smith.contributions if c.comparison == "surname")
    assert surname_smith.label == "surname: the same"
    assert surname_smith.term_frequency_adjustment < 0
    pilling = scored.explain("father_and_son:a", "father_and_son:b")
    surname_pilling = next(c for c in pilling.contributions if c.comparison == "surname")
    assert surname_pilling.weight > surname_smith.weight
