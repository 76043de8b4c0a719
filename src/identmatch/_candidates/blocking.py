"""Candidate keys ("blocking rules"): which record pairs can be compared at all.

A rule is a tuple of prepared columns; records whose values of all of them are equal (and not
missing) share a key. Which of the pairs sharing keys are compared is decided by
:mod:`identmatch._candidates.choose`: keys shared by too many records are dropped, and each record
keeps its best candidates by the rarity of the keys they share, so cost stays near-linear.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "DEFAULT_BLOCKING_RULES",
    "CandidateSettings",
    "BlockingReport",
    "RuleCount",
    "choose_blocking_rules",
    "compile_blocking_rule",
]

BlockingRule = tuple[str, ...]

DEFAULT_BLOCKING_RULES: tuple[BlockingRule, ...] = (
    ("nhs_std",),
    ("surname_joined", "dob"),
    ("name_tokens[]", "dob"),
    ("surname_ph", "dob_unordered"),
    ("forename_ph", "dob_unordered"),
    ("name_keys[]",),
    ("name_keys[]", "dob_year"),
    ("name_keys[]", "postcode_outward"),
    ("name_keys[]", "dob_md"),
    ("name_ph_sorted",),
    ("name_ph_sorted", "dob_year"),
    ("name_ph_sorted", "postcode_outward"),
    ("forename_first", "middle_first", "surname_ph"),
    ("forename_initial", "surname_joined"),
    ("name_tokens[]",),
    ("name_tokens[]", "dob_year"),
    ("name_tokens[]", "postcode_outward"),
    ("forename_variants[]", "surname_ph"),
    ("forename_variants[]", "surname_ph", "dob_year"),
    ("dob",),
    ("dob", "postcode_std"),
    ("dob", "postcode_outward"),
    ("surname_joined", "postcode_std"),
    ("forename_first", "postcode_std"),
    ("surname_ph", "postcode_std"),
    ("forename_ph", "postcode_std"),
    ("forename_ph", "surname_ph", "town_std"),
    ("address_std",),
    ("dob", "town_std"),
)
"""Default candidate keys. A key is used only if all its columns hold values.

A column written ``name[]`` is a list: a record has one key per element, so every name and
alias it carries is a key. Keys are deliberately loose (a whole name alone, one rare name
token, a name and a birth year): :mod:`identmatch._candidates.choose` drops the keys shared by too
many records and keeps each record's best few candidates, so the loose keys cost little. A
common key is refined by the keys that add a second field (``name_keys[] + dob_year``), so
"John Smith" is not dropped but compared within his birth year, district or day of birth.
"""


class CandidateSettings(BaseModel, frozen=True, extra="forbid"):
    """How candidates are chosen from the records that share keys (meta-blocking).

    A key shared by more than ``max_block_size`` records is not used (its refinements are).
    Every other shared key adds ``ln(N / size)`` to a pair's cheap score (rarer keys weigh
    more, like an inverse document frequency); each record keeps its ``per_record`` best
    candidates, and a pair is compared if either record keeps the other.
    """

    max_block_size: int = Field(default=40, ge=2, le=100_000)
    per_record: int = Field(default=8, ge=1, le=1_000)
    search_per_query: int = Field(default=200, ge=1, le=10_000)
    """Candidates a search or an add scores in full. Far more than ``per_record``: a batch
    run also compares a record with those that keep *it* among their best, which can rank
    low among its own candidates, and a search should score all of them."""


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
