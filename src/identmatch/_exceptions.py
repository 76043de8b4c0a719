"""The identmatch exception hierarchy.

    IdentMatchError
     ├── SchemaError (ValueError)        input columns or record ids are unusable
     ├── InputFileError (ValueError)     a file cannot be read: format, encoding, empty
     ├── ConfigError (ValueError)        a setting or mapping is out of range
     ├── DecisionError (ValueError)      a decision contradicts one already standing
     ├── ModelError (ValueError)         a saved model file is unreadable or does not fit the data
     ├── NotTrainedError (RuntimeError)  an operation needs a trained model
     ├── MissingDependencyError (ImportError)  an optional extra (e.g. spark) is not installed
     └── BackendError                    DuckDB, Spark or Splink failed underneath

Messages name the column, count or record ids involved and what is allowed. They never carry
record values (names, dates, postcodes): these are records about people at risk, and messages
reach logs and HTTP clients.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

__all__ = [
    "BackendError",
    "ConfigError",
    "DecisionError",
    "IdentMatchError",
    "InputFileError",
    "MissingDependencyError",
    "ModelError",
    "NotTrainedError",
    "SchemaError",
    "backend_errors",
    "invalid_fields",
]


class IdentMatchError(Exception):
    """Root of every error identmatch raises on purpose."""


class SchemaError(IdentMatchError, ValueError):
    """The input's columns or record ids cannot be used as they are."""


class InputFileError(IdentMatchError, ValueError):
    """An input file cannot be read: unknown format, not UTF-8, or empty."""


class ConfigError(IdentMatchError, ValueError):
    """A setting, threshold or column mapping is out of its allowed range."""


class DecisionError(IdentMatchError, ValueError):
    """A decision about two records contradicts a decision already standing.

    ``decision_ids`` names the standing decisions to revisit (decide one of those pairs
    again, or this pair otherwise).
    """

    def __init__(self, message: str, decision_ids: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.decision_ids = tuple(decision_ids)


class ModelError(IdentMatchError, ValueError):
    """A saved model cannot be read or does not fit the data it is applied to."""


class NotTrainedError(IdentMatchError, RuntimeError):
    """The operation needs a trained model and none was given."""


class MissingDependencyError(IdentMatchError, ImportError):
    """An optional extra is needed and not installed; the message gives the pip command."""


class BackendError(IdentMatchError):
    """DuckDB, Spark or Splink failed while running the model."""


_FOREIGN_PACKAGES = frozenset({"duckdb", "splink", "pyspark", "py4j", "sqlglot"})
"""Where a plain ValueError, KeyError or RuntimeError counts as the backend's failure."""


@contextlib.contextmanager
def backend_errors(stage: str) -> Iterator[None]:
    """Re-raise DuckDB, Spark and Splink failures inside the block as :class:`BackendError`.

    DuckDB's and Spark's own errors are always translated; a plain ``ValueError``,
    ``KeyError`` or ``RuntimeError`` only when it was raised inside one of those packages or
    Splink. Raised in identmatch's own code it is a bug, and goes on as it is. The original
    exception is chained (``from exc``) for debugging, but its text is not copied into the
    message, since database errors can quote data values.
    """
    import duckdb  # local: _exceptions is imported before anything heavy

    try:
        yield
    except IdentMatchError:
        raise
    except Exception as exc:
        # Spark's error classes are looked up only now: pyspark may be first imported inside
        # the block, and is never imported just to name its exceptions.
        theirs = isinstance(exc, (duckdb.Error, *_spark_errors()))
        plain = isinstance(exc, RuntimeError | ValueError | KeyError)
        if not theirs and not (plain and _raised_in(exc, _FOREIGN_PACKAGES)):
            raise
        msg = (
            f"The matching backend failed while {stage} ({type(exc).__name__}). "
            "Set the 'splink' logger to DEBUG for the SQL Splink ran, and 'identmatch.sql' "
            "for identmatch's own."
        )
        raise BackendError(msg) from exc


def _raised_in(exc: BaseException, packages: frozenset[str]) -> bool:
    """Whether the innermost Python frame of ``exc``'s traceback is in one of ``packages``."""
    frame = exc.__traceback__
    if frame is None:
        return False
    while frame.tb_next is not None:
        frame = frame.tb_next
    module = str(frame.tb_frame.f_globals.get("__name__", ""))
    return module.split(".")[0] in packages


def invalid_fields(exc: Exception) -> str:
    """A pydantic validation error as ``field: rule; ...``, never quoting the input value."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return type(exc).__name__
    parts = []
    for error in errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in error.get("loc", ())) or "value"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def _spark_errors() -> tuple[type[Exception], ...]:
    """pyspark's and py4j's error roots, when pyspark has been imported (never imports it)."""
    errors: list[type[Exception]] = []
    pyspark_errors = sys.modules.get("pyspark.errors")
    if pyspark_errors is not None:
        errors.append(pyspark_errors.PySparkException)
    py4j_protocol = sys.modules.get("py4j.protocol")
    if py4j_protocol is not None:
        errors.append(py4j_protocol.Py4JError)
    return tuple(errors)
