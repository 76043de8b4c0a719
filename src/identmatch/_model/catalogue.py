"""The comparison catalogue: how two records are compared, field by field, by default.

A :class:`ComparisonSpec` is a value. It holds no SQL. :func:`compile_comparison` turns it
into a Splink comparison for one SQL dialect, and :func:`evaluate_level` decides the level
of a pair in Python. Both read the same :class:`LevelSpec`, and a table-driven test holds
them to the same answer.

Each level's ``label`` is the plain-words phrase users see in explanations.
"""

from __future__ import annotations

from collections.abc import Sequence

from identmatch._model.levels import (
    IDENTIFIER_CLASH_FLOOR,
    SWAP_MIN_SIMILARITY,
    SWAPPED_RESPELLED,
    ComparisonSpec,
    LevelSpec,
    else_level,
    null_level,
)

__all__ = [
    "close_date_levels",
    "related_forename_levels",
    "ComparisonSpec",
    "LevelSpec",
    "address_comparison",
    "alias_comparison",
    "date_of_birth_comparison",
    "default_comparisons",
    "exact_comparison",
    "family_comparison",
    "forename_comparison",
    "middle_name_comparison",
    "nhs_number_comparison",
    "postcode_comparison",
    "sex_comparison",
    "surname_comparison",
]


def forename_comparison() -> ComparisonSpec:
    """Forename: exact, swapped with surname, nickname, sounds alike, similar, middle, initial."""
    return ComparisonSpec(
        name="forename",
        description="Forename, standardised, with term-frequency adjustment on exact matches",
        levels=(
            null_level("forename_std", "forename"),
            LevelSpec(
                kind="exact",
                column="forename_std",
                label="forename: the same",
                m=0.80,
                u=0.01,
                tf=True,
            ),
            LevelSpec(
                kind="reversed",
                column="forename_std",
                other="surname_std",
                label="forename: swapped with the surname",
                m=0.01,
                u=1e-5,
            ),
            LevelSpec(
                kind="reversed_similar",
                column="forename_std",
                other="surname_std",
                threshold=SWAP_MIN_SIMILARITY,
                label=SWAPPED_RESPELLED.format(field="forename", other="surname"),
                m=0.004,
                u=1e-5,
            ),
            LevelSpec(
                kind="contains",
                column="forename_nicks",
                other="forename_first",
                label="forename: a nickname, short form or listed variant of the other",
                m=0.06,
                u=0.002,
            ),
            LevelSpec(
                kind="exact",
                column="forename_ph",
                label="forename: sounds the same (spelling or transliteration variant)",
                m=0.04,
                u=0.004,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column="forename_std",
                threshold=0.92,
                label="forename: spelled very similarly",
                m=0.03,
                u=0.005,
            ),
            LevelSpec(
                kind="exact",
                column="forename_first",
                label="forename: same first name, other given names differ",
                m=0.01,
                u=0.002,
            ),
            LevelSpec(
                kind="cross_equal",
                column="forename_first",
                other="middle_first",
                label="forename: matches the other's middle name",
                m=0.01,
                u=0.001,
            ),
            LevelSpec(
                kind="cross_equal",
                column="forename_initial_only",
                other="forename_initial",
                label="forename: given as an initial, and it matches",
                m=0.01,
                u=0.05,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column="forename_std",
                threshold=0.80,
                label="forename: spelled similarly",
                m=0.02,
                u=0.03,
            ),
            else_level("forename", m=0.01, u=0.897),
        ),
    )


def surname_comparison() -> ComparisonSpec:
    """Surname: exact, swapped, shares a part, sounds alike, similar, former or alias surname.

    A swap is one event that both name comparisons see; the forename comparison weighs it
    and the surname's swap levels are fixed at 0 bits, so it is not counted twice.
    """
    return ComparisonSpec(
        name="surname",
        description="Surname, standardised; double-barrelled names also compared by part",
        levels=(
            null_level("surname_std", "surname"),
            LevelSpec(
                kind="exact",
                column="surname_joined",
                label="surname: the same",
                m=0.80,
                u=0.005,
                tf=True,
            ),
            LevelSpec(
                kind="reversed",
                column="surname_std",
                other="forename_std",
                label="surname: swapped with the forename (weighed once, under forename)",
                m=1e-5,
                u=1e-5,
                fixed=True,
            ),
            LevelSpec(
                kind="reversed_similar",
                column="surname_std",
                other="forename_std",
                threshold=SWAP_MIN_SIMILARITY,
                label=(
                    SWAPPED_RESPELLED.format(field="surname", other="forename")
                    + " (weighed once, under forename)"
                ),
                m=1e-5,
                u=1e-5,
                fixed=True,
            ),
            LevelSpec(
                kind="array_intersect",
                column="surname_parts",
                threshold=1,
                label="surname: shares one part of a double-barrelled surname",
                m=0.03,
                u=0.0005,
            ),
            LevelSpec(
                kind="exact",
                column="surname_ph",
                label="surname: sounds the same (spelling or transliteration variant)",
                m=0.05,
                u=0.002,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column="surname_joined",
                threshold=0.92,
                label="surname: spelled very similarly",
                m=0.04,
                u=0.003,
            ),
            LevelSpec(
                kind="contains",
                column="surname_aliases",
                other="surname_joined",
                label="surname: a former or alias surname of the other",
                m=0.01,
                u=0.0001,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column="surname_joined",
                threshold=0.80,
                label="surname: spelled similarly",
                m=0.02,
                u=0.03,
            ),
            else_level("surname", m=0.04, u=0.9594),
        ),
    )


def middle_name_comparison(
    identifiers: Sequence[str] = ("nhs_std",), transposed: Sequence[tuple[str, str]] = ()
) -> ComparisonSpec:
    """Middle names: the same, same first middle name, spelled very similarly, different.

    A middle name is strong evidence when the surname has changed (a married name) and tells
    apart a father and son, or brothers, who share a forename and surname. When the family
    guard sees possible twins (same surname and date of birth, unrelated forenames) the middle
    names are not weighed: twins may share one, and it must not outweigh the guard.
    """
    return ComparisonSpec(
        name="middle_name",
        description="Middle names, standardised, with term-frequency adjustment on exact matches",
        levels=(
            null_level("middle_std", "middle name"),
            LevelSpec(
                kind="twins_pattern",
                column="middle_std",
                label="middle name: not weighed (possible twins, see the family guard)",
                m=1e-5,
                u=1e-5,
                fixed=True,
                unless_identifier=tuple(identifiers),
                unless_transposed=tuple(transposed),
            ),
            LevelSpec(
                kind="exact",
                column="middle_std",
                label="middle name: the same",
                m=0.70,
                u=0.01,
                tf=True,
            ),
            LevelSpec(
                kind="exact",
                column="middle_first",
                label="middle name: same first middle name, others differ",
                m=0.10,
                u=0.004,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column="middle_std",
                threshold=0.92,
                label="middle name: spelled very similarly",
                m=0.05,
                u=0.004,
            ),
            else_level("middle name", m=0.15, u=0.982),
        ),
    )


def date_of_birth_comparison() -> ComparisonSpec:
    """Date of birth: exact, and each kind of slip as its own level with its own weight."""
    return ComparisonSpec(
        name="dob",
        description=(
            "Date of birth as an ISO date; a year alone when only the year is known. "
            "Placeholder dates (1900-01-01 and the like) are missing."
        ),
        levels=(
            null_level("dob_year", "date of birth"),
            LevelSpec(
                kind="exact", column="dob", label="date of birth: the same", m=0.82, u=0.0003
            ),
            LevelSpec(
                kind="day_month_swapped",
                column="dob",
                label="date of birth: day and month swapped",
                m=0.02,
                u=0.00003,
            ),
            LevelSpec(
                kind="levenshtein",
                column="dob",
                threshold=1,
                label="date of birth: one digit different",
                m=0.03,
                u=0.003,
            ),
            LevelSpec(
                kind="year_transposed",
                column="dob",
                label="date of birth: year digits transposed",
                m=0.005,
                u=0.00002,
            ),
            LevelSpec(
                kind="year_off_by_one",
                column="dob",
                label="date of birth: year off by one",
                m=0.01,
                u=0.0006,
            ),
            LevelSpec(
                kind="year_only",
                column="dob_year",
                label="date of birth: only the year is known on one side, and it matches",
                m=0.02,
                u=0.004,
            ),
            LevelSpec(
                kind="exact",
                column="dob_year",
                label="date of birth: same year",
                m=0.02,
                u=0.012,
            ),
            else_level("date of birth", m=0.075, u=0.98),
        ),
    )


def family_comparison(
    identifiers: Sequence[str] = ("nhs_std",), transposed: Sequence[tuple[str, str]] = ()
) -> ComparisonSpec:
    """A guard against merging relatives: twins, and a parent and child of the same name.

    Fellegi-Sunter treats fields as independent, but relatives share a surname, an address
    and sometimes a birth date, so those agreements overstate the evidence. These two
    patterns carry a fixed weight of about -16 bits that training never changes; every
    other pair gets 0 here. A pair that trips the guard can still match on overwhelming
    agreement elsewhere, but it is never joined through a chain of other records (see
    ``Result.entities_at``).

    - twins: same surname, dates of birth that are one date read twice (the same, or day
      and month swapped), and forenames with no relation at all (not
      similar, not a nickname, initial, middle name or known alias);
    - parent and child: the same surname, related forenames (the same, a nickname or short
      form, respelled, an initial, or one's middle name), born 14 or more years apart on a
      different day and month (the same day and month points to a slipped year digit).

    Both read the dates through the date of birth comparison's own levels, and the forenames
    through the forename comparison's, so "related" means here what it means when scoring.
    Neither fires when one of ``identifiers`` (prepared columns: the NHS number, declared
    identifiers) is the same on both records or one character apart: relatives do not share
    an identifier (a valid NHS number cannot be one digit from another: its check digit), or
    when one's value has two adjacent characters of the other's swapped (``transposed``: pairs
    of an identifier column and the list column of its swapped values).
    """
    unless = tuple(identifiers)
    return ComparisonSpec(
        name="family",
        description="Guard against relatives: twins, and a parent and child of one name",
        levels=(
            LevelSpec(
                kind="twins_pattern",
                column="dob",
                label=(
                    "family guard: same surname, same or day-month-swapped date of birth, "
                    "unrelated forenames (possible twins)"
                ),
                m=1.5e-10,
                u=1e-5,
                fixed=True,
                unless_identifier=unless,
                unless_transposed=tuple(transposed),
            ),
            LevelSpec(
                kind="parent_child_pattern",
                column="dob_year",
                label=(
                    "family guard: same surname, related forename, born 14 or more years "
                    "apart on a different day (possible parent and child)"
                ),
                m=1.5e-10,
                u=1e-5,
                fixed=True,
                unless_identifier=unless,
                unless_transposed=tuple(transposed),
            ),
            LevelSpec(
                kind="else",
                label="family guard: no sign of two relatives",
                m=0.99998,
                u=0.99998,
                fixed=True,
            ),
        ),
    )


def alias_comparison() -> ComparisonSpec:
    """Known aliases: one record's alias is the other's name or alias, in either direction."""
    return ComparisonSpec(
        name="aliases",
        description="Other names a person is known by, each as first forename + surname",
        levels=(
            LevelSpec(
                kind="both_null",
                column="alias_keys",
                label="aliases: neither record lists any",
                m=0.5,
                u=0.5,
            ),
            LevelSpec(
                kind="lists_overlap",
                column="alias_keys",
                other="name_keys",
                label="aliases: one record's known alias is the other's name",
                m=0.3,
                u=1e-6,
            ),
            else_level("aliases", m=0.7, u=0.999999),
        ),
    )


def postcode_comparison() -> ComparisonSpec:
    """Postcode: exact, same sector, same district (outward code), different."""
    return ComparisonSpec(
        name="postcode",
        description="UK postcode; other postcodes compared whole",
        levels=(
            null_level("postcode_std", "postcode"),
            LevelSpec(
                kind="exact",
                column="postcode_std",
                label="postcode: the same",
                m=0.70,
                u=0.001,
                tf=True,
            ),
            LevelSpec(
                kind="exact",
                column="postcode_sector",
                label="postcode: same sector",
                m=0.05,
                u=0.003,
            ),
            LevelSpec(
                kind="exact",
                column="postcode_outward",
                label="postcode: same district",
                m=0.05,
                u=0.01,
            ),
            else_level("postcode", m=0.20, u=0.986),
        ),
    )


def sex_comparison() -> ComparisonSpec:
    """Sex: the same or different."""
    return ComparisonSpec(
        name="sex",
        description="Recorded sex, M or F",
        levels=(
            null_level("sex_std", "sex"),
            LevelSpec(kind="exact", column="sex_std", label="sex: the same", m=0.97, u=0.5),
            else_level("sex", m=0.03, u=0.5),
        ),
    )


def nhs_number_comparison() -> ComparisonSpec:
    """NHS number (valid check digit only): the same or different."""
    return ComparisonSpec(
        name="nhs_number",
        description="NHS number; numbers failing the mod-11 check digit are missing",
        levels=(
            null_level("nhs_std", "NHS number"),
            LevelSpec(kind="exact", column="nhs_std", label="NHS number: the same", m=0.95, u=1e-6),
            else_level("NHS number", m=0.05, u=0.999999).model_copy(
                update={"floor": IDENTIFIER_CLASH_FLOOR}
            ),
        ),
    )


def address_comparison(column: str = "address_std", field: str = "address") -> ComparisonSpec:
    """Free-text address or town: exact, very similar, similar, different."""
    return ComparisonSpec(
        name=field,
        description=f"{field.capitalize()}, standardised free text",
        levels=(
            null_level(column, field),
            LevelSpec(kind="exact", column=column, label=f"{field}: the same", m=0.70, u=0.001),
            LevelSpec(
                kind="jaro_winkler",
                column=column,
                threshold=0.90,
                label=f"{field}: very similar",
                m=0.15,
                u=0.005,
            ),
            LevelSpec(
                kind="jaro_winkler",
                column=column,
                threshold=0.75,
                label=f"{field}: somewhat similar",
                m=0.05,
                u=0.05,
            ),
            else_level(field, m=0.10, u=0.944),
        ),
    )


def exact_comparison(column: str, field: str) -> ComparisonSpec:
    """Any column compared for equality only."""
    return ComparisonSpec(
        name=field,
        description=f"{field}, exact match only",
        levels=(
            null_level(column, field),
            LevelSpec(kind="exact", column=column, label=f"{field}: the same", m=0.9, u=0.01),
            else_level(field, m=0.1, u=0.99),
        ),
    )


def default_comparisons(
    available: Sequence[str],
    identifiers: Sequence[str] = (),
    transposed: Sequence[tuple[str, str]] = (),
) -> tuple[ComparisonSpec, ...]:
    """The default comparisons for the prepared columns that hold any values.

    Args:
        available: prepared column names with at least one non-missing value.
        identifiers: prepared columns of declared identifiers; with the NHS number, their
            agreement silences the family guard.
        transposed: (identifier column, its swapped-values list column) pairs of declared
            identifiers, for the same purpose.
    """
    present = set(available)
    same_person = [c for c in ("nhs_std", *identifiers) if c in present]
    swapped = [(c, swaps) for c, swaps in transposed if c in present]
    candidates = (
        forename_comparison(),
        surname_comparison(),
        middle_name_comparison(same_person, swapped),
        date_of_birth_comparison(),
        postcode_comparison(),
        sex_comparison(),
        nhs_number_comparison(),
        address_comparison("address_std", "address"),
        address_comparison("town_std", "town"),
        alias_comparison(),
    )
    chosen = [spec for spec in candidates if spec.levels[0].column in present]
    if {"forename_std", "surname_joined", "dob_year"} <= present:
        chosen.append(family_comparison(same_person, swapped))
    return tuple(chosen)


def close_date_levels() -> tuple[LevelSpec, ...]:
    """Date of birth levels of one date read twice: the same, or day and month swapped.

    Not a one-digit slip: on historical 50k (real records) a person's dates differ by one
    digit often enough that reading such pairs as twins cost more true pairs than it saved.
    """
    levels = date_of_birth_comparison().levels
    return tuple(level for level in levels if level.column == "dob" and level.kind in _CLOSE_DATES)


_CLOSE_DATES = frozenset({"exact", "day_month_swapped"})


def related_forename_levels() -> tuple[LevelSpec, ...]:
    """Forename levels a father and his namesake son share: same, nickname, respelled, initial."""
    levels = forename_comparison().levels
    return tuple(
        level for level in levels[1:-1] if level.kind not in ("reversed", "reversed_similar")
    )
