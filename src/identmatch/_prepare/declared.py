"""Declared columns: identifiers and attributes a service holds beyond the standard columns.

A :class:`DeclaredSchema` names input columns and says what they are. Each identifier becomes
three prepared columns, computed once per record (``soc_sec_id`` gives ``id_soc_sec_id``, its
first valid value; ``id_soc_sec_id_all``, every valid value; ``id_soc_sec_id_swaps``, the
first value with two adjacent characters swapped), a candidate key, and a comparison; each
attribute becomes ``attr_<column>`` and a comparison. The model keeps the schema, so a saved
model standardises, blocks and compares its identifiers as it did when trained, and refuses
input that lacks one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, field_validator, model_validator

from identmatch._config import INPUT_COLUMNS
from identmatch._exceptions import ConfigError, SchemaError
from identmatch._prepare.identifiers import (
    IDENTIFIER_KINDS,
    IdentifierKind,
    adjacent_swaps,
    standardise_identifier,
)
from identmatch._prepare.standardise import fold_text
from identmatch._prepare.values import is_missing, to_text

__all__ = [
    "VALUE_SEPARATOR",
    "AttributeSpec",
    "DeclaredSchema",
    "IdentifierSpec",
    "Identifiers",
    "declared_schema",
    "identifier_values",
    "is_declared_column",
    "is_declared_list_column",
    "parse_identifier_option",
]

VALUE_SEPARATOR = ";"
"""Separator of several values in one text cell of an identifier column (``07911 123456;...``)."""

_COLUMN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
# Comparison and column names identmatch uses itself; a declared column may not take one.
_RESERVED = frozenset(
    {*INPUT_COLUMNS, "family", "middle_name", "unique_id", "source_dataset", "candidate_pairs"}
)


def _check_column_name(name: str, role: str) -> str:
    if not _COLUMN_NAME.fullmatch(name):
        msg = (
            f"{role} column {name!r}: a declared column name must start with a letter and hold "
            "only letters, digits and underscores (at most 63); rename the input column"
        )
        raise ValueError(msg)
    if name in _RESERVED:
        msg = (
            f"{role} column {name!r} is a standard column or a name identmatch uses itself; "
            "standard columns are compared already (map yours with --map / columns=)"
        )
        raise ValueError(msg)
    return name


class IdentifierSpec(BaseModel, frozen=True, extra="forbid"):
    """A declared identifier column and its kind (``plain`` when the format is not known)."""

    column: str
    kind: IdentifierKind = "plain"

    @field_validator("column")
    @classmethod
    def _column_ok(cls, value: str) -> str:
        return _check_column_name(value, "identifier")

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_known(cls, value: Any) -> Any:
        if value not in IDENTIFIER_KINDS:
            allowed = ", ".join(IDENTIFIER_KINDS)
            msg = f"identifier kind {value!r} is not known; allowed kinds are: {allowed}"
            raise ValueError(msg)
        return value

    @property
    def personal(self) -> bool:
        """Whether a value belongs to one person: not a phone or email, which a household may
        share. Agreement on a personal identifier silences the family guard."""
        return self.kind not in ("phone", "email")

    @property
    def prepared(self) -> str:
        """The prepared column of the first valid value."""
        return f"id_{self.column}"

    @property
    def prepared_all(self) -> str:
        """The prepared list column of every valid value."""
        return f"id_{self.column}_all"

    @property
    def prepared_swaps(self) -> str:
        """The prepared list column of the first value with two adjacent characters swapped."""
        return f"id_{self.column}_swaps"


class AttributeSpec(BaseModel, frozen=True, extra="forbid"):
    """A declared categorical or free-text attribute (occupation, birth place, school)."""

    column: str

    @field_validator("column")
    @classmethod
    def _column_ok(cls, value: str) -> str:
        return _check_column_name(value, "attribute")

    @property
    def prepared(self) -> str:
        """The prepared column of the folded text."""
        return f"attr_{self.column}"


class DeclaredSchema(BaseModel, frozen=True, extra="forbid"):
    """The identifiers and attributes declared beyond the standard columns.

    Example::

        DeclaredSchema(
            identifiers=(IdentifierSpec(column="pnc", kind="pnc_id"),),
            attributes=(AttributeSpec(column="occupation"),),
        )
    """

    identifiers: tuple[IdentifierSpec, ...] = ()
    attributes: tuple[AttributeSpec, ...] = ()

    @model_validator(mode="after")
    def _names_distinct(self) -> DeclaredSchema:
        names = list(self.columns)
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            msg = f"columns declared more than once: {', '.join(repeated)}"
            raise ValueError(msg)
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        """The input columns declared, identifiers first."""
        return (
            *(spec.column for spec in self.identifiers),
            *(spec.column for spec in self.attributes),
        )

    @property
    def prepared_columns(self) -> tuple[str, ...]:
        """The prepared columns the schema adds, in order."""
        out: list[str] = []
        for spec in self.identifiers:
            out += [spec.prepared, spec.prepared_all, spec.prepared_swaps]
        out += [spec.prepared for spec in self.attributes]
        return tuple(out)

    def check_columns(self, columns: Iterable[str], *, name: str) -> None:
        """Refuse an input that lacks a declared column, naming the columns missing.

        Raises:
            SchemaError: a declared column is not among ``columns``.
        """
        have = set(columns)
        missing = [column for column in self.columns if column not in have]
        if missing:
            msg = (
                f"{name}: the model declares the column(s) {', '.join(missing)}, which the "
                "input lacks; add them (blank values are allowed) or train a model without them"
            )
            raise SchemaError(msg)


def is_declared_column(name: str) -> bool:
    """Tell whether a prepared column name is one a declared schema adds."""
    return name.startswith(("id_", "attr_"))


def is_declared_list_column(name: str) -> bool:
    """Tell whether a declared prepared column holds a list of text."""
    return name.startswith("id_") and name.endswith(("_all", "_swaps"))


Identifiers = Mapping[str, str] | Sequence[str | IdentifierSpec | Mapping[str, str]]
"""Declared identifiers: ``{"pnc": "pnc_id"}``, ``["pnc:pnc_id", "case_ref"]`` or specs."""


def parse_identifier_option(option: str) -> IdentifierSpec:
    """``COLUMN`` or ``COLUMN:KIND`` (the command line's ``--identifier``) as a spec.

    Raises:
        ConfigError: the column name or the kind is not allowed.
    """
    column, _, kind = option.partition(":")
    spec: IdentifierSpec = _build(
        IdentifierSpec, column=column.strip(), kind=kind.strip() or "plain"
    )
    return spec


def declared_schema(
    identifiers: Identifiers | None,
    attributes: Sequence[str | AttributeSpec] | None,
) -> DeclaredSchema:
    """A schema from the shapes the Python API accepts.

    ``identifiers`` is a mapping of column to kind (``{"soc_sec_id": "plain"}``) or a
    sequence of column names, ``"COLUMN:KIND"`` texts, :class:`IdentifierSpec` or mappings
    with ``column`` and ``kind``; ``attributes`` a sequence of column names or specs.

    Raises:
        ConfigError: a name or kind is not allowed, or a column is declared twice.
    """
    specs: list[IdentifierSpec] = []
    if isinstance(identifiers, Mapping):
        specs = [_build(IdentifierSpec, column=c, kind=k) for c, k in identifiers.items()]
    else:
        for item in identifiers or ():
            if isinstance(item, IdentifierSpec):
                specs.append(item)
            elif isinstance(item, str):
                specs.append(parse_identifier_option(item))
            else:
                specs.append(_build(IdentifierSpec, **dict(item)))
    attrs = [
        item if isinstance(item, AttributeSpec) else _build(AttributeSpec, column=item)
        for item in attributes or ()
    ]
    schema: DeclaredSchema = _build(
        DeclaredSchema, identifiers=tuple(specs), attributes=tuple(attrs)
    )
    return schema


def _build(cls: Any, **fields: Any) -> Any:
    from pydantic import ValidationError

    try:
        return cls(**fields)
    except ValidationError as exc:
        reasons = "; ".join(
            str(error["msg"]).removeprefix("Value error, ") for error in exc.errors()
        )
        raise ConfigError(reasons) from None


def identifier_values(value: Any, kind: IdentifierKind) -> tuple[list[str], int]:
    """The valid standardised values of one cell, in first-seen order, and how many were invalid.

    A cell may be one value, a list of values (a list column) or text holding several values
    separated by ``;``.
    """
    if isinstance(value, str):
        items: list[Any] = value.split(VALUE_SEPARATOR)
    elif isinstance(value, list | tuple) or hasattr(value, "tolist"):
        items = list(value.tolist() if hasattr(value, "tolist") else value)
    else:
        items = [value]
    valid: list[str] = []
    invalid = 0
    for item in items:
        if is_missing(item) or not (to_text(item) or "").strip():
            continue
        std = standardise_identifier(item, kind)
        if std is None:
            invalid += 1
        elif std not in valid:
            valid.append(std)
    return valid, invalid


def prepare_identifier(value: Any, kind: IdentifierKind) -> tuple[Any, Any, Any, int, bool]:
    """One cell's prepared values: first, all, swaps, invalid count, and whether it was blank."""
    values, invalid = identifier_values(value, kind)
    blank = not values and not invalid
    first = values[0] if values else None
    return first, sorted(values) or None, adjacent_swaps(first), invalid, blank


def prepare_attribute(value: Any) -> str | None:
    """An attribute's prepared value: folded text (case, accents, punctuation), or None."""
    return fold_text(value)
