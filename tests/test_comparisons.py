"""Comparison levels: the Python evaluator and the compiled DuckDB SQL assign the same level."""

from __future__ import annotations

import functools
from typing import Any

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

import identmatch.comparisons as ic
from identmatch._prepare.records import prepare_records
from identmatch._sql import quote_identifier

ALL_SPECS = [
    ic.forename_comparison(),
    ic.surname_comparison(),
    ic.middle_name_comparison(),
    ic.date_of_birth_comparison(),
    ic.postcode_comparison(),
    ic.sex_comparison(),
    ic.nhs_number_comparison(),
    ic.address_comparison(),
    ic.alias_comparison(),
    ic.family_comparison(),
]

LIST_COLUMNS = {"surname_parts", "forename_nicks", "name_keys", "alias_keys", "surname_aliases"}


def prepared(**fields: Any) -> dict[str, Any]:
    """One record run through the real standardisers, as a dict of prepared columns."""
    import pandas as pd

    frame, _ = prepare_records(pd.DataFrame([{"record_id": "x", **fields}]))
    return frame.iloc[0].to_dict()


_CONNECTION = duckdb.connect()


@functools.cache
def _conditions(spec: ic.ComparisonSpec) -> list[str]:
    compiled = ic.compile_comparison(spec).get_comparison("duckdb")
    return [level.sql_condition for level in compiled.comparison_levels]


def _sql_columns(conditions: list[str]) -> list[str]:
    """Every prepared column the conditions mention (as "name_l" / "name_r")."""
    import re

    found = set()
    for condition in conditions:
        found |= set(re.findall(r'"([a-z_]+)_[lr]"', condition))
    return sorted(found)


def sql_level(spec: ic.ComparisonSpec, left: dict[str, Any], right: dict[str, Any]) -> int:
    """The level DuckDB assigns, from the SQL Splink compiles for the spec."""
    conditions = _conditions(spec)
    cases = " ".join(
        f"WHEN {condition} THEN {i}"
        for i, condition in enumerate(conditions)
        if condition != "ELSE"
    )
    columns = _sql_columns(conditions)
    selects, params = [], []
    for column in columns:
        for side, record in (("l", left), ("r", right)):
            value = record.get(column)
            kind = "VARCHAR[]" if column in LIST_COLUMNS or column.endswith("_swaps") else "VARCHAR"
            selects.append(f"CAST(? AS {kind}) AS {quote_identifier(f'{column}_{side}')}")
            params.append(list(value) if isinstance(value, list | tuple) else value)
    sql = f"SELECT CASE {cases} ELSE {len(conditions) - 1} END FROM (SELECT {', '.join(selects)})"
    row = _CONNECTION.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


SOUNDS = "{}: sounds the same (spelling or transliteration variant)"
NICK = "forename: a nickname, short form or listed variant of the other"
YEAR_ONLY = "date of birth: only the year is known on one side, and it matches"
ALIAS = "aliases: one record's known alias is the other's name"
TWINS = (
    "family guard: same surname, same or day-month-swapped date of birth, "
    "unrelated forenames (possible twins)"
)
PARENT = (
    "family guard: same surname, related forename, born 14 or more years apart on a "
    "different day (possible parent and child)"
)
NO_FAMILY = "family guard: no sign of two relatives"
SWAP_RESPELLED = "{}: swapped with the {}, one of the two respelled or a nickname"
ONCE = " (weighed once, under forename)"
MIDDLE_SAME = "middle name: the same"
MIDDLE_DIFF = "middle name: different"

CASES = [
    ("forename", {"forename": "Jon"}, {"forename": "jon"}, "forename: the same"),
    ("forename", {"forename": "Stephen"}, {"forename": "Steven"}, SOUNDS.format("forename")),
    ("forename", {"forename": "Jonathon"}, {"forename": "Jonathan"}, NICK),
    ("forename", {"forename": "Bill"}, {"forename": "William"}, NICK),
    ("forename", {"forename": "Rob"}, {"forename": "Robin"}, NICK),
    ("forename", {"forename": "Robert"}, {"forename": "Robin"}, "forename: different"),
    ("forename", {"forename": "Mohammed"}, {"forename": "Muhammad"}, SOUNDS.format("forename")),
    (
        "forename",
        {"forename": "Smith", "surname": "John"},
        {"forename": "John", "surname": "Smith"},
        "forename: swapped with the surname",
    ),
    (
        "forename",
        {"forename": "jairaj", "surname": "swamy"},
        {"forename": "Swamie", "surname": "Jairaj"},
        SWAP_RESPELLED.format("forename", "surname"),
    ),
    (
        "surname",
        {"forename": "jairaj", "surname": "swamy"},
        {"forename": "Swamie", "surname": "Jairaj"},
        SWAP_RESPELLED.format("surname", "forename") + ONCE,
    ),
    (
        "forename",
        {"forename": "Kettlewell", "surname": "Dick"},
        {"forename": "Richard", "surname": "Kettlewell"},
        SWAP_RESPELLED.format("forename", "surname"),
    ),
    (
        "surname",
        {"forename": "Richard", "surname": "Kettlewell"},
        {"forename": "Kettlewell", "surname": "Dick"},
        SWAP_RESPELLED.format("surname", "forename") + ONCE,
    ),
    (
        "forename",
        {"forename": "Stewart", "surname": "Andrew"},
        {"forename": "Andrew", "surname": "Stuart"},
        SWAP_RESPELLED.format("forename", "surname"),
    ),
    (
        "surname",
        {"forename": "Smith", "surname": "John"},
        {"forename": "John", "surname": "Smith"},
        "surname: swapped with the forename" + ONCE,
    ),
    (
        "middle_name",
        {"forename": "Amy", "surname": "Cole", "dob": "2001-05-06", "middle_names": "Rose"},
        {"forename": "Zara", "surname": "Cole", "dob": "2001-05-06", "middle_names": "Rose"},
        "middle name: not weighed (possible twins, see the family guard)",
    ),
    (
        "forename",
        {"forename": "Stewart", "surname": "Andrew"},
        {"forename": "Andrew", "surname": "Mbeki"},
        "forename: different",
    ),
    (
        "forename",
        {"forename": "Thomas", "surname": "James"},
        {"forename": "James", "surname": "Okafor"},
        "forename: different",
    ),
    ("forename", {"forename": "Usman"}, {"forename": "Osman"}, NICK),
    ("forename", {"forename": "Ilyas"}, {"forename": "Elias"}, NICK),
    ("forename", {"forename": "Khadija"}, {"forename": "Khadijah"}, SOUNDS.format("forename")),
    (
        "forename",
        {"forename": "Mary Jane"},
        {"forename": "Mary"},
        "forename: same first name, other given names differ",
    ),
    (
        "forename",
        {"forename": "Lee", "middle_names": "John"},
        {"forename": "John"},
        "forename: matches the other's middle name",
    ),
    (
        "forename",
        {"forename": "J"},
        {"forename": "Jasper"},
        "forename: given as an initial, and it matches",
    ),
    (
        "forename",
        {"forename": "Francesca"},
        {"forename": "Franchesca"},
        "forename: spelled very similarly",
    ),
    ("forename", {"forename": "Mary"}, {"forename": None}, "forename: missing on one side"),
    ("forename", {"forename": "Mary"}, {"forename": "Zoltan"}, "forename: different"),
    ("surname", {"surname": "Smith-Jones"}, {"surname": "Smithjones"}, "surname: the same"),
    (
        "surname",
        {"surname": "Smith-Jones"},
        {"surname": "Jones"},
        "surname: shares one part of a double-barrelled surname",
    ),
    ("surname", {"surname": "Phillips"}, {"surname": "Philips"}, SOUNDS.format("surname")),
    ("surname", {"surname": "Stephenson"}, {"surname": "Stevenson"}, SOUNDS.format("surname")),
    ("surname", {"surname": "McDonald"}, {"surname": "MacDonald"}, SOUNDS.format("surname")),
    ("surname", {"surname": "Chaudhry"}, {"surname": "Choudhury"}, SOUNDS.format("surname")),
    ("surname", {"surname": "Hussain"}, {"surname": "Hussein"}, SOUNDS.format("surname")),
    (
        "surname",
        {"surname": "Okoro", "aliases": ["Ann Brennan"]},
        {"surname": "Brennan"},
        "surname: a former or alias surname of the other",
    ),
    ("surname", {"surname": "Wójcik"}, {"surname": "Wojcik"}, "surname: the same"),
    ("surname", {"surname": "Thompson"}, {"surname": "Thomson"}, "surname: spelled very similarly"),
    (
        "surname",
        {"surname": "Christophers"},
        {"surname": "Cristophers"},
        "surname: spelled very similarly",
    ),
    ("surname", {"surname": "Smith"}, {"surname": "Khan"}, "surname: different"),
    ("middle_name", {"middle_names": "Tobias"}, {"middle_names": "tobias"}, MIDDLE_SAME),
    (
        "middle_name",
        {"middle_names": "Tobias Emeka"},
        {"middle_names": "Tobias"},
        "middle name: same first middle name, others differ",
    ),
    (
        "middle_name",
        {"middle_names": "Francesca"},
        {"middle_names": "Franchesca"},
        "middle name: spelled very similarly",
    ),
    ("middle_name", {"middle_names": "Tobias"}, {"middle_names": "Emeka"}, MIDDLE_DIFF),
    (
        "middle_name",
        {"middle_names": "Tobias"},
        {"middle_names": None},
        "middle name: missing on one side",
    ),
    ("dob", {"dob": "1987-03-04"}, {"dob": "04/03/1987"}, "date of birth: the same"),
    ("dob", {"dob": "1987-03-04"}, {"dob": "1987-03-05"}, "date of birth: one digit different"),
    ("dob", {"dob": "1987-03-04"}, {"dob": "1987-04-03"}, "date of birth: day and month swapped"),
    ("dob", {"dob": "1987-03-04"}, {"dob": "1978-03-04"}, "date of birth: year digits transposed"),
    ("dob", {"dob": "1989-03-04"}, {"dob": "1990-03-04"}, "date of birth: year off by one"),
    ("dob", {"dob": "1987-03-04"}, {"dob": "1987"}, YEAR_ONLY),
    ("dob", {"dob": "1987-03-04"}, {"dob": "01/01/1987"}, YEAR_ONLY),
    ("dob", {"dob": "1987-03-04"}, {"dob": "1987-11-30"}, "date of birth: same year"),
    ("dob", {"dob": "1987-03-04"}, {"dob": "1900-01-01"}, "date of birth: missing on one side"),
    ("dob", {"dob": "1987-03-04"}, {"dob": "1962-11-30"}, "date of birth: different"),
    ("postcode", {"postcode": "ls6 4ab"}, {"postcode": "LS64AB"}, "postcode: the same"),
    ("postcode", {"postcode": "LS6 4AB"}, {"postcode": "LS6 4QZ"}, "postcode: same sector"),
    ("postcode", {"postcode": "LS6 4AB"}, {"postcode": "LS6 2QZ"}, "postcode: same district"),
    ("postcode", {"postcode": "LS6 4AB"}, {"postcode": "M14 5RT"}, "postcode: different"),
    ("sex", {"sex": "male"}, {"sex": "M"}, "sex: the same"),
    ("sex", {"sex": "F"}, {"sex": "M"}, "sex: different"),
    (
        "nhs_number",
        {"nhs_number": "943 476 5919"},
        {"nhs_number": "9434765919"},
        "NHS number: the same",
    ),
    (
        "nhs_number",
        {"nhs_number": "9434765918"},
        {"nhs_number": "9434765919"},
        "NHS number: missing on one side",
    ),
    ("address", {"address": "7 High Street"}, {"address": "7 High Stret"}, "address: very similar"),
    (
        "aliases",
        {"forename": "Dean", "surname": "Walsh"},
        {"forename": "John", "surname": "Smith", "aliases": ["Dean Walsh"]},
        ALIAS,
    ),
    (
        "aliases",
        {"forename": "Jo", "surname": "Bloggs", "aliases": ["Dean Walsh"]},
        {"forename": "John", "surname": "Smith", "aliases": ["Mr Dean WALSH"]},
        ALIAS,
    ),
    ("aliases", {"forename": "Dean"}, {"forename": "John"}, "aliases: neither record lists any"),
    (
        "family",
        {"forename": "Amy", "surname": "Cole", "dob": "2001-05-06"},
        {"forename": "Zara", "surname": "Cole", "dob": "2001-05-06"},
        TWINS,
    ),
    (
        "family",
        {"forename": "Amy", "surname": "Cole", "dob": "2001-05-06"},
        {"forename": "Amie", "surname": "Cole", "dob": "2001-05-06"},
        NO_FAMILY,
    ),
    (
        "family",
        {"forename": "John", "surname": "Cole", "dob": "1961-02-03"},
        {"forename": "John", "surname": "Cole", "dob": "1988-07-09"},
        PARENT,
    ),
    (
        "family",
        {"forename": "John", "surname": "Cole", "dob": "1961-02-03"},
        {"forename": "John", "surname": "Cole", "dob": "1981-02-03"},
        NO_FAMILY,
    ),
    # A slip in one twin's date of birth does not hide the twins ...
    (
        "family",
        {"forename": "Ruby", "surname": "Evans", "dob": "1980-10-01"},
        {"forename": "Sam", "surname": "Evans", "dob": "1980-01-10"},
        TWINS,
    ),
    # ... but a one-digit slip is weighed as a slip, not read as twins (see _close_date_levels).
    (
        "family",
        {"forename": "Kwame", "surname": "Danjuma", "dob": "1964-12-04"},
        {"forename": "Joseph", "surname": "Danjuma", "dob": "1964-12-09"},
        NO_FAMILY,
    ),
    # A father and son recorded under a nickname, an initial or a respelling of one name.
    (
        "family",
        {"forename": "David", "surname": "Dixon", "dob": "1952-07-21"},
        {"forename": "Dave", "surname": "Dixon", "dob": "1978-03-02"},
        PARENT,
    ),
    (
        "family",
        {"forename": "C", "surname": "Maguire", "dob": "1958-08-05"},
        {"forename": "Conor", "surname": "Maguire", "dob": "1993-04-26"},
        PARENT,
    ),
    # Relatives do not share an NHS number: the same one means one person, not twins or a son.
    (
        "family",
        {"forename": "Amy", "surname": "Cole", "dob": "2001-05-06", "nhs_number": "9434765919"},
        {"forename": "Zara", "surname": "Cole", "dob": "2001-05-06", "nhs_number": "943 476 5919"},
        NO_FAMILY,
    ),
    (
        "family",
        {"forename": "John", "surname": "Cole", "dob": "1961-02-03", "nhs_number": "9434765919"},
        {"forename": "John", "surname": "Cole", "dob": "1988-07-09", "nhs_number": "9434765919"},
        NO_FAMILY,
    ),
    # Unrelated forenames a generation apart are not a namesake son.
    (
        "family",
        {"forename": "Alexander", "surname": "Williams", "dob": "1953-03-14"},
        {"forename": "George", "surname": "Williams", "dob": "1989-06-29"},
        NO_FAMILY,
    ),
]


@pytest.mark.parametrize(
    ("name", "left", "right", "label"), CASES, ids=[c[3] + f"-{i}" for i, c in enumerate(CASES)]
)
@pytest.mark.parametrize("path", ["python", "sql"])
def test_level_table(
    name: str, left: dict[str, Any], right: dict[str, Any], label: str, path: str
) -> None:
    """Each case lands on the expected level, by Python and by compiled SQL alike."""
    spec = next(s for s in ALL_SPECS if s.name == name)
    a, b = prepared(**left), prepared(**right)
    level = ic.evaluate_level(spec, a, b) if path == "python" else sql_level(spec, a, b)
    assert spec.levels[level].label == label


names = st.sampled_from(
    [
        "Smith",
        "Smyth",
        "Smith-Jones",
        "Jones",
        "Mohammed",
        "Muhammad",
        "Ann",
        "Anne",
        "Jon",
        "John",
        "",
        "O'Neil",
        "Oneill",
        "Wójcik",
        "Wojcik",
        "Li",
        "Lee",
        "McDonald",
        "MacDonald",
    ]
) | st.text(alphabet="abcdefghij -'", max_size=10)
dates = st.sampled_from(
    ["1987-03-04", "04/03/1987", "1987-04-03", "1978-03-04", "1987", ""]
) | st.dates().map(str)


@given(a=names, b=names, da=dates, db=dates)
def test_python_and_sql_agree_on_arbitrary_records(a: str, b: str, da: str, db: str) -> None:
    """For any names and dates, the Python evaluator and DuckDB SQL give the same level."""
    left = prepared(surname=a, forename=b, dob=da, aliases=[f"{b} {a}"])
    right = prepared(surname=b, forename=a, dob=db, middle_names=a)
    for spec in ALL_SPECS:
        assert ic.evaluate_level(spec, left, right) == sql_level(spec, left, right)


def test_levels_are_symmetric() -> None:
    """Swapping the two records never changes the level (checked over the case table)."""
    for name, left, right, _ in CASES:
        spec = next(s for s in ALL_SPECS if s.name == name)
        a, b = prepared(**left), prepared(**right)
        assert ic.evaluate_level(spec, a, b) == ic.evaluate_level(spec, b, a)


def test_specs_are_frozen_values() -> None:
    """Specs cannot be changed in place; variants come from model_copy."""
    spec = ic.forename_comparison()
    with pytest.raises(ValueError, match="frozen"):
        spec.name = "other"  # type: ignore[misc]
    renamed = spec.model_copy(update={"name": "given"})
    assert renamed.name == "given"
    assert spec.name == "forename"


def test_compiling_does_not_change_the_spec() -> None:
    """compile_comparison is pure: the spec is equal before and after, for both dialects."""
    spec = ic.surname_comparison()
    before = spec.model_dump()
    ic.compile_comparison(spec).get_comparison("duckdb")
    ic.compile_comparison(spec).get_comparison("spark")
    assert spec.model_dump() == before


@pytest.mark.parametrize("path", ["python", "sql"])
@pytest.mark.parametrize(
    ("left_id", "right_id", "label"),
    [
        ("AB1234", "AB1234", NO_FAMILY),
        ("AB1234", "AB1235", NO_FAMILY),  # one character apart: a typo of one identifier
        ("AB1234", "AB1243", NO_FAMILY),  # two adjacent characters swapped
        ("AB1234", "AB2143", TWINS),  # two swaps: another identifier
        ("AB1234", "ZZ9876", TWINS),
        (None, "AB1234", TWINS),
    ],
)
def test_declared_identifier_silences_the_family_guard(
    left_id: str | None, right_id: str | None, label: str, path: str
) -> None:
    """Possible twins sharing a declared identifier (or one typo of it) are one person."""
    spec = ic.family_comparison(("nhs_std", "id_case"), (("id_case", "id_case_swaps"),))

    def swaps(value: str | None) -> list[str] | None:
        if value is None:
            return None
        return [value[:i] + value[i + 1] + value[i] + value[i + 2 :] for i in range(len(value) - 1)]

    a = {**prepared(forename="Amy", surname="Cole", dob="2001-05-06"), "id_case": left_id}
    b = {**prepared(forename="Zara", surname="Cole", dob="2001-05-06"), "id_case": right_id}
    a["id_case_swaps"], b["id_case_swaps"] = swaps(left_id), swaps(right_id)
    level = ic.evaluate_level(spec, a, b) if path == "python" else sql_level(spec, a, b)
    assert spec.levels[level].label == label


@pytest.mark.parametrize(
    ("kind", "threshold"),
    [
        ("jaro_winkler", 1.5),
        ("jaro_winkler", -0.1),
        ("levenshtein", 1.5),
        ("levenshtein", -1),
        ("array_intersect", 0),
    ],
)
def test_a_threshold_must_fit_its_kind(kind: str, threshold: float) -> None:
    """One field, three meanings: each kind's threshold is checked for what it means."""
    from pydantic import ValidationError

    from identmatch._model.levels import LevelSpec

    with pytest.raises(ValidationError, match="threshold is a"):
        LevelSpec(kind=kind, column="x", threshold=threshold, label="x", m=0.5, u=0.5)  # type: ignore[arg-type]


def test_threshold_readings() -> None:
    from identmatch._model.levels import LevelSpec

    jw = LevelSpec(kind="jaro_winkler", column="x", threshold=0.92, label="x", m=0.5, u=0.5)
    lev = LevelSpec(kind="levenshtein", column="x", threshold=2, label="x", m=0.5, u=0.5)
    both = LevelSpec(kind="array_intersect", column="x", label="x", m=0.5, u=0.5)
    assert (jw.similarity_floor, lev.max_edits, both.min_shared) == (0.92, 2, 1)
