"""How declared identifiers and attributes are compared and blocked on.

The columns themselves, and how their values are standardised, are declared in
:mod:`identmatch._prepare.declared`; this is the model's side of them.
"""

from __future__ import annotations

from collections.abc import Iterable

from identmatch._candidates.blocking import BlockingRule
from identmatch._model.levels import (
    IDENTIFIER_CLASH_FLOOR,
    ComparisonSpec,
    LevelSpec,
    else_level,
    null_level,
)
from identmatch._prepare.declared import AttributeSpec, DeclaredSchema, IdentifierSpec

__all__ = [
    "attribute_comparison",
    "declared_blocking_rules",
    "declared_comparisons",
    "identifier_comparison",
]


def declared_blocking_rules(schema: DeclaredSchema) -> tuple[BlockingRule, ...]:
    """One candidate key per identifier: any of its valid values."""
    return tuple((f"{spec.prepared_all}[]",) for spec in schema.identifiers)


def declared_comparisons(
    schema: DeclaredSchema, available: Iterable[str]
) -> tuple[ComparisonSpec, ...]:
    """The comparisons of the declared columns that hold any values."""
    present = set(available)
    out = [identifier_comparison(s) for s in schema.identifiers if s.prepared in present]
    out += [attribute_comparison(s) for s in schema.attributes if s.prepared in present]
    return tuple(out)


# Default m of an identifier's exact and clash levels by kind (training re-estimates both).
# A check character catches every single wrong character, so two valid, different numbers
# of one person take a wrong number copied in (taken as 1 true pair in 1,000: about -10 bits);
# a plain identifier's typos stay valid (as the NHS number's "different", -4.3 bits); a
# person may hold several phones and email addresses, so a different one weighs little.
_DEFAULTS: dict[str, tuple[float, float]] = {
    "plain": (0.85, 0.05),
    "nhs_number": (0.9, 0.001),
    "ni_number": (0.9, 0.001),
    "pnc_id": (0.9, 0.001),
    "cro_number": (0.9, 0.001),
    "upn": (0.9, 0.001),
    "phone": (0.4, 0.5),
    "email": (0.4, 0.5),
}


def identifier_comparison(spec: IdentifierSpec) -> ComparisonSpec:
    """An identifier: exact (term-frequency adjusted), any of several values, one character
    different, two adjacent characters transposed, and two valid, different values."""
    name = spec.column
    exact_m, clash_m = _DEFAULTS[spec.kind]
    rest = 1.0 - exact_m - clash_m
    clash = (
        f"{name}: different"
        if spec.kind == "plain"
        else f"{name}: two valid, different values (a clash)"
    )
    return ComparisonSpec(
        name=name,
        description=f"Declared identifier {name} ({spec.kind}), standardised once per record",
        levels=(
            null_level(spec.prepared, name),
            LevelSpec(
                kind="exact",
                column=spec.prepared,
                label=f"{name}: the same",
                m=exact_m,
                u=1e-5,
                tf=True,
            ),
            LevelSpec(
                kind="lists_overlap",
                column=spec.prepared_all,
                other=spec.prepared_all,
                label=f"{name}: one of several values the same",
                m=rest * 0.4,
                u=1e-5,
            ),
            LevelSpec(
                kind="levenshtein",
                column=spec.prepared,
                threshold=1,
                label=f"{name}: one character different",
                m=rest * 0.4,
                u=1e-4,
            ),
            LevelSpec(
                kind="contains",
                column=spec.prepared_swaps,
                other=spec.prepared,
                label=f"{name}: two adjacent characters transposed",
                m=rest * 0.2,
                u=1e-5,
            ),
            LevelSpec(
                kind="else",
                label=clash,
                m=clash_m,
                u=1.0 - 1e-5 - 1e-5 - 1e-4 - 1e-5,
                floor=IDENTIFIER_CLASH_FLOOR,
            ),
        ),
    )


def attribute_comparison(spec: AttributeSpec) -> ComparisonSpec:
    """An attribute: exact (term-frequency adjusted), very similar, similar, different."""
    name = spec.column
    column = spec.prepared
    return ComparisonSpec(
        name=name,
        description=f"Declared attribute {name}, folded text",
        levels=(
            null_level(column, name),
            LevelSpec(
                kind="exact", column=column, label=f"{name}: the same", m=0.6, u=0.05, tf=True
            ),
            LevelSpec(
                kind="jaro_winkler",
                column=column,
                threshold=0.92,
                label=f"{name}: spelled very similarly",
                m=0.15,
                u=0.02,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column=column,
                threshold=0.80,
                label=f"{name}: spelled similarly",
                m=0.1,
                u=0.08,
            ),
            else_level(name, m=0.15, u=0.85),
        ),
    )
