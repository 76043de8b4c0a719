"""Candidate pairs: which records are compared, the same way in batch and in search.

Every record emits many cheap keys (:data:`identmatch._candidates.blocking.DEFAULT_BLOCKING_RULES`:
a
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
Search takes the same keys and the same weights (:func:`rank_query_candidates`) and scores
its ``search_per_query`` best candidates in full: every record a batch run pairs it with,
unless that record kept it while ranking below ``search_per_query`` among its own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, NamedTuple

from identmatch._candidates.blocking import BlockingRule, CandidateSettings
from identmatch._candidates.keys import key_text_selects
from identmatch._sql import dialect as sql_dialect

__all__ = [
    "CANDIDATE_COLUMN",
    "Statement",
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


def _key_rows_sql(dialect: SqlDialect, rules: Sequence[BlockingRule], table: str) -> list[str]:
    """SELECTs of ``(node, src, rule, family, key)`` for every key of every row of ``table``.

    ``table`` has the prepared columns and ``node`` and ``src``.
    """
    families = rule_families(rules)
    selects = key_text_selects(rules, table, ["node", "src"], dialect=dialect)
    return [
        f"SELECT node, src, CAST({number} AS SMALLINT) AS rule, "
        f"CAST({families[number]} AS SMALLINT) AS family, "
        f"{_hash(dialect, 'key_text')} AS key FROM ({select}) AS k"
        for number, select in enumerate(selects)
    ]


class Statement(NamedTuple):
    """One step of choosing candidates: create ``table`` from ``sql``, then drop ``drop``."""

    table: str
    sql: str
    drop: tuple[str, ...] = ()


def candidate_sql(
    dialect: SqlDialect,
    rules: Sequence[BlockingRule],
    tables: Sequence[str],
    settings: CandidateSettings,
    records: int,
    prefix: str,
) -> list[Statement]:
    """The statements that choose candidate pairs.

    ``tables`` are the (quoted) prepared inputs: one for a dedupe, two for a link, where
    pairs are formed only across them. The last table, ``{prefix}_kept``, holds
    ``src_l, uid_l, src_r, uid_r, first_rule, pair_key``: every chosen pair once, with the
    first rule (in catalogue order) of the keys it shares. Records are numbered in
    ``(input, record id)`` order, so the numbers break ties as record ids would, on any
    engine, while the large tables hold integers rather than ids.
    """
    linked = len(tables) == 2
    nodes, numbered, keys, blocks, scored, kept = (
        f"{prefix}_{n}" for n in ("nodes", "numbered", "keys", "blocks", "scored", "kept")
    )
    ids = " UNION ALL ".join(
        f"SELECT {source} AS src, unique_id AS uid FROM {table}"
        for source, table in enumerate(tables)
    )
    inputs = " UNION ALL ".join(
        f"SELECT n.node, n.src, t.* FROM {table} AS t JOIN {nodes} AS n "
        f"ON n.src = {source} AND n.uid = t.unique_id"
        for source, table in enumerate(tables)
    )
    union = "\nUNION ALL\n".join(_key_rows_sql(dialect, rules, numbered))
    cap = int(settings.max_block_size)
    both_sides = " AND min(src) = 0 AND max(src) = 1" if linked else ""
    across = "a.src = 0 AND b.src = 1" if linked else "a.node < b.node"
    n = max(int(records), 2)
    per_record = int(settings.per_record)
    # Any number unique to the pair will do: it only joins the pair's two records.
    pair_key = "monotonically_increasing_id()" if dialect == "spark" else "row_number() OVER ()"
    return [
        Statement(
            nodes,
            f"SELECT CAST(src AS TINYINT) AS src, uid, "
            f"CAST(row_number() OVER (ORDER BY src, uid) AS INT) AS node FROM ({ids}) AS i",
        ),
        Statement(numbered, inputs),
        Statement(
            keys, f"SELECT DISTINCT node, src, rule, family, key FROM ({union}) AS k", (numbered,)
        ),
        Statement(
            blocks,
            f"SELECT key, ln({n}.0 / count(*)) AS w FROM {keys} GROUP BY key "
            f"HAVING count(*) >= 2 AND count(*) <= {cap}{both_sides}",
        ),
        Statement(
            scored,
            "WITH kb AS (SELECT k.node, k.src, k.rule, k.family, k.key, b.w FROM "
            f"{keys} AS k JOIN {blocks} AS b ON k.key = b.key), "
            # A family counts once per pair, by its rarest shared key: the same name
            # shared whole, phonetically and token by token is one piece of evidence.
            "per_family AS (SELECT a.node AS l, b.node AS r, max(a.w) AS w, min(a.rule) AS rule "
            f"FROM kb AS a JOIN kb AS b ON a.key = b.key AND {across} "
            "GROUP BY a.node, b.node, a.family) "
            # Rounded, so that engines summing in another order still tie where they should.
            "SELECT l, r, round(sum(w), 9) AS score, min(rule) AS first_rule "
            "FROM per_family GROUP BY l, r",
            (keys, blocks),
        ),
        Statement(
            kept,
            "WITH directed AS ("
            f"SELECT l AS u, r AS o, score FROM {scored} UNION ALL "
            f"SELECT r AS u, l AS o, score FROM {scored}), "
            "ranked AS (SELECT u, o, row_number() OVER "
            "(PARTITION BY u ORDER BY score DESC, o) AS rk FROM directed), "
            "chosen AS (SELECT DISTINCT CASE WHEN u < o THEN u ELSE o END AS a, "
            f"CASE WHEN u < o THEN o ELSE u END AS b FROM ranked WHERE rk <= {per_record}) "
            f"SELECT l.src AS src_l, l.uid AS uid_l, r.src AS src_r, r.uid AS uid_r, "
            f"s.first_rule, {pair_key} AS pair_key "
            f"FROM chosen AS c JOIN {scored} AS s ON s.l = c.a AND s.r = c.b "
            f"JOIN {nodes} AS l ON l.node = c.a JOIN {nodes} AS r ON r.node = c.b",
            (scored, nodes),
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
    keys: Iterable[tuple[int, int]],
    rows_of: Mapping[int, Sequence[int]],
    rules: Sequence[BlockingRule],
    records: int,
    settings: CandidateSettings,
    *,
    limit: int | None = None,
) -> list[int]:
    """A query's candidates, best first: the search twin of the batch SQL's weighting.

    Args:
        keys: the query's ``(rule number, key hash)`` keys.
        rows_of: key hash -> rows sharing it (the query not among them).
        rules: the model's keys, for their families.
        records: records in the index, the query included (the batch's ``N``).
        settings: the model's candidate settings.
        limit: candidates to keep (``settings.search_per_query`` when None).

    A key's block counts the query too, as it would in a batch run that held it: a key is
    used when at most ``max_block_size - 1`` rows share it.
    """
    families = rule_families(rules)
    best: dict[tuple[int, int], float] = {}  # (row, family) -> its rarest shared key's weight
    for rule, hashed in keys:
        rows = rows_of.get(hashed, ())
        size = len(rows) + 1
        if size == 1 or size > settings.max_block_size:
            continue
        family, weight = families[rule], key_weight(records, size)
        for row in rows:
            if weight > best.get((row, family), 0.0):
                best[(row, family)] = weight
    scores: dict[int, float] = {}
    for (row, _), weight in best.items():
        scores[row] = scores.get(row, 0.0) + weight
    keep = settings.search_per_query if limit is None else limit
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [row for row, _ in ranked[:keep]]
