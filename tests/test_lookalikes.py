"""Names written with lookalike letters of other alphabets are found as people see them.

``Веnеdісt`` with Cyrillic ``В``, ``е``, ``і``, ``с`` looks the same as ``Benedict`` on a page.
A search so written finds what the Latin search finds (through :class:`identmatch.Index`
and through the installed ``identmatch search``), and says the name mixes alphabets; a batch
counts such names per column.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import identmatch
from identmatch._prepare.read import read_records
from identmatch._prepare.records import prepare_records
from identmatch.testing import generate_records

from _support import disguised


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return generate_records(300, seed=5).drop(columns=["error_type", "hard_negative"])


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, records: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("lookalikes") / "known.duckdb"
    identmatch.Index.build(records, path).close()
    return path


def people(records: pd.DataFrame) -> list[dict[str, Any]]:
    """People whose forename and surname both have letters with a Cyrillic twin."""
    chosen = []
    for row in records.itertuples():
        forename, surname = str(row.forename), str(row.surname)
        if disguised(forename) != forename and disguised(surname) != surname:
            chosen.append({"forename": forename, "surname": surname, "dob": row.dob})
        if len(chosen) == 12:
            break
    return chosen


def test_a_disguised_name_finds_what_the_latin_name_finds(
    index: Path, records: pd.DataFrame
) -> None:
    with identmatch.Index.open(index) as known:
        for person in people(records):
            latin = known.search(person)
            assert latin, person  # the person is known
            mixed = {**person, "forename": disguised(person["forename"])}
            mixed["surname"] = disguised(person["surname"])
            found = known.search(mixed)
            assert [(h.entity_id, h.match_probability) for h in found] == [
                (h.entity_id, h.match_probability) for h in latin
            ]
            assert not found.unread  # read, not dropped
            notes = {u.field: u.message for u in found.notes}
            assert set(notes) == {"forename", "surname"}
            assert "mixes alphabets" in notes["forename"]
            for message in notes.values():  # no value quoted, in either spelling
                for name in (person["forename"], person["surname"], *mixed.values()):
                    assert str(name).casefold() not in message.casefold()
            assert not latin.notes


def test_the_installed_search_command_finds_a_disguised_name(
    index: Path, records: pd.DataFrame, tmp_path: Path
) -> None:
    person = people(records)[0]
    command = Path(sys.executable).with_name("identmatch")

    def search(forename: str, surname: str) -> str:
        done = subprocess.run(
            [
                *(str(command), "search", "--index", str(index), "--purpose", "check"),
                *("--forename", forename, "--surname", surname, "--dob", str(person["dob"])),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    latin = search(person["forename"], person["surname"]).splitlines()
    mixed = search(disguised(person["forename"]), disguised(person["surname"])).splitlines()
    notes = [line for line in mixed if line.startswith("note: ")]
    assert [n.split(" mixes alphabets")[0] for n in notes] == ["note: forename", "note: surname"]
    assert [line for line in mixed if line not in notes] == latin  # the same hits, evidence
    assert latin[0].startswith("1. E")  # found, as a match


def test_names_mixing_alphabets_are_counted_per_column(records: pd.DataFrame) -> None:
    frame = records.iloc[:40].copy()
    frame.loc[frame.index[:7], "forename"] = frame["forename"].iloc[:7].map(disguised)
    frame.loc[frame.index[:3], "surname"] = "Иван"  # one alphabet throughout: not counted

    def cyrillic(c: str) -> bool:
        return "\u0400" <= c <= "\u04ff"

    expected = sum(
        1
        for v in frame["forename"].dropna()
        if any(map(cyrillic, v)) and any(c.isalpha() and not cyrillic(c) for c in v)
    )
    _, quality = prepare_records(read_records(frame))
    assert quality.columns["forename"].mixed_alphabets == expected > 3
    assert quality.columns["surname"].mixed_alphabets == 0
