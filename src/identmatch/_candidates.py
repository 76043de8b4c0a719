"""Candidate pairs: which records are compared, the same way in batch and in search.

Every record emits many cheap keys (:data:`identmatch._blocking.DEFAULT_BLOCKING_RULES`: a
name alone, a rare name token, sorted phonetic names, a date of birth with its slips, a
postcode, identifiers). Comparing every pair that shares a key would be quadratic in common
names, so candidates are chosen by meta-blocking (Papadakis et al., "Meta-blocking: taking
entity resolution to the next level", 2014), in the form the literature calls weighted
cardinality node pruning:

1. **Block purging**: a key shared by more than ``max_block_size`` records is not used. Its
   refinements (the same key with a birth year, a district, a day of birth) still are, so a
   "John Smith" is compared with the John Smiths of his year or district, not with none.
2. **Edge weighting**: a pair's cheap score is the sum, over the kinds of evidence it shares
   (families of rules reading the same fields: name, name and date of birth, date of birth
   and postcode, ...), of ``ln(N / size)`` of its rarest shared key of that kind: a rare key
   counts for much, a common one for little, like an inverse document frequency (it
   approximates a Fellegi-Sunter weight with u read off the block size). Each kind counts
   once, so a name shared whole, phonetically and token by token, or a forename's ten
   nicknames, is one piece of evidence.
3. **Node pruning**: each record keeps its ``per_record`` best-scoring candidates (ties
   broken by record id), and a pair is compared when either of its records keeps it. Pairs
   per record are therefore at most ``per_record`` whatever the data.

Node pruning was chosen over a global weight threshold because it bounds the cost per record
(a record in a dense neighbourhood cannot take a share of the budget from others) and over
sorted neighbourhood because it needs no single sort order: a swapped, respelled or missing
field moves a record far away in any order, but it still shares other keys.

The batch path is SQL run where the records are (DuckDB, or Spark SQL), ending in one list
column per record, ``candidate_pairs``, that Splink blocks on (two records share a list
element exactly when they are a chosen pair), so Splink still forms and scores every pair.
Search takes the same keys and the same weights (:func:`rank_query_candidates`), scores
``search_per_query`` candidates in full, and so finds every record a batch run pairs it with.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

from identmatch._blocking import BlockingRule, CandidateSettings
from identmatch._sql import dialect as sql_dialect

__all__ = [
    "CANDIDATE_COLUMN",
    "candidate_sql",
    "key_weight",
    "rank_query_candidates",
]

CANDIDATE_COLUMN = "candidate_pairs"
"""The list column of chosen pair keys that Splink blocks on."""

SqlDialect = Literal["duckdb", "spark"]


def key_weight(records: int, size: int) -> float:
    """The cheap-score weight of a key ``size`` records share among ``records``."""
    return math.log(max(records, size) / size)


def _explode(dialect: SqlDialect, value: str) -> str:
    return f"explode({value})" if dialect == "spark" else f"unnest({value})"


def _hash(dialect: SqlDialect, value: str) -> str:
    # Only groups keys: any 64-bit hash will do (collisions are about N^2 / 2^65).
    return f"xxhash64({value})" if dialect == "spark" else f"hash({value})"


_FIELDS = (
    ("nhs", "identifier"),
    ("dob", "dob"),
    ("postcode", "postcode"),
    ("address", "place"),
    ("town", "place"),
)


def _field(column: str) -> str:
    """The field a prepared column describes: every name column is one field, ``name``."""
    bare = column.removesuffix("[]")
    for prefix, field in _FIELDS:
        if bare.startswith(prefix):
            return field
    return bare if bare.startswith("id_") else "name"


def rule_families(rules: Sequence[BlockingRule]) -> list[int]:
    """Each rule's family: rules reading the same fields are one kind of evidence.

    A pair sharing a whole name, its phonetic form and a rare name token has one piece of
    evidence (the name), not three, so within a family only the rarest shared key counts.
    """
    seen: dict[frozenset[str], int] = {}
    return [seen.setdefault(frozenset(_field(c) for c in rule), len(seen)) for rule in rules]


def _key_rows_sql(
    dialect: SqlDialect, rules: Sequence[BlockingRule], table: str, source: int
) -> list[str]:
    """SELECTs of ``(src, uid, rule, key)`` for every key of every row of ``table``."""
    selects = []
    families = rule_families(rules)
    for number, rule in enumerate(rules):
        names = [sql_dialect(dialect).column(column.removesuffix("[]")) for column in rule]
        values = [f"c{position}" for position in range(len(rule))]
        picked = ", ".join(f"t.{n} AS {v}" for n, v in zip(names, values, strict=True))
        inner = f"SELECT t.unique_id AS uid, {picked} FROM {table} AS t"
        listed = [v for column, v in zip(rule, values, strict=True) if column.endswith("[]")]
        for value in listed:  # one generator per level: a product, not a zip
            kept = ", ".join(f"{_explode(dialect, v)} AS {v}" if v == value else v for v in values)
            inner = f"SELECT uid, {kept} FROM ({inner}) AS x"
        conditions = " AND ".join(f"{v} IS NOT NULL AND {v} <> ''" for v in values)
        key = _hash(dialect, f"concat_ws(chr(31), '{int(number)}', {', '.join(values)})")
        selects.append(
            f"SELECT {int(source)} AS src, uid, {int(number)} AS rule, "
            f"{int(families[number])} AS family, {key} AS key "
            f"FROM ({inner}) AS y WHERE {conditions}"
        )
    return selects


def candidate_sql(
    dialect: SqlDialect,
    rules: Sequence[BlockingRule],
    tables: Sequence[str],
    settings: CandidateSettings,
    records: int,
    prefix: str,
) -> list[tuple[str, str]]:
    """The statements that choose candidate pairs, as ``(table to create, SELECT)``.

    ``tables`` are the (quoted) prepared inputs: one for a dedupe, two for a link, where
    pairs are formed only across them. The last table, ``{prefix}_kept``, holds
    ``src_l, uid_l, src_r, uid_r, score, first_rule, pair_key``: every chosen pair once,
    with its cheap score and the first rule (in catalogue order) of the keys it shares.
    """
    linked = len(tables) == 2
    union = "\nUNION ALL\n".join(
        select
        for source, table in enumerate(tables)
        for select in _key_rows_sql(dialect, rules, table, source)
    )
    keys, blocks, scored, kept = (f"{prefix}_{n}" for n in ("keys", "blocks", "scored", "kept"))
    cap = int(settings.max_block_size)
    both_sides = " AND min(src) = 0 AND max(src) = 1" if linked else ""
    across = "a.src = 0 AND b.src = 1" if linked else "a.uid < b.uid"
    n = max(int(records), 2)
    per_record = int(settings.per_record)
    first_l = "CASE WHEN s < os OR (s = os AND u < o) THEN"
    pair_key = (
        "concat_ws(chr(31), CAST(src_l AS VARCHAR(1)), uid_l, CAST(src_r AS VARCHAR(1)), uid_r)"
        if dialect == "duckdb"
        else "concat_ws(chr(31), CAST(src_l AS STRING), uid_l, CAST(src_r AS STRING), uid_r)"
    )
    return [
        (keys, f"SELECT DISTINCT src, uid, rule, family, key FROM ({union}) AS k"),
        (
            blocks,
            f"SELECT key, ln({n}.0 / count(*)) AS w FROM {keys} GROUP BY key "
            f"HAVING count(*) >= 2 AND count(*) <= {cap}{both_sides}",
        ),
        (
            scored,
            "WITH kb AS (SELECT k.src, k.uid, k.rule, k.family, k.key, b.w FROM "
            f"{keys} AS k JOIN {blocks} AS b ON k.key = b.key), "
            # A family counts once per pair, by its rarest shared key: the same name
            # shared whole, phonetically and token by token is one piece of evidence.
            "per_family AS (SELECT a.src AS src_l, a.uid AS uid_l, b.src AS src_r, "
            "b.uid AS uid_r, max(a.w) AS w, min(a.rule) AS rule "
            f"FROM kb AS a JOIN kb AS b ON a.key = b.key AND {across} "
            "GROUP BY a.src, a.uid, b.src, b.uid, a.family) "
            "SELECT src_l, uid_l, src_r, uid_r, sum(w) AS score, min(rule) AS first_rule "
            "FROM per_family GROUP BY src_l, uid_l, src_r, uid_r",
        ),
        (
            kept,
            "WITH directed AS ("
            "SELECT src_l AS s, uid_l AS u, src_r AS os, uid_r AS o, score, first_rule "
            f"FROM {scored} UNION ALL "
            "SELECT src_r AS s, uid_r AS u, src_l AS os, uid_l AS o, score, first_rule "
            f"FROM {scored}), "
            "ranked AS (SELECT s, u, os, o, score, first_rule, row_number() OVER "
            "(PARTITION BY s, u ORDER BY score DESC, os, o) AS rk FROM directed), "
            "chosen AS (SELECT DISTINCT "
            f"{first_l} s ELSE os END AS src_l, {first_l} u ELSE o END AS uid_l, "
            f"{first_l} os ELSE s END AS src_r, {first_l} o ELSE u END AS uid_r, "
            f"score, first_rule FROM ranked WHERE rk <= {per_record}) "
            f"SELECT src_l, uid_l, src_r, uid_r, score, first_rule, {pair_key} AS pair_key "
            "FROM chosen",
        ),
    ]


def with_candidates_sql(dialect: SqlDialect, table: str, kept: str, source: int) -> str:
    """SELECT of ``table``'s rows with their ``candidate_pairs`` list (NULL when none)."""
    gather = "collect_list" if dialect == "spark" else "list"
    column = sql_dialect(dialect).column(CANDIDATE_COLUMN)
    return (
        f"SELECT t.*, p.{column} FROM {table} AS t LEFT JOIN ("
        f"SELECT uid, {gather}(pair_key) AS {column} FROM ("
        f"SELECT uid_l AS uid, pair_key FROM {kept} WHERE src_l = {int(source)} UNION ALL "
        f"SELECT uid_r AS uid, pair_key FROM {kept} WHERE src_r = {int(source)}) AS e "
        "GROUP BY uid) AS p ON p.uid = t.unique_id"
    )


def rank_query_candidates(
    shared: Mapping[tuple[int, int], Sequence[int]],
    rules: Sequence[BlockingRule],
    records: int,
    settings: CandidateSettings,
    *,
    limit: int | None = None,
) -> list[int]:
    """A query's candidates, best first: the search twin of the batch SQL's weighting.

    Args:
        shared: (rule number, key hash) -> rows of the index sharing that key (the query
            not among them).
        records: records in the index, the query included (the batch's ``N``).
        settings: the model's candidate settings.
        limit: candidates to keep (``settings.search_per_query`` when None).

    A key's block counts the query too, as it would in a batch run that held it: a key is
    used when at most ``max_block_size - 1`` index rows share it.
    """
    families = rule_families(rules)
    best: dict[tuple[int, int], float] = {}  # (row, family) -> its rarest shared key's weight
    for (rule, _), rows in shared.items():
        family = families[rule]
        size = len(rows) + 1
        if size > settings.max_block_size:
            continue
        weight = key_weight(records, size)
        for row in rows:
            if weight > best.get((row, family), 0.0):
                best[(row, family)] = weight
    scores: dict[int, float] = {}
    for (row, _), weight in best.items():
        scores[row] = scores.get(row, 0.0) + weight
    keep = settings.search_per_query if limit is None else limit
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [row for row, _ in ranked[:keep]]
