"""Per-record standardisers and phonetic encoders: ``import identmatch.standardisers as ist``.

Each is pure, idempotent on its own output and never raises on arbitrary text; missing
values (None, NaN, ``pandas.NA``, blank text) give ``None``.
"""

from __future__ import annotations

from identmatch._model.similarity import jaro_winkler, levenshtein_similarity, token_set_similarity
from identmatch._prepare.identifiers import (
    standardise_cro_number,
    standardise_email,
    standardise_identifier,
    standardise_ni_number,
    standardise_phone,
    standardise_plain_identifier,
    standardise_pnc_id,
    standardise_upn,
)
from identmatch._prepare.phonetic import nysiis_code, phonetic_code, soundex_code
from identmatch._prepare.standardise import (
    ParsedDate,
    Postcode,
    fold_text,
    is_valid_nhs_number,
    joined_name,
    name_tokens,
    parse_date,
    standardise_dob,
    standardise_name,
    standardise_nhs_number,
    standardise_postcode,
    standardise_sex,
)
from identmatch._prepare.values import is_missing

__all__ = [
    "ParsedDate",
    "Postcode",
    "fold_text",
    "is_missing",
    "is_valid_nhs_number",
    "jaro_winkler",
    "joined_name",
    "levenshtein_similarity",
    "name_tokens",
    "nysiis_code",
    "parse_date",
    "phonetic_code",
    "soundex_code",
    "standardise_cro_number",
    "standardise_dob",
    "standardise_email",
    "standardise_identifier",
    "standardise_name",
    "standardise_nhs_number",
    "standardise_ni_number",
    "standardise_phone",
    "standardise_plain_identifier",
    "standardise_pnc_id",
    "standardise_postcode",
    "standardise_sex",
    "standardise_upn",
    "token_set_similarity",
]
