"""Tests for identmatch._prepare.phonetic: Metaphone, Soundex and NYSIIS codes of names."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from identmatch._prepare.phonetic import nysiis_code, phonetic_code, soundex_code

ENCODERS: list[Callable[[object], str | None]] = [phonetic_code, soundex_code, nysiis_code]
ENCODER_IDS = ["metaphone", "soundex", "nysiis"]
_NAME_PART = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)


class TestPhoneticCode:
    @pytest.mark.parametrize(
        ("name", "expected"),
        [("phillips", "FLPS"), ("smith jones", "SM0JNS"), ("Wójcik", "WJSK")],
        ids=["phillips", "double-barrelled", "raw-accented"],
    )
    def test_known_codes(self, name: str, expected: str) -> None:
        """Metaphone codes are jellyfish's codes of the standardised, space-free name."""
        assert phonetic_code(name) == expected

    @pytest.mark.parametrize(
        ("left", "right"),
        [
            ("philips", "phillips"),
            ("stephenson", "stevenson"),
            ("mcdonald", "macdonald"),
            ("smith jones", "smithjones"),
            ("Smith-Jones", "smith jones"),
        ],
        ids=["ph-ll", "ph-v", "mc-mac", "space", "raw-vs-standardised"],
    )
    def test_variants_share_a_code(self, left: str, right: str) -> None:
        """Spelling variants of one name get the same code from every encoder."""
        for encoder in ENCODERS:
            assert encoder(left) == encoder(right) is not None, encoder.__name__


class TestMissing:
    @pytest.mark.parametrize("encoder", ENCODERS, ids=ENCODER_IDS)
    @pytest.mark.parametrize(
        "value",
        [None, float("nan"), pd.NA, "", "   ", "123", "--", "٣"],
        ids=["none", "nan", "pd-na", "empty", "blank", "digits", "punctuation", "arabic-digit"],
    )
    def test_nothing_to_encode_gives_none(
        self, encoder: Callable[[object], str | None], value: object
    ) -> None:
        """Missing values and names with no letters have no code."""
        assert encoder(value) is None


class TestProperties:
    @pytest.mark.parametrize("encoder", ENCODERS, ids=ENCODER_IDS)
    @given(text=st.text())
    def test_never_raises(self, encoder: Callable[[object], str | None], text: str) -> None:
        """Any text gives a non-empty code or None, never an exception."""
        code = encoder(text)
        assert code is None or (isinstance(code, str) and code)

    @pytest.mark.parametrize("encoder", ENCODERS, ids=ENCODER_IDS)
    @given(parts=st.lists(_NAME_PART, min_size=1, max_size=4))
    def test_spaces_do_not_matter(
        self, encoder: Callable[[object], str | None], parts: list[str]
    ) -> None:
        """A name split into parts gets the same code as the parts written together."""
        assert encoder(" ".join(parts)) == encoder("".join(parts))
