"""Errors are translated at the backend boundary only: identmatch's own bugs surface as they are."""

from __future__ import annotations

import logging

import duckdb
import pytest

import identmatch
from identmatch._exceptions import backend_errors


def _raiser(module: str) -> object:
    """A function whose frame reports ``module`` as its module, raising ValueError."""
    scope: dict[str, object] = {"__name__": module}
    exec("def boom():\n    raise ValueError('a value: Zebulon')\n", scope)
    return scope["boom"]


def test_duckdb_errors_become_backend_errors_without_their_text() -> None:
    with pytest.raises(identmatch.BackendError) as caught, backend_errors("scoring"):
        duckdb.connect().execute("SELECT * FROM no_such_table_zebulon")
    assert "scoring" in str(caught.value)
    assert "zebulon" not in str(caught.value).lower()
    assert isinstance(caught.value.__cause__, duckdb.Error)


def test_a_plain_error_inside_splink_is_the_backends() -> None:
    boom = _raiser("splink.internals.somewhere")
    with pytest.raises(identmatch.BackendError), backend_errors("training"):
        boom()  # type: ignore[operator]


@pytest.mark.parametrize("error", [ValueError, KeyError, RuntimeError])
def test_identmatchs_own_plain_errors_are_not_hidden(error: type[Exception]) -> None:
    """A ValueError raised in identmatch's code is a bug: it goes on as it is."""
    with pytest.raises(error), backend_errors("training"):
        raise error("a bug")


def test_identmatch_errors_pass_through() -> None:
    with pytest.raises(identmatch.SchemaError), backend_errors("reading"):
        raise identmatch.SchemaError("column x")


def test_candidate_sql_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    """The statements choosing candidates are in the identmatch.sql log, without values."""
    from identmatch.testing import generate_records

    records = generate_records(120, seed=4).drop(columns=["error_type", "hard_negative"])
    with caplog.at_level(logging.DEBUG, logger="identmatch.sql"):
        identmatch.dedupe(records)
    statements = [r.getMessage() for r in caplog.records if r.name == "identmatch.sql"]
    assert any("CREATE OR REPLACE" in s for s in statements)
    text = "\n".join(statements)
    for value in records["surname"].dropna().head(20):
        assert f"'{value}'" not in text


def test_unusable_settings_in_an_index_are_one_config_error(tmp_path: object) -> None:
    """A corrupt model or config in an index's meta is a ConfigError naming the field."""
    from pathlib import Path

    from identmatch.testing import generate_records

    path = Path(str(tmp_path)) / "known.duckdb"
    records = generate_records(60, seed=2).drop(columns=["error_type", "hard_negative"])
    identmatch.Index.build(records, path).close()
    connection = duckdb.connect(str(path))
    connection.execute(
        "UPDATE meta SET value = '{\"threshold\": \"Zebulon\"}' WHERE key = 'config'"
    )
    connection.close()
    with pytest.raises(identmatch.ConfigError, match="threshold") as caught:
        identmatch.Index.open(path)
    assert "Zebulon" not in str(caught.value)


def test_invalid_fields_never_quotes_the_input() -> None:
    from pydantic import ValidationError

    from identmatch._exceptions import invalid_fields

    with pytest.raises(ValidationError) as caught:
        identmatch.ModelConfig(threshold="Zebulon Quatermain")  # type: ignore[arg-type]
    text = invalid_fields(caught.value)
    assert text.startswith("threshold:")
    assert "Zebulon" not in text
