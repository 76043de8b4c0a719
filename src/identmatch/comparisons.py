"""The comparison catalogue: ``import identmatch.comparisons as ic``."""

from __future__ import annotations

from identmatch._comparisons import (
    ComparisonSpec,
    LevelSpec,
    address_comparison,
    alias_comparison,
    compile_comparison,
    date_of_birth_comparison,
    default_comparisons,
    evaluate_level,
    exact_comparison,
    family_comparison,
    forename_comparison,
    middle_name_comparison,
    nhs_number_comparison,
    postcode_comparison,
    sex_comparison,
    surname_comparison,
)
from identmatch._declared import attribute_comparison, identifier_comparison

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
