"""The "hard" profile of the synthetic generator: the rates behind ``ErrorRates.hard()``.

The default rates were set from what serious case reviews describe and make data that
identmatch scores at F1 0.98; data nobody on the team made is harder (issue 12): dates of birth
missing or a placeholder, changed and double-barrelled surnames, transliterations, aliases used
as the main name, names swapped and respelled, initials without a date of birth. This profile
raises each of those so that benchmarks stop tuning to easy data. Every rate is at least its
default; the hard-negative fractions are too, so precision is tested at least as hard.

``HARD_MINIMUMS`` are the realised shares a hard-profile frame must show (tests measure them on
generated records): they are what the profile promises, whatever the rates below become.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["HARD_ERROR_RATES", "HARD_MINIMUMS", "HARD_POPULATION"]

HARD_ERROR_RATES: Final[Mapping[str, float]] = {
    # Whole name. Police and probation records are often under an alias.
    "known_alias": 0.50,  # default 0.35; of later records of people with aliases
    "swapped_names": 0.05,  # 0.01; foreign name orders and forms filled in a hurry
    "swapped_respelled": 0.40,  # 0 (new); of swapped records: "jairaj swamy" / "Swamie Jairaj"
    # Forename.
    "transliteration": 0.50,  # 0.30; of records whose name has a variant (Usman/Osman)
    "nickname": 0.25,  # 0.15
    "middle_name_as_forename": 0.08,  # 0.05
    "forename_initial": 0.06,  # 0.02; with dob_missing, the "C Ogunleye, no dob" miss
    "forename_typo": 0.06,  # 0 (new); with a dob slip, the "typo and a dob slip" miss
    # Surname.
    "changed_surname": 0.50,  # 0.30; of records of people with a former (maiden) name
    "double_barrelled": 0.60,  # 0.40; half of these show one half only
    "phonetic_respelling": 0.20,  # 0.12
    "surname_typo": 0.05,  # 0.03
    # Styling (standardising undoes these; kept a little above the default).
    "dropped_accents": 0.60,  # 0.50
    "title_in_name": 0.03,  # 0.02
    "name_suffix": 0.40,  # as the default
    "case_whitespace_noise": 0.08,  # 0.04
    # Date of birth: about 19% of records have none or a placeholder (issue: 10-25%).
    "dob_missing": 0.12,  # 0.03; a name with no date of birth at all
    "dob_placeholder": 0.04,  # 0.005; 1900-01-01
    "dob_year_only": 0.04,  # 0.01; 01/01 of the year
    "dob_day_month_swap": 0.08,  # 0.03; only where the day is 12 or less
    "dob_digit_slip": 0.05,  # 0.015
    "dob_year_transposed": 0.015,  # 0.006
    "dob_year_off_by_one": 0.03,  # 0.01
    # Contact details: postcodes that differ or are missing, so no postcode rescues a pair.
    "postcode_moved": 0.50,  # 0.35
    "postcode_missing": 0.15,  # 0.06
    "nhs_digit_error": 0.03,  # 0.015
}
"""Keyword arguments of ``ErrorRates.hard()``: per-record chances among eligible records."""

HARD_POPULATION: Final[Mapping[str, float]] = {
    "twin": 0.03,  # default 0.02
    "father_son": 0.03,  # 0.02
    "brothers": 0.03,  # 0.02
    "common_name": 0.05,  # 0.03
    "alias": 0.15,  # 0.06; known by one or two other full names
    "married_name": 0.50,  # 0.35; of women born before 1998
    "double_barrelled": 0.10,  # 0.02; of British-named people
    "moved": 0.60,  # 0.40
}
"""Keyword arguments of ``PopulationRates.hard()``: fractions of people."""

HARD_MINIMUMS: Final[Mapping[str, float]] = {
    # Shares of all records.
    "dob_missing_or_placeholder": 0.15,  # no dob, 1900-01-01 or 01/01 of the year
    "dob_missing": 0.10,  # no date of birth at all
    "swapped_names": 0.04,
    "swapped_respelled": 0.015,  # swapped and one of the two names respelled
    "forename_initial": 0.04,
    "forename_initial_no_dob": 0.005,  # an initial and no usable date of birth
    "forename_variant_dob_slip": 0.01,  # nickname or forename typo, and a dob slip
    # Shares of eligible records.
    "changed_surname": 0.40,  # of records of people with a former surname
    "double_barrelled_one_half": 0.20,  # of records of people with a double-barrelled surname
    "transliteration": 0.40,  # of records whose true forename or surname has a variant
    "known_alias": 0.40,  # of later records of people with aliases
    # Shares of people.
    "people_with_aliases": 0.12,
    "people_with_former_surname": 0.15,
}
"""What a hard-profile frame shows at least (see ``tests/test_synthetic.py``)."""
