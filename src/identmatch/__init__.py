"""identmatch: find the same person across records that disagree.

>>> import identmatch
>>> result = identmatch.dedupe("people.csv")          # doctest: +SKIP
>>> result.entities, result.pairs, result.explain("R1", "R2")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
from importlib.metadata import PackageNotFoundError, version

from identmatch._batch.decisions import Decisions, read_decisions
from identmatch._batch.pipeline import dedupe, link
from identmatch._batch.result import Result
from identmatch._batch.spark import spark_session
from identmatch._batch.subgroups import Evaluation, GroupScores
from identmatch._candidates.blocking import BlockingReport, RuleCount
from identmatch._config import STANDARD_COLUMNS, ModelConfig, ReadConfig
from identmatch._exceptions import (
    BackendError,
    ConfigError,
    DecisionError,
    IdentMatchError,
    InputFileError,
    MissingDependencyError,
    ModelError,
    NotTrainedError,
    SchemaError,
)
from identmatch._index.audit import AuditEntry, AuditLog
from identmatch._index.audited import AuditedIndex
from identmatch._index.found import Hit, Hits, KnownRecord, UnreadField, WeakCandidate
from identmatch._index.index import Index
from identmatch._index.queue import ReviewEntity, ReviewPair, ReviewQueue, ReviewRecord
from identmatch._index.report import LabelReport
from identmatch._index.review import DecisionOutcome
from identmatch._model.explain import Contribution, Explanation
from identmatch._model.model import Model, TrainingSummary
from identmatch._model.run_config import RunConfig
from identmatch._prepare.declared import AttributeSpec, DeclaredSchema, IdentifierSpec
from identmatch._prepare.files import prepare_parquet
from identmatch._prepare.identifiers import IDENTIFIER_KINDS
from identmatch._prepare.quality import ColumnQuality, DataQuality, SourceQuality, Unread
from identmatch._service.config import ApiKey, ServiceConfig, ServiceLimits, create_api_key

try:
    __version__ = version("identmatch")
except PackageNotFoundError:  # pragma: no cover - only when run from a bare source tree
    __version__ = "0+unknown"

__all__ = [
    "ApiKey",
    "AttributeSpec",
    "AuditEntry",
    "AuditLog",
    "AuditedIndex",
    "BackendError",
    "BlockingReport",
    "ColumnQuality",
    "ConfigError",
    "Contribution",
    "DataQuality",
    "DecisionError",
    "DecisionOutcome",
    "Decisions",
    "DeclaredSchema",
    "Evaluation",
    "Explanation",
    "GroupScores",
    "Hit",
    "Hits",
    "IDENTIFIER_KINDS",
    "IdentMatchError",
    "IdentifierSpec",
    "Index",
    "InputFileError",
    "KnownRecord",
    "LabelReport",
    "MissingDependencyError",
    "Model",
    "ModelConfig",
    "ModelError",
    "NotTrainedError",
    "ReadConfig",
    "Result",
    "ReviewEntity",
    "ReviewPair",
    "ReviewQueue",
    "ReviewRecord",
    "RuleCount",
    "RunConfig",
    "STANDARD_COLUMNS",
    "SchemaError",
    "ServiceConfig",
    "ServiceLimits",
    "SourceQuality",
    "TrainingSummary",
    "Unread",
    "UnreadField",
    "WeakCandidate",
    "__version__",
    "create_api_key",
    "dedupe",
    "link",
    "prepare_parquet",
    "read_decisions",
    "spark_session",
]

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and not isinstance(_obj, str | tuple):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "identmatch"
del _name, _obj
