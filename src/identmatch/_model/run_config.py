"""A run's settings as a file (``identmatch.toml``): everything the command line can say.

Example::

    # identmatch.toml
    date_order = "DMY"
    threshold = 0.95
    attributes = ["occupation", "birth_place"]
    save_model = "model.json"
    decisions = "decisions.csv"      # from identmatch decisions export
    review_band = [0.5, 0.99]        # an index's review queue: pairs scored in [low, high)
    review_large = 20                # an index entity this large is queued for review
    search_known = 0.5               # an index search's prior: P(the person is known at all)

    [columns]              # input column -> standard column
    given_name = "forename"
    date_of_birth = "dob"

    [identifiers]          # input column -> kind
    pnc = "pnc_id"
    case_ref = "plain"

Top-level keys come before the first ``[table]``, as TOML requires. Options given on the
command line override the file's. A model saved from a run with a file keeps the file's
settings (``Model.run_config``), so it records how it was made.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from identmatch._config import ReadConfig
from identmatch._exceptions import ConfigError
from identmatch._prepare.declared import DeclaredSchema, declared_schema
from identmatch._prepare.identifiers import IDENTIFIER_KINDS
from identmatch._types import DateOrder

__all__ = ["RunConfig"]


class RunConfig(BaseModel, frozen=True, extra="forbid"):
    """The settings of a dedupe, link or index build, as in ``identmatch.toml``."""

    columns: dict[str, str] = Field(default_factory=dict)
    """Input column -> standard column (``--map``)."""
    date_order: DateOrder = "auto"
    """How to read ambiguous numeric dates (``--date-order``): ``auto`` detects each source's
    order from its unambiguous values."""
    identifiers: dict[str, str] = Field(default_factory=dict)
    """Input column -> identifier kind (``--identifier COLUMN:KIND``)."""
    attributes: tuple[str, ...] = ()
    """Attribute columns (``--attribute``)."""
    threshold: float | None = Field(default=None, gt=0.0, lt=1.0)
    """Match probability at which records join one entity (``--threshold``)."""
    model: str | None = None
    """A saved model to score with instead of training (``--model``)."""
    save_model: str | None = None
    """Where to save the trained model (``--save-model``)."""
    backend: Literal["duckdb", "spark"] = "duckdb"
    """Where pairs are formed and scored (``--backend``)."""
    decisions: str | None = None
    """A decisions file the run obeys (``--decisions``)."""
    review_band: tuple[float, float] | None = None
    """An index's review queue: pairs with a match probability in ``[low, high)``
    (``ModelConfig.review_band``; default ``[0.5, 0.99]``)."""
    review_large: int | None = Field(default=None, ge=2)
    """An index entity with this many records is queued as very large (default 20)."""
    search_known: float | None = Field(default=None, gt=0.0, lt=1.0)
    """An index's search prior: the probability that a person searched for is known at all
    (``ModelConfig.search_known``; default 0.5)."""
    strict: bool = False
    """Refuse to run (exit 2, before the main work) when anything given cannot be read or
    used: an unmapped column that looks like a standard one, values left unread, numbers
    where names are expected (``--strict``)."""

    @field_validator("review_band")
    @classmethod
    def _band_ok(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None:
            from identmatch._config import ModelConfig

            ModelConfig(review_band=value)  # the same rule
        return value

    def model_config_for(self, base: Any = None) -> Any:
        """The :class:`ModelConfig` these settings ask for (None when they ask for nothing)."""
        from identmatch._config import ModelConfig

        update: dict[str, Any] = {}
        if self.threshold is not None:
            update["threshold"] = self.threshold
        if self.review_band is not None:
            update["review_band"] = self.review_band
        if self.review_large is not None:
            update["review_large"] = self.review_large
        if self.search_known is not None:
            update["search_known"] = self.search_known
        if not update:
            return base
        return (base or ModelConfig()).model_copy(update=update)

    @field_validator("columns")
    @classmethod
    def _columns_standard(cls, value: dict[str, str]) -> dict[str, str]:
        ReadConfig(columns=value)  # the same rules as --map
        return value

    @field_validator("identifiers")
    @classmethod
    def _kinds_known(cls, value: dict[str, str]) -> dict[str, str]:
        for column, kind in value.items():
            if kind not in IDENTIFIER_KINDS:
                allowed = ", ".join(IDENTIFIER_KINDS)
                msg = f"{column}: kind {kind!r} is not known; allowed kinds are: {allowed}"
                raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _schema_valid(self) -> RunConfig:
        self.declared()  # names allowed, none declared twice
        return self

    def declared(self) -> DeclaredSchema:
        """The declared identifiers and attributes.

        Raises:
            ConfigError: a column name is not allowed or is declared twice.
        """
        return declared_schema(self.identifiers, self.attributes)

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        """Read and validate a config file.

        Raises:
            ConfigError: the file is missing, not TOML, or a key or value is not allowed
                (the message names the key and what is allowed).
        """
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except FileNotFoundError:
            msg = f"{source}: no such config file"
            raise ConfigError(msg) from None
        except UnicodeDecodeError:
            msg = f"{source.name}: not a text file (a config file is UTF-8 TOML)"
            raise ConfigError(msg) from None
        return cls.loads(text, name=source.name)

    @classmethod
    def loads(cls, text: str, *, name: str = "config") -> RunConfig:
        """Parse and validate the TOML ``text`` (``name`` is used in messages).

        Raises:
            ConfigError: as for :meth:`load`.
        """
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            msg = f"{name}: not valid TOML ({exc})"
            raise ConfigError(msg) from None
        return cls.from_mapping(data, name=name)

    @classmethod
    def from_mapping(cls, data: dict[str, Any], *, name: str = "config") -> RunConfig:
        """Validate a mapping of settings.

        Raises:
            ConfigError: as for :meth:`load`.
        """
        allowed = ", ".join(cls.model_fields)
        unknown = sorted(set(data) - set(cls.model_fields))
        if unknown:
            msg = f"{name}: unknown key {unknown[0]!r}; allowed keys are: {allowed}"
            raise ConfigError(msg)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            key = ".".join(str(part) for part in error["loc"]) or "(file)"
            reason = str(error["msg"]).removeprefix("Value error, ")
            msg = f"{name}: key {key!r}: {reason}"
            raise ConfigError(msg) from None
        except ConfigError as exc:  # from the declared schema's own checks
            msg = f"{name}: {exc}"
            raise ConfigError(msg) from None

    def dumps(self) -> str:
        """The settings as TOML that :meth:`loads` reads back to an equal config."""
        lines = []
        keys = ("date_order", "threshold", "model", "save_model", "backend", "decisions")
        for key in (*keys, "review_large", "search_known"):
            value = getattr(self, key)
            if value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
        if self.strict:
            lines.append("strict = true")
        if self.review_band is not None:
            lines.append(f"review_band = [{', '.join(repr(float(v)) for v in self.review_band)}]")
        if self.attributes:
            lines.append(f"attributes = [{', '.join(_toml_value(a) for a in self.attributes)}]")
        for table in ("columns", "identifiers"):
            mapping: dict[str, str] = getattr(self, table)
            if mapping:
                lines += ["", f"[{table}]"]
                lines += [f"{_toml_value(k)} = {_toml_value(v)}" for k, v in mapping.items()]
        return "\n".join(lines) + "\n"

    def merged(self, **overrides: Any) -> RunConfig:
        """A copy with the options given on the command line (those not None) taking over.

        ``columns`` are merged key by key; ``identifiers`` and ``attributes``, when given,
        replace the file's.

        Raises:
            ConfigError: a value given is not allowed.
        """
        data = self.model_dump()
        for key, value in overrides.items():
            if value is None or (key in ("identifiers", "attributes", "columns") and not value):
                continue
            data[key] = {**data["columns"], **value} if key == "columns" else value
        return RunConfig.from_mapping(data, name="options")


def _toml_value(value: Any) -> str:
    """A TOML string (JSON's escapes are TOML's for these), number or key.

    JSON leaves DEL (U+007F) as it is, which TOML does not allow in a string: it is escaped too.
    """
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")
