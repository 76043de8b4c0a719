"""The config file: round trip, and errors naming the key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import identmatch
from identmatch import RunConfig

FULL = """\
date_order = "MDY"
threshold = 0.9
model = "in.json"
save_model = "out.json"
backend = "duckdb"
decisions = "decisions.csv"
review_band = [0.4, 0.98]
review_large = 12
strict = true
attributes = ["occupation", "birth_place"]

[columns]
given_name = "forename"
"date of birth" = "dob"

[identifiers]
pnc = "pnc_id"
case_ref = "plain"
"""


def test_a_full_file_reads_every_setting() -> None:
    """Every key the command line can set is read from the file."""
    config = RunConfig.loads(FULL)
    assert config.columns == {"given_name": "forename", "date of birth": "dob"}
    assert config.date_order == "MDY"
    assert config.threshold == 0.9
    assert config.identifiers == {"pnc": "pnc_id", "case_ref": "plain"}
    assert config.attributes == ("occupation", "birth_place")
    assert (config.model, config.save_model, config.backend) == ("in.json", "out.json", "duckdb")
    assert (config.decisions, config.review_band, config.review_large) == (
        "decisions.csv",
        (0.4, 0.98),
        12,
    )
    assert config.strict is True
    assert RunConfig().strict is False
    assert config.merged(strict=None).strict is True  # no --strict: the file's stands
    assert RunConfig().merged(strict=True).strict is True
    model_config = config.model_config_for()
    assert (model_config.threshold, model_config.review_band) == (0.9, (0.4, 0.98))
    assert model_config.review_large == 12
    schema = config.declared()
    assert [(s.column, s.kind) for s in schema.identifiers] == [
        ("pnc", "pnc_id"),
        ("case_ref", "plain"),
    ]


def test_round_trip_through_text_and_file(tmp_path: Path) -> None:
    """dumps then loads gives an equal config; so does a file."""
    config = RunConfig.loads(FULL)
    assert RunConfig.loads(config.dumps()) == config
    path = tmp_path / "identmatch.toml"
    path.write_text(config.dumps(), encoding="utf-8")
    assert RunConfig.load(path) == config
    assert RunConfig.loads(RunConfig().dumps()) == RunConfig()


columns = st.text(alphabet="abcdefghij_", min_size=1, max_size=8).filter(str.isidentifier)


@given(
    threshold=st.none() | st.floats(0.01, 0.99),
    identifiers=st.dictionaries(
        columns.map(lambda c: "id" + c), st.sampled_from(identmatch.IDENTIFIER_KINDS), max_size=3
    ),
    mapped=st.dictionaries(st.text(min_size=1, max_size=6), st.just("surname"), max_size=1),
)
@example(threshold=None, identifiers={}, mapped={"\x7f": "surname"})  # DEL: TOML needs it escaped
def test_round_trip_any_config(
    threshold: float | None, identifiers: dict[str, str], mapped: dict[str, str]
) -> None:
    """Any valid config survives dumps and loads unchanged."""
    config = RunConfig(threshold=threshold, identifiers=identifiers, columns=mapped)
    assert RunConfig.loads(config.dumps()) == config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("thresold = 0.9", "unknown key 'thresold'; allowed keys are: columns, date_order"),
        ("threshold = 1.5", "key 'threshold': Input should be less than 1"),
        ('date_order = "DDMMYY"', "key 'date_order': Input should be 'auto', 'DMY', 'MDY' or"),
        ("[identifiers]\npnc = 'passport'", "pnc: kind 'passport' is not known; allowed kinds"),
        ("[identifiers]\nsurname = 'plain'", "'surname' is a standard column"),
        ("[columns]\ngiven = 'first_name'", "'first_name' is not a standard column"),
        ("attributes = 'occupation'", "key 'attributes': Input should be a valid tuple"),
        ("threshold = ", "not valid TOML"),
        ("review_band = [0.9, 0.5]", "review_band must be two match probabilities low < high"),
        ("review_large = 1", "key 'review_large': Input should be greater than or equal to 2"),
    ],
)
def test_errors_name_the_key_and_what_is_allowed(text: str, message: str) -> None:
    """A bad key or value is a ConfigError that names it and says what is allowed."""
    with pytest.raises(identmatch.ConfigError, match=message.replace("(", r"\(")):
        RunConfig.loads(text, name="identmatch.toml")


def test_missing_file(tmp_path: Path) -> None:
    """A config path that does not exist is a ConfigError naming it."""
    with pytest.raises(identmatch.ConfigError, match="no such config file"):
        RunConfig.load(tmp_path / "nope.toml")


def test_options_override_the_file() -> None:
    """Options given take over; maps merge; identifiers given replace the file's."""
    config = RunConfig.loads(FULL).merged(
        threshold=0.5, columns={"sn": "surname"}, identifiers={"ref": "plain"}, date_order=None
    )
    assert config.threshold == 0.5
    assert config.date_order == "MDY"
    assert config.columns == {"given_name": "forename", "date of birth": "dob", "sn": "surname"}
    assert config.identifiers == {"ref": "plain"}
    assert config.attributes == ("occupation", "birth_place")
