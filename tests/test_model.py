"""Model files: saving and loading keeps every parameter, and bad files fail clearly."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import identmatch
import identmatch.comparisons as ic

probabilities = st.floats(min_value=1e-9, max_value=1 - 1e-9, allow_nan=False)


def model_with(ms: list[float], us: list[float], prior: float) -> identmatch.Model:
    spec = ic.forename_comparison()
    levels = [
        level.model_copy(update={"m": m, "u": u})
        for level, m, u in zip(spec.levels, ms, us, strict=False)
    ]
    spec = spec.model_copy(update={"levels": (*levels, *spec.levels[len(levels) :])})
    return identmatch.Model(
        comparisons=(spec, ic.date_of_birth_comparison()),
        blocking_rules=(("surname_joined", "dob"), ("name_keys[]",)),
        probability_two_random_records_match=prior,
    )


@given(
    ms=st.lists(probabilities, min_size=1, max_size=10),
    us=st.lists(probabilities, min_size=1, max_size=10),
    prior=st.floats(min_value=1e-9, max_value=0.5),
)
def test_save_load_keeps_every_parameter(ms: list[float], us: list[float], prior: float) -> None:
    """A saved model loads equal, so it scores every pair the same."""
    import tempfile

    model = model_with(ms, us, prior)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "model.json"
        model.save(path)
        loaded = identmatch.Model.load(path)
    assert loaded == model
    assert loaded.prior_weight == model.prior_weight
    for spec in model.comparisons:
        for index in range(1, len(spec.levels)):
            assert loaded.level_weight(spec.name, index) == model.level_weight(spec.name, index)


def test_level_weight_is_log2_m_over_u() -> None:
    """A level's weight is log2(m/u) bits; the null level weighs 0."""
    model = model_with([0.5, 0.8], [0.5, 0.01], 0.001)
    assert model.level_weight("forename", 1) == math.log2(0.8 / 0.01)
    assert model.level_weight("forename", 0) == 0.0


def test_save_is_atomic(tmp_path: Path) -> None:
    """Saving writes a temporary file and renames it: no partial model is ever left."""
    path = tmp_path / "model.json"
    model_with([0.5], [0.5], 0.01).save(path)
    assert path.exists()
    assert not (tmp_path / "model.json.tmp").exists()


def test_wrong_format_version(tmp_path: Path) -> None:
    """A model from another format version is refused with both versions named."""
    path = tmp_path / "model.json"
    path.write_text('{"format": "identmatch-model", "format_version": 99}', encoding="utf-8")
    with pytest.raises(identmatch.ModelError, match="version 99 is not supported"):
        identmatch.Model.load(path)
