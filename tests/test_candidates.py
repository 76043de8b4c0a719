"""Candidate generation: the pairs the reviews' "hidden men" need are compared, at bounded cost.

Each miss named in the recall issue gets a pair of made-up records placed among generated
ones; the test holds that the pair is among ``result.candidates`` (compared and scored). The
invariants (pairs per record bounded, a larger budget never drops a pair, a link pairs only
across its inputs, DuckDB and search agree) hold on generated data.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import identmatch
from identmatch._candidates.blocking import CandidateSettings
from identmatch._candidates.choose import key_weight, rank_query_candidates, rule_families
from identmatch._model.model import Model
from identmatch.testing import generate_records

FIELDS = ["record_id", "forename", "middle_names", "surname", "dob", "postcode", "aliases"]


@pytest.fixture(scope="module")
def background() -> pd.DataFrame:
    frame = generate_records(400, seed=5)
    return frame[[c for c in FIELDS if c in frame.columns]]


def _compared(background: pd.DataFrame, a: dict[str, Any], b: dict[str, Any]) -> bool:
    extra = pd.DataFrame([{"record_id": "X1", **a}, {"record_id": "X2", **b}])
    frame = pd.concat([background, extra], ignore_index=True)
    result = identmatch.dedupe(frame)
    pairs = set(
        zip(result.candidates["record_id_l"], result.candidates["record_id_r"], strict=True)
    )
    return ("X1", "X2") in pairs


def test_same_name_missing_dob_different_postcode_is_compared(background: pd.DataFrame) -> None:
    a = {"forename": "Tobias", "surname": "Wrenfield", "dob": "1900-01-01", "postcode": "LS6 4AB"}
    b = {"forename": "tobias", "surname": "WRENFIELD", "dob": None, "postcode": "M14 5RT"}
    assert _compared(background, a, b)


def test_swapped_and_respelled_names_are_compared(background: pd.DataFrame) -> None:
    a = {"forename": "jairaj", "surname": "swamy", "dob": "1984-07-19", "postcode": None}
    b = {"forename": "Swamie", "surname": "Jairaj", "dob": "19/07/1984", "postcode": "B8 5RN"}
    assert _compared(background, a, b)


def test_changed_surname_same_forename_middle_dob_is_compared(background: pd.DataFrame) -> None:
    a = {"forename": "Delia", "middle_names": "Rose", "surname": "Harcastle", "dob": "1979-03-02"}
    b = {"forename": "Delia", "middle_names": "Rose", "surname": "Pemberton", "dob": "1979-03-02"}
    assert _compared(background, a, b)


def test_one_half_of_double_barrelled_surname_is_compared(background: pd.DataFrame) -> None:
    a = {"forename": "Ivo", "surname": "Carrow-Lindqvist", "dob": None, "postcode": "CV2 8NN"}
    b = {"forename": "Ivo", "surname": "Lindqvist", "dob": "1991-10-30", "postcode": "CV2 1AB"}
    assert _compared(background, a, b)


def test_transliterated_names_without_dob_are_compared(background: pd.DataFrame) -> None:
    a = {"forename": "Usman", "surname": "Qureshi", "dob": None, "postcode": "BD3 8YJ"}
    b = {"forename": "Osman", "surname": "Kureshi", "dob": "1988-05-04", "postcode": None}
    assert _compared(background, a, b)


def test_initial_with_rare_surname_without_dob_is_compared(background: pd.DataFrame) -> None:
    a = {"forename": "C", "surname": "Ogunleye", "dob": None, "postcode": None}
    b = {"forename": "Chidi", "surname": "Ogunleye", "dob": "1975-12-01", "postcode": "SE15 0AQ"}
    assert _compared(background, a, b)


def test_nickname_with_dob_slip_is_compared(background: pd.DataFrame) -> None:
    a = {"forename": "Bill", "surname": "Thackwray", "dob": "1985-04-03", "postcode": "NE15 8DX"}
    b = {"forename": "William", "surname": "Thackwray", "dob": "1985-03-04", "postcode": None}
    assert _compared(background, a, b)


def test_forename_typo_with_dob_slip_is_compared(background: pd.DataFrame) -> None:
    a = {"forename": "Kieran", "surname": "Moxley", "dob": "1993-06-21", "postcode": "L6 0AL"}
    b = {"forename": "Kiernan", "surname": "Moxley", "dob": "1993-06-12", "postcode": "L6 2PF"}
    assert _compared(background, a, b)


def test_common_name_is_refined_not_dropped() -> None:
    """A name too common to compare with all its namesakes is compared within a birth year."""
    rows = [
        {"record_id": f"S{i:03d}", "forename": "John", "surname": "Smith",
         "dob": f"{1940 + i % 60}-{1 + i % 12:02d}-{1 + i % 28:02d}", "postcode": None}
        for i in range(300)
    ]  # fmt: skip
    rows.append({"record_id": "T1", "forename": "John", "surname": "Smith", "dob": "1977"})
    rows.append({"record_id": "T2", "forename": "John", "surname": "Smith", "dob": "1977-08-09"})
    result = identmatch.dedupe(pd.DataFrame(rows))
    pairs = set(
        zip(result.candidates["record_id_l"], result.candidates["record_id_r"], strict=True)
    )
    assert ("T1", "T2") in pairs
    assert len(pairs) <= result.model.candidates.per_record * len(rows)


@pytest.fixture(scope="module")
def generated() -> pd.DataFrame:
    frame = generate_records(1500, seed=11)
    return frame.drop(columns=["error_type", "hard_negative", "person_id"])


def _with(model: Model, **changes: int) -> Model:
    return model.model_copy(update={"candidates": model.candidates.model_copy(update=changes)})


def test_pairs_per_record_are_bounded_and_a_larger_budget_keeps_every_pair(
    generated: pd.DataFrame,
) -> None:
    first = identmatch.dedupe(generated, config=identmatch.ModelConfig(train="never"))
    pairs: dict[int, set[tuple[str, str]]] = {}
    for k in (2, 5, 9):
        run = identmatch.dedupe(generated, model=_with(first.model, per_record=k))
        pairs[k] = set(
            zip(run.candidates["record_id_l"], run.candidates["record_id_r"], strict=True)
        )
        assert len(pairs[k]) <= k * len(generated)
        assert all(a < b for a, b in pairs[k])
    assert pairs[2] <= pairs[5] <= pairs[9]


def test_a_lower_block_cap_never_adds_a_key(generated: pd.DataFrame) -> None:
    """Without node pruning, a lower cap can only remove pairs (it drops whole blocks)."""
    model = identmatch.dedupe(generated, config=identmatch.ModelConfig(train="never")).model
    found = []
    for cap in (10, 40):
        run = identmatch.dedupe(generated, model=_with(model, per_record=1000, max_block_size=cap))
        found.append(
            set(zip(run.candidates["record_id_l"], run.candidates["record_id_r"], strict=True))
        )
    assert found[0] <= found[1]


def test_link_pairs_only_across_inputs(generated: pd.DataFrame) -> None:
    left, right = generated.iloc[:700], generated.iloc[700:]
    result = identmatch.link(left, right)
    assert len(result.candidates) > 0
    assert set(result.candidates["input_l"]) == {"left"}
    assert set(result.candidates["input_r"]) == {"right"}
    assert set(result.candidates["record_id_l"]) <= set(left["record_id"])
    assert set(result.candidates["record_id_r"]) <= set(right["record_id"])


def test_every_scored_pair_is_a_candidate(generated: pd.DataFrame) -> None:
    result = identmatch.dedupe(generated)
    candidates = set(
        zip(result.candidates["record_id_l"], result.candidates["record_id_r"], strict=True)
    )
    scored = {
        tuple(sorted(p))
        for p in zip(result.pairs["record_id_l"], result.pairs["record_id_r"], strict=True)
    }
    assert scored <= candidates


def test_rules_reading_the_same_fields_are_one_family() -> None:
    rules = (("name_keys[]",), ("name_ph_sorted",), ("name_tokens[]", "dob"), ("dob",))
    families = rule_families(rules)
    assert families[0] == families[1]
    assert len({families[0], families[2], families[3]}) == 3


@settings(max_examples=60, deadline=None)
@given(
    blocks=st.dictionaries(
        st.integers(0, 50),
        st.tuples(
            st.integers(0, 3), st.lists(st.integers(0, 30), min_size=1, max_size=12, unique=True)
        ),
        max_size=12,
    ),
    cap=st.integers(2, 15),
)
def test_query_ranking_keeps_best_and_respects_the_cap(
    blocks: dict[int, tuple[int, list[int]]], cap: int
) -> None:
    """Search's ranking: rows only from usable keys, best score first, each row once."""
    rules = (("forename_std",), ("surname_std",), ("dob",), ("postcode_std",))
    config = CandidateSettings(max_block_size=cap, per_record=3, search_per_query=5)
    keys = [(rule, hashed) for hashed, (rule, _) in blocks.items()]
    rows_of = {hashed: rows for hashed, (_, rows) in blocks.items()}
    chosen = rank_query_candidates(keys, rows_of, rules, 1000, config)
    usable = {row for rows in rows_of.values() if len(rows) + 1 <= cap for row in rows}
    assert set(chosen) <= usable
    assert len(chosen) == len(set(chosen)) == min(5, len(usable))
    everything = rank_query_candidates(keys, rows_of, rules, 1000, config, limit=10_000)
    assert everything[: len(chosen)] == chosen


def test_key_weight_falls_with_block_size() -> None:
    assert key_weight(1000, 2) > key_weight(1000, 20) > key_weight(1000, 1000) == 0.0
