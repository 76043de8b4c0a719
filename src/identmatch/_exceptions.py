"""The identmatch exception hierarchy.

    IdentMatchError
     ├── SchemaError (ValueError)        input columns or record ids are unusable
     ├── InputFileError (ValueError)     a file cannot be read: format, encoding, empty
     ├── ConfigError (ValueError)        a setting or mapping is out of range
     ├── ModelError (ValueError)         a saved model file is unreadable or does not fit the data
     ├── NotTrainedError (RuntimeError)  an operation needs a trained model
     └── BackendError                    DuckDB or Splink failed underneath

Messages name the column, count or record ids involved and what is allowed. They never carry
record values (names, dates, postcodes): these are records about people at risk, and messages
reach logs and HTTP clients.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = [
    "BackendError",
    "ConfigError",
    "IdentMatchError",
    "InputFileError",
    "ModelError",
    "NotTrainedError",
    "SchemaError",
]


class IdentMatchError(Exception):
    """Root of every error identmatch raises on purpose."""


class SchemaError(IdentMatchError, ValueError):
    """The input's columns or record ids cannot be used as they are."""


class InputFileError(IdentMatchError, ValueError):
    """An input file cannot be read: unknown format, not UTF-8, or empty."""


class ConfigError(IdentMatchError, ValueError):
    """A setting, threshold or column mapping is out of its allowed range."""


class ModelError(IdentMatchError, ValueError):
    """A saved model cannot be read or does not fit the data it is applied to."""


class NotTrainedError(IdentMatchError, RuntimeError):
    """The operation needs a trained model and none was given."""


class BackendError(IdentMatchError):
    """DuckDB or Splink failed while running the model."""


@contextlib.contextmanager
def backend_errors(stage: str) -> Iterator[None]:
    """Re-raise DuckDB and Splink failures inside the block as :class:`BackendError`.

    The original exception is chained (``from exc``) for debugging, but its text is not
    copied into the message, since database errors can quote data values.
    """
    import duckdb  # local: _exceptions is imported before anything heavy

    try:
        yield
    except IdentMatchError:
        raise
    except (duckdb.Error, RuntimeError, ValueError, KeyError) as exc:
        msg = (
            f"The matching backend failed while {stage} ({type(exc).__name__}). "
            "Run with logging at DEBUG for the SQL that failed."
        )
        raise BackendError(msg) from exc
