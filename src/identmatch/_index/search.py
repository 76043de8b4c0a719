"""Search: score one query against its candidates in process, and rank entities.

Candidates are the index's records sharing a blocking key with the query (the same keys the
batch run pairs on). Each is scored with the model's m and u and the index's term
frequencies, exactly as :mod:`identmatch._model.scoring` scores a batch pair; an entity ranks by
its best-scoring record.

**The search prior.** A batch run asks of two records picked at random whether they are one
person; its prior is the model's ``probability_two_random_records_match``, learnt from the
training set's pairs (on 20,000 records about -20 bits). A search asks something else: is
this indexed person the one the query describes? If the person searched for is known to the
index at all with probability ``known`` (``ModelConfig.search_known``), and is then any one
of the index's N entities alike, each entity starts at probability ``known / N``:
:func:`search_prior_weight`. The evidence (each comparison's weight) is the batch run's,
unchanged; only the starting point differs, and it follows the index's size.

**Weak candidates.** Below "possible", an entity is still listed, apart from the hits and
labelled ``weak: ...``, when it shares the query's full name, or its surname and date of
birth, or scores from the index's weak floor up: at most :data:`WEAK_MAX`, and never more
entities in all than the ``top`` asked for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import duckdb
import pandas as pd

from identmatch._candidates.keys import hashed_keys
from identmatch._config import STANDARD_COLUMNS, ModelConfig
from identmatch._exceptions import SchemaError
from identmatch._index.found import Hit, Hits, KnownRecord, UnreadField, WeakCandidate
from identmatch._index.unread import field_notes, unread_fields
from identmatch._model.explain import explanation_from_score
from identmatch._model.model import Model
from identmatch._model.scoring import PairScore, TermFrequencies, score_pair
from identmatch._prepare.records import prepare_one
from identmatch._types import DateOrder, Verdict, WeakReason

if TYPE_CHECKING:
    from identmatch._index.snapshot import Snapshot

__all__ = [
    "WEAK_MAX",
    "Hit",
    "Hits",
    "KnownRecord",
    "Query",
    "SearchSettings",
    "Searcher",
    "household",
    "rank_candidates",
    "search_prior_weight",
    "search_settings",
]

POSSIBLE = 0.5
"""Match probability from which a hit is "possible"."""
WEAK_MAX = 5
"""At most this many weak candidates per search."""


class SearchSettings(NamedTuple):
    """What a search calls a match, possible or weak, and its prior (see the module doc)."""

    match: float
    possible: float
    known: float
    """Probability that the person searched for is known to the index at all."""
    weak_floor: float
    """Match probability from which an entity below ``possible`` is a weak candidate."""


def search_settings(config: ModelConfig) -> SearchSettings:
    """An index's search settings, from the config it was built with."""
    return SearchSettings(config.threshold, POSSIBLE, config.search_known, config.search_weak_floor)


def search_prior_weight(known: float, entities: int) -> float:
    """A search's prior match weight (bits) that one given entity is the person searched for.

    Args:
        known: probability in (0, 1) that the person is known to the index at all.
        entities: the number of entities (people) in the index; 0 is taken as 1.

    Returns:
        ``log2`` of the prior odds of probability ``known / entities``: lower as the index
        grows, and never above ``known``'s own odds.
    """
    people = max(entities, 1)
    return math.log2(known) - math.log2(people - known)


def verdict(probability: float, settings: SearchSettings) -> Verdict:
    """``match`` at or above the match threshold, ``possible`` above the lower one."""
    if probability >= settings.match:
        return "match"
    if probability >= settings.possible:
        return "possible"
    return "no match"


class _Best(NamedTuple):
    """An entity's best-scoring candidate, and every candidate record of it."""

    score: PairScore
    record_id: str
    records: list[Mapping[str, Any]]


class _WeakTest:
    """Why an entity below "possible" is a weak candidate for one query (if it is)."""

    def __init__(self, query: Mapping[str, Any], floor: float) -> None:
        self.names = frozenset(query.get("name_keys") or ())
        surname, dob = query.get("surname_joined"), query.get("dob")
        self.surname_dob = (surname, dob) if surname and dob else None
        self.floor = floor

    def reasons(
        self, records: list[Mapping[str, Any]], probability: float
    ) -> tuple[WeakReason, ...]:
        found: list[WeakReason] = []
        if self.names and any(not self.names.isdisjoint(r.get("name_keys") or ()) for r in records):
            found.append("same full name")
        if self.surname_dob and any(
            (r.get("surname_joined"), r.get("dob")) == self.surname_dob for r in records
        ):
            found.append("same surname and date of birth")
        if probability >= self.floor:
            found.append("some evidence")
        return tuple(found)


def rank_candidates(
    query: Mapping[str, Any],
    candidates: list[dict[str, Any]],
    model: Model,
    tf: TermFrequencies,
    settings: SearchSettings,
    *,
    prior_weight: float,
    top: int = 5,
) -> tuple[list[Hit], list[WeakCandidate]]:
    """Score every candidate record, keep each entity's best, rank and cut at ``top``.

    Returns:
        The hits (at or above "possible", best first) and the weak candidates (below it,
        labelled, best first); at most ``top`` entities in all, and :data:`WEAK_MAX` weak.
    """
    best: dict[str, _Best] = {}
    for record in candidates:
        score = score_pair(model, query, record, tf, prior_weight=prior_weight)
        entity = str(record["entity_id"])
        found = best.get(entity)
        if found is None:
            best[entity] = _Best(score, str(record["record_id"]), [record])
            continue
        found.records.append(record)
        if score.match_weight > found.score.match_weight:
            best[entity] = found._replace(score=score, record_id=str(record["record_id"]))
    ranked = sorted(best.items(), key=lambda item: -item[1].score.match_weight)
    hits: list[Hit] = []
    weak: list[WeakCandidate] = []
    test = _WeakTest(query, settings.weak_floor)
    for entity, (score, record_id, records) in ranked:
        probability = score.match_probability
        if probability >= settings.possible:
            if len(hits) < top:
                hits.append(
                    Hit.model_construct(  # every value typed already; a search builds several
                        entity_id=entity,
                        match_probability=probability,
                        match_weight=score.match_weight,
                        verdict=verdict(probability, settings),
                        best_record_id=record_id,
                        explanation=explanation_from_score(
                            model, score, "query", record_id, prior_weight=prior_weight
                        ),
                    )
                )
            continue
        if len(hits) + len(weak) >= top or len(weak) >= WEAK_MAX:
            break
        reasons = test.reasons(records, probability)
        if reasons:
            weak.append(
                WeakCandidate.model_construct(
                    entity_id=entity,
                    label="weak: " + "; ".join(reasons),
                    reasons=reasons,
                    match_probability=probability,
                    match_weight=score.match_weight,
                    best_record_id=record_id,
                    explanation=explanation_from_score(
                        model, score, "query", record_id, prior_weight=prior_weight
                    ),
                )
            )
    return hits, weak


class Query(NamedTuple):
    """A search query, prepared: its record, its blocking keys, the fields not read and the
    fields read with a note (a name mixing alphabets)."""

    record: dict[str, Any]
    keys: list[tuple[int, int]]
    unread: tuple[UnreadField, ...]
    notes: tuple[UnreadField, ...] = ()


class Searcher:
    """One search, step by step: the index's and a search worker's, so they agree.

    :meth:`query` standardises the person as records are, with the blocking keys (to find
    the part of the index the search reaches) and the fields it could not read;
    :meth:`search` ranks the snapshot's entities against it.
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

    def query(self, person: Mapping[str, Any]) -> Query:
        """The person prepared, with its keys and the fields given that could not be read.

        Raises:
            SchemaError: a field is neither a standard column nor declared by the model.
        """
        record = self.prepare(person)
        unread = unread_fields(
            person, record, date_order=self.date_order, schema=self.model.declared
        )
        keys = hashed_keys(record, self.model.blocking_rules)
        return Query(record, keys, unread, field_notes(person))

    def prior_weight(self, snapshot: Snapshot) -> float:
        """The search prior (bits) for the snapshot's number of entities."""
        return search_prior_weight(self.settings.known, snapshot.entities_total)

    def search(self, snapshot: Snapshot, query: Query, *, top: int) -> Hits:
        """The snapshot's entities ranked against a prepared query, with their records."""
        model = self.model
        candidates = snapshot.candidates(query.keys, model.blocking_rules, model.candidates)
        hits, weak = rank_candidates(
            query.record,
            candidates,
            model,
            snapshot.tf,
            self.settings,
            prior_weight=self.prior_weight(snapshot),
            top=top,
        )
        if hits or weak:
            members = snapshot.members([*(h.entity_id for h in hits), *(w.entity_id for w in weak)])
            hits = [hit.with_records(members) for hit in hits]
            weak = [candidate.with_records(members) for candidate in weak]
        return Hits(hits, weak=weak, unread=query.unread, notes=query.notes)


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
