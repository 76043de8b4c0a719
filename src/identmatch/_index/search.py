"""Search: score one query against its candidates in process, and rank entities.

Candidates are the index's records sharing a blocking key with the query (the same keys the
batch run pairs on). Each is scored with the model's m and u and the index's term
frequencies, exactly as :mod:`identmatch._model.scoring` scores a batch pair; an entity ranks by
its best-scoring record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import duckdb
import pandas as pd
from pydantic import BaseModel

from identmatch._candidates.keys import hashed_keys
from identmatch._config import STANDARD_COLUMNS
from identmatch._exceptions import SchemaError
from identmatch._model.explain import Explanation, explanation_from_score
from identmatch._model.model import Model
from identmatch._model.scoring import TermFrequencies, score_pair
from identmatch._prepare.records import prepare_one
from identmatch._types import DateOrder, Verdict

if TYPE_CHECKING:
    from identmatch._index.snapshot import Snapshot

__all__ = ["Hit", "KnownRecord", "SearchSettings", "Searcher", "household", "rank_candidates"]


class SearchSettings(NamedTuple):
    """Match probabilities at which a hit is called a match, or possible."""

    match: float
    possible: float


class KnownRecord(BaseModel, frozen=True, extra="forbid"):
    """One record of an entity, as the index knows it."""

    record_id: str
    source: str | None
    name: str | None
    dob: str | None
    dob_given: str | None
    aliases: tuple[str, ...] = ()


class Hit(BaseModel, frozen=True, extra="forbid"):
    """One entity found by a search."""

    entity_id: str
    match_probability: float
    match_weight: float
    verdict: Verdict
    best_record_id: str
    """The entity's record that scored best against the query."""
    explanation: Explanation
    records: tuple[KnownRecord, ...] = ()

    def with_records(self, members: list[dict[str, Any]]) -> Hit:
        """A copy carrying the entity's records (rows of the index's records table)."""
        records = []
        for row in members:
            if row["entity_id"] != self.entity_id:
                continue
            parts = [row.get("forename"), row.get("middle_names"), row.get("surname")]
            name = " ".join(str(p) for p in parts if p) or None
            records.append(
                KnownRecord.model_construct(
                    record_id=str(row["record_id"]),
                    source=row.get("source"),
                    name=name,
                    dob=row.get("dob"),
                    dob_given=row.get("dob_given"),
                    aliases=tuple(row.get("aliases") or ()),
                )
            )
        return self.model_copy(update={"records": tuple(records)})


def verdict(probability: float, settings: SearchSettings) -> Verdict:
    """``match`` at or above the match threshold, ``possible`` above the lower one."""
    if probability >= settings.match:
        return "match"
    if probability >= settings.possible:
        return "possible"
    return "no match"


def rank_candidates(
    query: Mapping[str, Any],
    candidates: list[dict[str, Any]],
    model: Model,
    tf: TermFrequencies,
    settings: SearchSettings,
    *,
    top: int = 5,
) -> list[Hit]:
    """Score every candidate record, keep each entity's best, rank and cut at ``top``."""
    best: dict[str, tuple[float, str, Any]] = {}
    for record in candidates:
        score = score_pair(model, query, record, tf)
        entity = str(record["entity_id"])
        if entity not in best or score.match_weight > best[entity][0]:
            best[entity] = (score.match_weight, str(record["record_id"]), score)
    ranked = sorted(best.items(), key=lambda item: -item[1][0])
    hits = []
    for entity, (_, record_id, score) in ranked[:top]:
        if score.match_probability < settings.possible:
            break
        hits.append(
            Hit.model_construct(  # every value typed already; a search builds several
                entity_id=entity,
                match_probability=score.match_probability,
                match_weight=score.match_weight,
                verdict=verdict(score.match_probability, settings),
                best_record_id=record_id,
                explanation=explanation_from_score(model, score, "query", record_id),
            )
        )
    return hits


class Searcher:
    """One search, step by step: the index's and a search worker's, so they agree.

    :meth:`prepare` standardises the person as records are, :meth:`keys` gives the blocking
    keys (to find the part of the index the search reaches) and :meth:`search` ranks the
    snapshot's entities.
    """

    def __init__(self, model: Model, date_order: DateOrder, settings: SearchSettings) -> None:
        self.model = model
        self.date_order = date_order
        self.settings = settings

    def prepare(self, person: Mapping[str, Any]) -> dict[str, Any]:
        """The person as a prepared record.

        Raises:
            SchemaError: a field is neither a standard column nor declared by the model.
        """
        declared = self.model.declared
        unknown = set(person) - set(STANDARD_COLUMNS) - set(declared.columns)
        if unknown:
            known = (*STANDARD_COLUMNS, *declared.columns)
            allowed = ", ".join(c for c in known if c != "record_id")
            msg = f"unknown search field(s) {', '.join(sorted(unknown))}; allowed: {allowed}"
            raise SchemaError(msg)
        return prepare_one(person, date_order=self.date_order, schema=declared)

    def keys(self, query: Mapping[str, Any]) -> list[tuple[int, int]]:
        return hashed_keys(query, self.model.blocking_rules)

    def search(
        self,
        snapshot: Snapshot,
        query: Mapping[str, Any],
        keys: list[tuple[int, int]],
        *,
        top: int,
    ) -> list[Hit]:
        """The snapshot's entities ranked against a prepared query, with their records."""
        model = self.model
        candidates = snapshot.candidates(keys, model.blocking_rules, model.candidates)
        hits = rank_candidates(query, candidates, model, snapshot.tf, self.settings, top=top)
        if hits:
            members = snapshot.members(hit.entity_id for hit in hits)
            hits = [hit.with_records(members) for hit in hits]
        return hits


def household(cursor: duckdb.DuckDBPyConnection, entity_id: str, limit: int) -> pd.DataFrame:
    """The others known at the entity's postcodes (see :meth:`identmatch.Index.household`)."""
    return cursor.execute(
        """
        WITH here AS (
            SELECT DISTINCT postcode_std, address_std FROM records
            WHERE entity_id = ? AND postcode_std IS NOT NULL
        ),
        there AS (
            SELECT r.entity_id, r.seq, r.forename, r.middle_names, r.surname, r.dob,
                   r.source, r.postcode_std,
                   bool_or(h.address_std IS NOT NULL
                           AND h.address_std = r.address_std) AS same_address
            FROM records r JOIN here h USING (postcode_std)
            WHERE r.entity_id <> ?
            GROUP BY ALL
        )
        SELECT entity_id,
               CASE WHEN bool_or(same_address) THEN 'address' ELSE 'postcode' END
                   AS basis,
               count(*) AS records,
               arg_min(concat_ws(' ', forename, middle_names, surname), seq) AS name,
               arg_min(dob, seq) AS dob,
               list_sort(list_distinct(list(source) FILTER (source IS NOT NULL)))
                   AS sources,
               min(postcode_std) AS postcode
        FROM there GROUP BY entity_id
        ORDER BY basis, records DESC, entity_id
        LIMIT ?
        """,
        [entity_id, entity_id, limit],
    ).fetch_df()
