"""Frozen, validated settings objects.

Every setting is passed explicitly: nothing here reads the environment or a global.
Make variants with ``model_copy(update={...})``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from identmatch._types import DateOrder

__all__ = ["STANDARD_COLUMNS", "ModelConfig", "ReadConfig"]

STANDARD_COLUMNS: tuple[str, ...] = (
    "record_id",
    "source",
    "forename",
    "middle_names",
    "surname",
    "aliases",
    "dob",
    "sex",
    "postcode",
    "nhs_number",
    "address",
    "town",
)
"""Columns identmatch understands. Only ``record_id`` is required; others pass through."""

KEPT_COLUMNS: tuple[str, ...] = ("recorded",)
"""Columns read and kept with each record but never compared: ``recorded`` is the date the
source made or last updated the record, shown beside it; no candidate key, comparison or score
reads it."""

INPUT_COLUMNS: tuple[str, ...] = (*STANDARD_COLUMNS, *KEPT_COLUMNS)
"""Every column a mapping may name: the standard columns and the kept ones."""

# Columns that several input columns may feed, joined with a space in the order mapped
# (e.g. a street number and a street name both mapped to ``address``).
_JOINABLE_COLUMNS = frozenset({"forename", "middle_names", "surname", "address", "town"})


class ReadConfig(BaseModel, frozen=True, extra="forbid"):
    """How to read an input: column mapping, date order and alias separator.

    Example::

        ReadConfig(columns={"given_name": "forename", "date_of_birth": "dob"})
    """

    columns: dict[str, str] = Field(default_factory=dict)
    """Input column name -> standard column name (see ``STANDARD_COLUMNS``), or ``recorded``."""
    date_order: DateOrder = "auto"
    """How to read ambiguous numeric dates: ``auto`` (the default) reads each source in the
    order its unambiguous values show, day-first when they show none; or ``DMY``, ``MDY``,
    ``YMD`` for every value."""
    alias_separator: str = ";"
    """Separator between names in a text ``aliases`` column."""

    @field_validator("columns")
    @classmethod
    def _targets_are_standard(cls, value: dict[str, str]) -> dict[str, str]:
        for source, target in value.items():
            if target not in INPUT_COLUMNS:
                allowed = ", ".join(INPUT_COLUMNS)
                msg = (
                    f"column mapping {source!r} -> {target!r}: {target!r} is not a standard "
                    f"column; allowed targets are: {allowed}"
                )
                raise ValueError(msg)
        targets = list(value.values())
        for target in set(targets):
            if targets.count(target) > 1 and target not in _JOINABLE_COLUMNS:
                joinable = ", ".join(sorted(_JOINABLE_COLUMNS))
                msg = (
                    f"column mapping: several input columns map to {target!r}; only these "
                    f"standard columns may be joined from several inputs: {joinable}"
                )
                raise ValueError(msg)
        return value

    @field_validator("alias_separator")
    @classmethod
    def _separator_not_empty(cls, value: str) -> str:
        if not value:
            msg = "alias_separator must be a non-empty string such as ';'"
            raise ValueError(msg)
        return value


class ModelConfig(BaseModel, frozen=True, extra="forbid"):
    """Settings for training, scoring and clustering.

    The default ``threshold`` of 0.95 favours precision: in safeguarding data, one man's
    history attached to another is as harmful as a missed link.
    """

    threshold: float = Field(default=0.95, gt=0.0, lt=1.0)
    """Match probability at or above which two records are joined into one entity."""
    conflict_below: float = Field(default=0.001, gt=0.0, lt=1.0)
    """Two records whose own match probability is below this never share an entity, however
    they are chained (A-B and B-C strong, A-C plainly different people)."""
    pair_floor: float = Field(default=0.01, gt=0.0, lt=1.0)
    """Scored pairs below this match probability are dropped from ``Result.pairs``."""
    train: Literal["auto", "always", "never"] = "auto"
    """``auto`` trains m by EM when there are at least ``min_records_to_train`` records,
    otherwise keeps the documented default m; ``never`` always keeps the defaults."""
    min_records_to_train: int = Field(default=1000, ge=2)
    max_records_to_train: int = Field(default=100_000, ge=1000)
    """Larger inputs are trained on a uniform random sample of this many records (seeded),
    which leaves m, u and the prior unbiased and bounds training time."""
    max_pairs_for_u: int = Field(default=1_000_000, ge=1_000)
    """Random record pairs sampled to estimate u probabilities."""
    max_pairs_for_em: int = Field(default=20_000_000, ge=1_000)
    """An EM block (records equal on a date of birth, a postcode, ...) of more training pairs
    than this is skipped, so data with one dominant value cannot make training explode."""
    em_max_iterations: int = Field(default=200, ge=1, le=1000)
    """Iterations of each EM block at most (EM runs on the block's distinct agreement
    patterns, so an iteration costs little)."""
    count_blocked_pairs: bool = True
    """Fill ``Result.blocking`` (the chosen pairs counted by the first rule whose key they
    share). The candidates are chosen either way; only the report is left out."""
    seed: int = 42
    """Seed for u sampling, so a run is repeatable."""
    review_band: tuple[float, float] = (0.5, 0.99)
    """An index's review queue holds the pairs scored with a match probability in
    ``[low, high)``: those a person should look at. The default spans the threshold."""
    review_large: int = Field(default=20, ge=2)
    """An index entity with this many records or more is queued for review as very large."""
    search_known: float = Field(default=0.5, gt=0.0, lt=1.0)
    """An index search's prior: the probability that the person searched for is known to the
    index at all. Each of the index's N entities then starts at ``search_known / N``
    (see "The search prior" in ``docs/index.md``)."""
    search_weak_floor: float = Field(default=0.1, gt=0.0, lt=0.5)
    """A search lists an entity below "possible" (0.5) as a weak candidate from this match
    probability, as well as for the same full name, or the same surname and date of birth."""

    @field_validator("review_band")
    @classmethod
    def _band_ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0.0 < low < high <= 1.0:
            msg = (
                f"review_band must be two match probabilities low < high in (0, 1], "
                f"got {list(value)}"
            )
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _floor_below_threshold(self) -> ModelConfig:
        if self.pair_floor > self.threshold:
            msg = (
                f"pair_floor ({self.pair_floor}) must not exceed threshold "
                f"({self.threshold}): pairs at the threshold must be kept"
            )
            raise ValueError(msg)
        return self
