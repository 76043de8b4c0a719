"""Blocking rules: which record pairs are compared at all.

A rule is a tuple of prepared columns that must all be equal (and not missing) for a pair
to be compared. Rules are chosen so that the number of pairs grows near-linearly with the
input: every rule pairs records on at least one fairly specific key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "DEFAULT_BLOCKING_RULES",
    "BlockingReport",
    "RuleCount",
    "choose_blocking_rules",
    "compile_blocking_rule",
]

BlockingRule = tuple[str, ...]

DEFAULT_BLOCKING_RULES: tuple[BlockingRule, ...] = (
    ("nhs_std",),
    ("surname_joined", "dob"),
    ("forename_std", "dob"),
    ("forename_ph", "surname_ph", "dob_year"),
    ("forename_ph", "surname_ph", "postcode_outward"),
    ("dob", "postcode_std"),
    ("surname_ph", "dob"),
    ("forename_ph", "dob"),
    ("forename_std", "surname_joined", "dob_md"),
    ("surname_joined", "postcode_std"),
    ("forename_std", "postcode_std"),
    ("forename_ph", "surname_ph", "town_std"),
    ("surname_ph", "postcode_std"),
    ("forename_ph", "postcode_std"),
    ("address_std",),
    ("dob", "town_std"),
    ("dob", "postcode_outward"),
    ("name_keys[]", "dob_year"),
    ("name_keys[]", "postcode_outward"),
)
"""Default rules, most specific first. A rule is used only if all its columns hold values.

A column written ``name[]`` is a list: records are paired when any element agrees (Splink
explodes the list), so every name and alias a record carries is a blocking key.
"""


class RuleCount(BaseModel, frozen=True, extra="forbid"):
    """Pairs one blocking rule adds beyond the rules before it."""

    rule: str
    new_pairs: int = Field(ge=0)


class BlockingReport(BaseModel, frozen=True, extra="forbid"):
    """How many record pairs blocking produced, in all and per rule."""

    records: int = Field(ge=0)
    pairs: int = Field(ge=0)
    rules: tuple[RuleCount, ...]

    @property
    def pairs_per_record(self) -> float:
        """Pairs compared per input record: stays roughly flat as inputs grow."""
        return self.pairs / self.records if self.records else 0.0


def choose_blocking_rules(
    available: Sequence[str], rules: Sequence[BlockingRule] = DEFAULT_BLOCKING_RULES
) -> tuple[BlockingRule, ...]:
    """The rules whose columns all hold values in the data."""
    present = set(available)
    return tuple(
        rule for rule in rules if all(column.removesuffix("[]") in present for column in rule)
    )


def compile_blocking_rule(rule: BlockingRule) -> Any:
    """A Splink blocking rule (dialect-neutral until bound to a database)."""
    from splink import block_on

    columns = [column.removesuffix("[]") for column in rule]
    exploded = [column.removesuffix("[]") for column in rule if column.endswith("[]")]
    return block_on(*columns, arrays_to_explode=exploded or None)


def describe_rule(rule: BlockingRule) -> str:
    """A rule in words: ``surname_joined = dob`` becomes ``surname_joined + dob``."""
    return " + ".join(column.replace("[]", " (any)") for column in rule)
