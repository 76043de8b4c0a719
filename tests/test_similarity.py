"""Tests for identmatch._model.similarity: scalar similarities with one signature and missing
rule."""

from __future__ import annotations

import inspect
import random
from typing import Protocol

import duckdb
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from identmatch._model.similarity import jaro_winkler, levenshtein_similarity, token_set_similarity


class Similarity(Protocol):
    def __call__(
        self, a: str | None, b: str | None, /, *, score_cutoff: float | None = None
    ) -> float: ...


SIMILARITIES: list[Similarity] = [jaro_winkler, levenshtein_similarity, token_set_similarity]
SIMILARITY_IDS = ["jaro_winkler", "levenshtein", "token_set"]

# Made-up standardised names: near misses, transpositions, prefixes, double-barrels.
NAME_PAIRS = [
    ("martha", "marhta"),
    ("dwayne", "duane"),
    ("dixon", "dicksonx"),
    ("jon", "john"),
    ("smith", "smyth"),
    ("smith jones", "smithjones"),
    ("mary jane", "jane mary"),
    ("oneil", "oneill"),
    ("wojcik", "wojcick"),
    ("stephenson", "stevenson"),
    ("a", "b"),
    ("a", "ab"),
    ("ab", "ba"),
    ("abcd", "abce"),
    ("abcdefgh", "abcdxyzq"),
    ("kowalski", "kowalska"),
    ("x", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ("lukasz", "łukasz"),
]


def _random_pairs(count: int, seed: int) -> list[tuple[str, str]]:
    """Random short strings over a small alphabet, so that prefixes and matches are common."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice("abcde ") for _ in range(rng.randint(1, 14)))

    return [(word(), word()) for _ in range(count)]


class TestJaroWinkler:
    @pytest.mark.parametrize(
        ("a", "b", "expected"),
        [
            ("martha", "marhta", 0.9611111111111111),
            ("dwayne", "duane", 0.84),
            ("dixon", "dicksonx", 0.8133333333333332),
            ("smith", "smith", 1.0),
            ("abc", "xyz", 0.0),
        ],
        ids=["transposition", "dwayne-duane", "dixon", "identical", "disjoint"],
    )
    def test_textbook_values(self, a: str, b: str, expected: float) -> None:
        """Scores match the textbook Jaro-Winkler values (prefix weight 0.1)."""
        assert jaro_winkler(a, b) == pytest.approx(expected, abs=1e-12)

    def test_equals_duckdb(self) -> None:
        """Scores equal DuckDB's jaro_winkler_similarity to within 1e-9, in both orders."""
        pairs = NAME_PAIRS + _random_pairs(3000, seed=20240611)
        con = duckdb.connect()
        try:
            con.execute("CREATE TABLE pairs (a VARCHAR, b VARCHAR)")
            con.executemany("INSERT INTO pairs VALUES (?, ?)", pairs)
            rows = con.execute(
                "SELECT a, b, jaro_winkler_similarity(a, b), jaro_winkler_similarity(b, a) "
                "FROM pairs"
            ).fetchall()
        finally:
            con.close()
        assert len(rows) == len(pairs)
        for a, b, duck_ab, duck_ba in rows:
            assert jaro_winkler(a, b) == pytest.approx(duck_ab, abs=1e-9), (a, b)
            assert jaro_winkler(b, a) == pytest.approx(duck_ba, abs=1e-9), (b, a)


class TestLevenshtein:
    @pytest.mark.parametrize(
        ("a", "b", "expected"),
        [
            ("smith", "smyth", 0.8),
            ("jon", "john", 0.75),
            ("abc", "xyz", 0.0),
            ("ann", "ann", 1.0),
        ],
        ids=["one-substitution", "one-insertion", "disjoint", "identical"],
    )
    def test_values(self, a: str, b: str, expected: float) -> None:
        """Similarity is 1 - edits / length of the longer string."""
        assert levenshtein_similarity(a, b) == pytest.approx(expected)


class TestTokenSet:
    @pytest.mark.parametrize(
        ("a", "b", "expected"),
        [
            ("mary jane", "jane mary", 1.0),
            ("mary jane", "jane", 1.0),
            ("ann lee", "ann lee lee", 1.0),
            ("abc", "xyz", 0.0),
            ("   ", "   ", 1.0),
        ],
        ids=["reordered", "subset", "repeated-word", "disjoint", "identical-blank"],
    )
    def test_values(self, a: str, b: str, expected: float) -> None:
        """Word order, repeats and extra words do not lower the score."""
        assert token_set_similarity(a, b) == pytest.approx(expected)


class TestSharedRules:
    @pytest.mark.parametrize("similarity", SIMILARITIES, ids=SIMILARITY_IDS)
    @pytest.mark.parametrize(
        ("a", "b"),
        [
            (None, "ann"),
            ("ann", None),
            (None, None),
            (float("nan"), "ann"),
            (pd.NA, "ann"),
            ("", "ann"),
            ("", ""),
        ],
        ids=["none-left", "none-right", "none-both", "nan", "pd-na", "empty", "empty-both"],
    )
    def test_missing_scores_zero(self, similarity: Similarity, a: object, b: object) -> None:
        """A missing or empty value on either side scores 0.0."""
        assert similarity(a, b) == 0.0  # type: ignore[arg-type]

    @pytest.mark.parametrize("similarity", SIMILARITIES, ids=SIMILARITY_IDS)
    def test_cutoff_boundary(self, similarity: Similarity) -> None:
        """A score equal to the cutoff is kept, and one just below it becomes 0.0."""
        score = similarity("smith", "smyth")
        assert similarity("smith", "smyth", score_cutoff=score) == score
        assert similarity("smith", "smyth", score_cutoff=score + 1e-12) == 0.0

    @pytest.mark.parametrize("similarity", SIMILARITIES, ids=SIMILARITY_IDS)
    @given(a=st.text(), b=st.text())
    def test_symmetric_and_in_range(self, similarity: Similarity, a: str, b: str) -> None:
        """Scores are in [0, 1] and do not depend on argument order."""
        score = similarity(a, b)
        assert 0.0 <= score <= 1.0
        assert similarity(b, a) == score

    @pytest.mark.parametrize("similarity", SIMILARITIES, ids=SIMILARITY_IDS)
    @given(a=st.text(min_size=1))
    def test_identical_scores_one(self, similarity: Similarity, a: str) -> None:
        """Identical non-empty values score 1.0."""
        assert similarity(a, a) == 1.0

    @pytest.mark.parametrize("similarity", SIMILARITIES, ids=SIMILARITY_IDS)
    @given(a=st.text(), b=st.text(), cutoff=st.floats(0.0, 1.0))
    def test_respects_cutoff(self, similarity: Similarity, a: str, b: str, cutoff: float) -> None:
        """With a cutoff, the score is either 0.0 or the plain score at or above the cutoff."""
        plain = similarity(a, b)
        cut = similarity(a, b, score_cutoff=cutoff)
        assert cut == (plain if plain >= cutoff else 0.0)


def test_signature_is_shared() -> None:
    """Every similarity takes two positional values and a keyword-only score_cutoff."""
    shapes = {
        tuple((p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values())
        for f in SIMILARITIES
    }
    assert len(shapes) == 1
