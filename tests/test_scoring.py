"""In-process scoring agrees with Splink's SQL scoring, pair for pair."""

from __future__ import annotations

import pytest

import identmatch
from identmatch._scoring import probability_from_weight, score_pair, term_frequencies
from identmatch.testing import generate_records

from _support import FEBRL_COLUMNS, read_febrl

pytestmark = pytest.mark.slow


def _check(result: identmatch.Result) -> None:
    prepared = result._prepared
    tf = term_frequencies(result.model, prepared)
    left = prepared[0].set_index("unique_id", drop=False)
    right = prepared[-1].set_index("unique_id", drop=False)
    predictions = result._predictions
    assert len(predictions) > 100
    for row in predictions.itertuples():
        a = left.loc[row.unique_id_l].to_dict()
        b = right.loc[row.unique_id_r].to_dict()
        score = score_pair(result.model, a, b, tf)
        assert score.match_weight == pytest.approx(row.match_weight, abs=1e-6)
        for spec, level in zip(result.model.comparisons, score.levels, strict=True):
            gamma = getattr(row, f"gamma_{spec.name}")
            expected = 0 if gamma < 0 else len(spec.levels) - 1 - gamma
            assert level == expected, spec.name


def test_python_weights_equal_splink_on_febrl3() -> None:
    """Every pair Splink scored on FEBRL 3 gets the same weight and levels in Python."""
    frame = read_febrl("dataset3.csv").head(2000)
    _check(
        identmatch.dedupe(
            frame, columns=FEBRL_COLUMNS, config=identmatch.ModelConfig(train="always")
        )
    )


def test_python_weights_equal_splink_on_synthetic_link() -> None:
    """The same holds for a link of synthetic records with every standard column."""
    records = generate_records(3000, seed=3)
    left = records.iloc[:1500].drop(columns=["error_type", "hard_negative"])
    right = records.iloc[1500:].drop(columns=["error_type", "hard_negative"])
    _check(identmatch.link(left, right))


def test_probability_from_weight_is_stable() -> None:
    """Probabilities are in [0, 1] and symmetric around weight 0, even for huge weights."""
    assert probability_from_weight(0.0) == 0.5
    assert probability_from_weight(2000.0) == 1.0
    assert probability_from_weight(-2000.0) == 0.0
    assert probability_from_weight(3.0) == pytest.approx(1 - probability_from_weight(-3.0))
