"""The one place SQL text is assembled: identifier quoting and dialect spellings.

User values never reach SQL text: they travel as bound query parameters.
Identifiers (table and column names) go through :func:`quote_identifier`.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Dialect", "dialect", "jaro_winkler_sql", "quote_identifier"]


def quote_identifier(name: str) -> str:
    """Quote a table or column name for DuckDB and Spark SQL alike.

    Double quotes inside the name are doubled; a NUL character is refused.

    Raises:
        ValueError: ``name`` is empty or contains a NUL character.
    """
    if not name or "\x00" in name:
        msg = "an SQL identifier must be non-empty text without NUL characters"
        raise ValueError(msg)
    return '"' + name.replace('"', '""') + '"'


class Dialect(NamedTuple):
    """How one SQL dialect spells the few things identmatch writes itself."""

    name: str
    quote: str
    """Identifier quote character."""
    list_contains: str
    """Function (list, value) -> whether the list holds the value."""
    lists_overlap: str
    """Function (list, list) -> whether the lists share an element."""

    def column(self, name: str) -> str:
        """A quoted column name."""
        if not name or "\x00" in name:
            msg = "an SQL identifier must be non-empty text without NUL characters"
            raise ValueError(msg)
        return self.quote + name.replace(self.quote, self.quote * 2) + self.quote


_DIALECTS = {
    "duckdb": Dialect("duckdb", '"', "list_contains", "list_has_any"),
    "spark": Dialect("spark", "`", "array_contains", "arrays_overlap"),
}


def dialect(name: str) -> Dialect:
    """The :class:`Dialect` called ``name`` (``duckdb`` or ``spark``).

    Raises:
        ValueError: the dialect is not supported.
    """
    try:
        return _DIALECTS[name]
    except KeyError:
        allowed = ", ".join(sorted(_DIALECTS))
        msg = f"SQL dialect {name!r} is not supported; use one of: {allowed}"
        raise ValueError(msg) from None


def jaro_winkler_sql(sql: Dialect, left: str, right: str) -> str:
    """Jaro-Winkler similarity in [0, 1] of two SQL text expressions, in ``sql``'s dialect.

    DuckDB has ``jaro_winkler_similarity``. Spark has no Jaro-Winkler function, and the one
    in Splink's Java jar scores differently (it matches characters by another rule, so a
    pair near a threshold can fall into another level), so for Spark the same algorithm as
    DuckDB's and rapidfuzz's is written in Spark's own higher-order array functions:

    - characters match when equal and at most ``max(len) / 2 - 1`` positions apart, each
      character of ``right`` used once, scanning ``left`` from the start;
    - Jaro = (m / len_l + m / len_r + (m - t) / m) / 3 for m matches and t half the number
      of matched characters out of order (rounded down);
    - above a Jaro of 0.7, the common prefix (up to 4 characters) adds 0.1 per character of
      the remaining distance.

    Both inputs are expressions (quoted columns); the result is NULL when either is NULL.
    """
    if sql.name != "spark":
        return f"jaro_winkler_similarity({left}, {right})"
    a, b = f"({left})", f"({right})"
    la, lb = f"char_length({a})", f"char_length({b})"

    def let(value: str, name: str, body: str) -> str:
        # Spark SQL has no LET: a one-element array's transform binds a name to a value.
        return f"element_at(transform(array({value}), {name} -> {body}), 1)"

    def char(text: str, index: str) -> str:
        return f"substring({text}, {index} + 1, 1)"

    # Matching: scan a; for each character take the first unused equal character of b
    # within the window. The state holds b's used flags and a's matched positions.
    window = f"greatest(CAST(greatest({la}, {lb}) / 2 AS INT) - 1, 0)"
    lo, hi = f"greatest(i - {window}, 0)", f"least(i + {window}, {lb} - 1)"
    found = (
        f"array_position(transform(sequence({lo}, greatest({hi}, {lo})), "
        f"k -> k <= {hi} AND NOT coalesce(try_element_at(st.used, k + 1), true) "
        f"AND {char(a, 'i')} = {char(b, 'k')}), true)"
    )
    step = let(
        found,
        "p",
        "named_struct("
        f"'used', transform(st.used, (u, k) -> u OR (p > 0 AND k = {lo} + p - 1)), "
        "'ma', CASE WHEN p > 0 THEN concat(st.ma, array(i)) ELSE st.ma END)",
    )
    start = f"named_struct('used', array_repeat(false, {lb}), 'ma', CAST(array() AS ARRAY<INT>))"
    matched = f"aggregate(sequence(0, {la} - 1), {start}, (st, i) -> {step})"
    # t: matched characters of a and of b, each in order, that differ, halved (rounded down).
    mb = f"filter(sequence(0, {lb} - 1), k -> element_at(s.used, k + 1))"
    half_t = (
        f"floor(size(filter(zip_with(s.ma, {mb}, (x, y) -> {char(a, 'x')} <> {char(b, 'y')}), "
        "z -> z)) / 2)"
    )
    m = "size(s.ma)"
    jaro = f"({m} / {la} + {m} / {lb} + ({m} - {half_t}) / {m}) / 3"
    shorter = f"least(4, {la}, {lb})"
    first_difference = (
        f"array_position(transform(sequence(0, {shorter} - 1), "
        f"n -> {char(a, 'n')} <> {char(b, 'n')}), true)"
    )
    prefix = let(first_difference, "q", f"CASE WHEN q = 0 THEN {shorter} ELSE q - 1 END")
    winkler = let(jaro, "j", f"CASE WHEN j <= 0.7 THEN j ELSE j + {prefix} * 0.1 * (1.0 - j) END")
    return (
        f"CASE WHEN {a} IS NULL OR {b} IS NULL THEN NULL "
        f"WHEN {la} = 0 OR {lb} = 0 THEN 0.0 "
        f"ELSE {let(matched, 's', f'CASE WHEN {m} = 0 THEN 0.0 ELSE {winkler} END')} END"
    )
