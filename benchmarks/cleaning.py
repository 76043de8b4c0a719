"""The minimal cleaning a Splink or recordlinkage user does to our synthetic records first.

Both tools compare values as given, and the synthetic records mix date formats, case and
spacing on purpose. This brings them to one format each; it does no more (no accent folding,
no titles or suffixes removed, no nicknames or aliases): those are what identmatch adds.
"""

from __future__ import annotations

__all__ = ["CLEANING", "synthetic_cleaning_sql"]

CLEANING = (
    "names trimmed, spaces collapsed and lower-cased; dates of birth from ISO, DD/MM/YYYY or "
    "D-M-YYYY to ISO; sex to m/f; postcodes upper-case with one space before the inward code; "
    "NHS numbers digits only"
)
"""The cleaning in words, for the report."""

_NAME = "nullif(lower(trim(regexp_replace({c}, '\\s+', ' ', 'g'))), '')"
_POSTCODE = "upper(regexp_replace(postcode, '\\s', '', 'g'))"


def synthetic_cleaning_sql(table: str) -> str:
    """DuckDB SQL: ``unique_id``, ``cluster`` and the cleaned columns of synthetic records."""
    return f"""
        select
            record_id as unique_id,
            person_id as cluster,
            {_NAME.format(c="forename")} as forename,
            {_NAME.format(c="surname")} as surname,
            strftime(coalesce(
                try_strptime(dob, '%Y-%m-%d'),
                try_strptime(dob, '%d/%m/%Y'),
                try_strptime(dob, '%d-%m-%Y')
            ), '%Y-%m-%d') as dob,
            case upper(left(trim(sex), 1)) when 'M' then 'm' when 'F' then 'f' end as sex,
            case when length({_POSTCODE}) between 5 and 7
                then left({_POSTCODE}, length({_POSTCODE}) - 3) || ' ' || right({_POSTCODE}, 3)
            end as postcode,
            nullif(regexp_replace(nhs_number, '[^0-9]', '', 'g'), '') as nhs_number
        from {table}
    """
