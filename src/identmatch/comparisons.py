"""The comparison catalogue: ``import identmatch.comparisons as ic``."""

from __future__ import annotations

from identmatch._model.catalogue import (
    address_comparison,
    alias_comparison,
    date_of_birth_comparison,
    default_comparisons,
    exact_comparison,
    family_comparison,
    forename_comparison,
    middle_name_comparison,
    nhs_number_comparison,
    postcode_comparison,
    sex_comparison,
    surname_comparison,
)
from identmatch._model.declared import attribute_comparison, identifier_comparison
from identmatch._model.level_python import evaluate_level
from identmatch._model.level_sql import compile_comparison
from identmatch._model.levels import ComparisonSpec, LevelSpec

__all__ = [
    "ComparisonSpec",
    "LevelSpec",
    "address_comparison",
    "alias_comparison",
    "attribute_comparison",
    "compile_comparison",
    "date_of_birth_comparison",
    "default_comparisons",
    "evaluate_level",
    "exact_comparison",
    "family_comparison",
    "forename_comparison",
    "identifier_comparison",
    "middle_name_comparison",
    "nhs_number_comparison",
    "postcode_comparison",
    "sex_comparison",
    "surname_comparison",
]
