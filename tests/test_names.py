"""Tests for identmatch._prepare.names: the title and suffix tables and the stripping rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identmatch._prepare.names import GUARDED_TITLES, SUFFIXES, TITLES, strip_titles_and_suffixes
from identmatch._prepare.standardise import fold_text, standardise_name

from _support import disguised

_VOCABULARY = sorted(TITLES | GUARDED_TITLES | SUFFIXES | {"ann", "lee", "smith", "jones"})


class TestTables:
    @pytest.mark.parametrize(
        ("name", "table"),
        [("TITLES", TITLES), ("GUARDED_TITLES", GUARDED_TITLES), ("SUFFIXES", SUFFIXES)],
        ids=["titles", "guarded-titles", "suffixes"],
    )
    def test_entries_are_folded_single_tokens(self, name: str, table: frozenset[str]) -> None:
        """Every table entry is already in folded form, so it can meet folded name tokens."""
        assert all(fold_text(entry) == entry and " " not in entry for entry in table), name

    def test_title_tables_do_not_overlap(self) -> None:
        """A title is either always stripped or guarded, never both."""
        assert not TITLES & GUARDED_TITLES

    @pytest.mark.parametrize(
        "word", ["dean", "st", "junior", "md", "lord", "major"], ids=lambda w: w
    )
    def test_common_names_are_never_unconditional_titles(self, word: str) -> None:
        """Words that are also real names are never stripped when they stand alone."""
        assert strip_titles_and_suffixes((word,)) == (word,)


class TestStripTitlesAndSuffixes:
    @pytest.mark.parametrize(
        ("tokens", "expected"),
        [
            (("dr", "mary", "jane"), ("mary", "jane")),
            (("mr",), ()),
            (("mr", "dr", "ann"), ("ann",)),
            (("ann", "smith", "jnr"), ("ann", "smith")),
            (("ann", "smith", "iii", "esq"), ("ann", "smith")),
            (("rev", "dr", "ann", "lee", "phd"), ("ann", "lee")),
            (("lady", "jane"), ("jane",)),
            (("lord",), ("lord",)),
            (("mrs", "lord"), ("lord",)),
            (("junior",), ("junior",)),
            (("md",), ("md",)),
            (("md", "ali"), ("md", "ali")),
            (("ann", "jr", "smith"), ("ann", "jr", "smith")),
            (("ann", "dr", "smith"), ("ann", "dr", "smith")),
            ((), ()),
        ],
        ids=[
            "leading-title",
            "title-only",
            "repeated-titles",
            "trailing-suffix",
            "repeated-suffixes",
            "both-ends",
            "guarded-title-before-name",
            "guarded-title-alone",
            "guarded-title-left-alone",
            "suffix-alone-is-a-name",
            "md-alone-is-a-name",
            "md-leading-is-a-name",
            "suffix-in-middle",
            "title-in-middle",
            "empty",
        ],
    )
    def test_cases(self, tokens: tuple[str, ...], expected: tuple[str, ...]) -> None:
        """Leading titles and trailing suffixes go; guarded words stay when they are the name."""
        assert strip_titles_and_suffixes(tokens) == expected

    @given(st.lists(st.sampled_from(_VOCABULARY), max_size=6))
    def test_idempotent(self, tokens: list[str]) -> None:
        """Stripping an already stripped name changes nothing."""
        once = strip_titles_and_suffixes(tokens)
        assert strip_titles_and_suffixes(once) == once

    @given(st.lists(st.sampled_from(_VOCABULARY), max_size=6))
    def test_result_is_a_contiguous_slice(self, tokens: list[str]) -> None:
        """Only tokens at the ends are removed; the order and middle are kept."""
        out = strip_titles_and_suffixes(tokens)
        starts = [i for i in range(len(tokens) + 1) if tuple(tokens[i : i + len(out)]) == out]
        assert starts
        assert not out or out[0] not in TITLES


class TestLookalikeTitles:
    @given(
        st.lists(st.sampled_from(_VOCABULARY), min_size=1, max_size=6),
        st.lists(st.booleans(), min_size=6, max_size=6),
    )
    def test_titles_in_lookalike_letters_are_stripped_alike(
        self, tokens: list[str], disguise: list[bool]
    ) -> None:
        """Titles, suffixes and names written in part with lookalike Cyrillic letters
        (``Мr``, ``Јnr``) standardise exactly as the Latin spelling does: folding comes first,
        once per value, before the tables are met."""
        latin = " ".join(t.capitalize() for t in tokens)
        mixed = " ".join(
            disguised(t.capitalize()) if flag else t.capitalize()
            for t, flag in zip(tokens, disguise, strict=False)
        )
        assert standardise_name(mixed) == standardise_name(latin)
