"""Adding records to an index, in one transaction.

Each new record is standardised as in a batch run and scored in process against the records
sharing its blocking keys: those already in the index (from the in-memory snapshot) and the
earlier records of the same add. It joins the best entity at or above the match threshold, or
starts a new entity; when it matches several entities they merge into the oldest, whose id is
kept. The batch run's chain guard holds here too: no join or merge puts two records that
must not share an entity (plainly different people, or twins and parent/child pairs)
together. All decisions are made first, then written in one transaction that commits at the
end or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd
import pyarrow as pa

from identmatch._batch.cluster import entity_id
from identmatch._candidates.choose import rank_query_candidates
from identmatch._candidates.keys import hashed_keys
from identmatch._config import ReadConfig
from identmatch._index.review import load_decisions
from identmatch._index.snapshot import Snapshot
from identmatch._index.store import transaction
from identmatch._index.write import add_tf, check_new_ids, insert_keys, insert_records
from identmatch._model.scoring import PairScore, in_conflict, score_pair
from identmatch._prepare.read import read_records
from identmatch._prepare.records import prepare_records

if TYPE_CHECKING:
    from identmatch._index.index import Index

__all__ = ["add_in", "add_records", "read_new"]


_MAX_CHECK = 2_500
"""Merges needing more cross-record checks than this are refused, as in batch clustering."""


def _rid(record: dict[str, Any]) -> str:
    return str(record["record_id"])


class _Resolver:
    """Entity decisions for one add, before anything is written.

    A new record joins the entities it matches, strongest first, under the batch run's chain
    guard: it joins an entity only if it conflicts with none of its records, and a further
    matched entity is merged in only if no record of it conflicts with the records gathered
    so far (see :func:`identmatch._model.scoring.in_conflict`).
    """

    def __init__(
        self, index: Index, snapshot: Snapshot, cursor: Any, next_entity: int, next_seq: int
    ) -> None:
        self.index = index
        self.snapshot = snapshot
        self.cursor = cursor
        self.next_entity = next_entity
        self.next_seq = next_seq
        self.created: dict[str, int] = {}  # entity -> creating seq, for entities seen here
        self.merged_into: dict[str, str] = {}
        self.folded: dict[str, list[str]] = {}  # entity -> entity ids merged into it here
        self.added: dict[str, list[dict[str, Any]]] = {}  # entity -> new records of this add
        self.pending_records: list[dict[str, Any]] = []  # the new records of this add
        self.pending: dict[int, list[int]] = {}  # key hash -> positions in pending_records
        self.different = load_decisions(cursor).pairs("different")  # must-not-links
        band = index.config.review_band
        self.band = (band[0], band[1])
        self.review: list[tuple[str, str, float, float]] = []  # pairs for the review queue

    def current(self, entity: str) -> str:
        while entity in self.merged_into:
            entity = self.merged_into[entity]
        return entity

    def _learn_created(self, entities: list[str]) -> None:
        """Creation order of existing entities, so a merge keeps the oldest id."""
        unknown = [e for e in entities if e not in self.created]
        if unknown:
            found = self.cursor.execute(
                "SELECT entity_id, created_seq FROM entities WHERE entity_id IN (SELECT unnest(?))",
                [unknown],
            ).fetchall()
            self.created.update({str(e): int(s) for e, s in found})

    def members(self, entity: str) -> list[dict[str, Any]]:
        """Every record the entity holds now: indexed ones and those added so far."""
        group = self.folded.get(entity, [entity])
        out = self.snapshot.members(group)
        for part in group:
            out.extend(self.added.get(part, ()))
        return out

    def resolve(self, record: dict[str, Any], seq: int) -> tuple[str, str]:
        index, model = self.index, self.index.model
        keys = hashed_keys(record, model.blocking_rules)
        candidates = self._candidates(keys)
        best: dict[str, float] = {}
        scores: dict[str, PairScore] = {}  # record id -> the new record's score against it
        for candidate in candidates:
            score = score_pair(model, record, candidate, self.snapshot.tf)
            scores[_rid(candidate)] = score
            if self.band[0] <= score.match_probability < self.band[1]:
                a, b = sorted((_rid(record), _rid(candidate)))
                self.review.append((a, b, score.match_probability, score.match_weight))
            entity = self.current(str(candidate["entity_id"]))
            best[entity] = max(score.match_probability, best.get(entity, 0.0))
        matched = sorted(
            (e for e, p in best.items() if p >= index.config.threshold),
            key=lambda e: (-best[e], e),
        )

        different = self.different

        def conflict(a: dict[str, Any], b: dict[str, Any]) -> bool:
            if different:
                x, y = _rid(a), _rid(b)
                if ((x, y) if x <= y else (y, x)) in different:
                    return True
            score = scores.get(_rid(b)) if a is record else None
            if score is None:
                score = score_pair(model, a, b, self.snapshot.tf)
            return in_conflict(model, score, index.config.conflict_below)

        group: list[str] = []
        gathered: list[dict[str, Any]] = [record]
        for entity in matched:
            members = self.members(entity)
            if len(gathered) * len(members) > _MAX_CHECK:
                continue
            if any(conflict(x, y) for x in gathered for y in members):
                continue
            group.append(entity)
            gathered.extend(members)
        if not group:
            entity, action = entity_id(self.next_entity), "new"
            self.next_entity += 1
            self.created[entity] = seq
        else:
            if len(group) > 1:
                self._learn_created(group)
            entity = min(group, key=lambda e: (self.created.get(e, seq), e))
            action = "joined" if len(group) == 1 else "merged"
            folded = list(self.folded.pop(entity, [entity]))
            for other in group:
                if other != entity:
                    self.merged_into[other] = entity
                    folded.extend(self.folded.pop(other, [other]))
            self.folded[entity] = folded
        record["entity_id"], record["seq"] = entity, seq
        self.added.setdefault(entity, []).append(record)
        self.pending_records.append(record)
        for _, hashed in keys:
            self.pending.setdefault(hashed, []).append(len(self.pending_records) - 1)
        return entity, action

    def _candidates(self, keys: list[tuple[int, int]]) -> list[dict[str, Any]]:
        """The best candidates among the index's records and those this add wrote so far.

        Chosen as a search chooses them; a record added earlier in this add counts in its
        keys' block sizes too (as a negative row number, told apart from the index's rows).
        """
        model = self.index.model
        found = self.snapshot.sharing(hashed for _, hashed in keys)
        rows_of = {
            hashed: [
                *(found[hashed].tolist() if hashed in found else ()),
                *(-1 - i for i in self.pending.get(hashed, ())),
            ]
            for _, hashed in keys
        }
        total = self.snapshot.records_total + len(self.pending_records) + 1
        chosen = rank_query_candidates(keys, rows_of, model.blocking_rules, total, model.candidates)
        return [
            self.snapshot.record(row) if row >= 0 else self.pending_records[-1 - row]
            for row in chosen
        ]


Written = tuple[int, dict[str, str], dict[str, dict[str, int]]]
"""What an add committed, for the snapshot: first seq, merged entities, tf counts added."""


def add_records(
    index: Index,
    records: Any,
    *,
    columns: Mapping[str, str] | None,
    connection: duckdb.DuckDBPyConnection,
    loaded: Snapshot | None,
) -> tuple[pd.DataFrame, Written | None]:
    """Add ``records`` to ``index`` (see :meth:`identmatch.Index.add`).

    Returns:
        The outcome per record, and what was written (None when there was nothing to add).
    """

    raw, prepared = read_new(index, records, columns)
    with transaction(connection) as cursor:
        return add_in(index, raw, prepared, cursor, loaded)


def read_new(
    index: Index, records: Any, columns: Mapping[str, str] | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The records to add, read and standardised (before any transaction is opened)."""
    config = ReadConfig(columns=dict(columns or {}), date_order=index.date_order)
    raw = read_records(records, config, name="new records")
    prepared, _ = prepare_records(
        raw,
        date_order=index.date_order,
        schema=index.model.declared,
        known_orders=index.date_orders,
        name="new records",
    )
    return raw, prepared


def add_in(
    index: Index,
    raw: pd.DataFrame,
    prepared: pd.DataFrame,
    cursor: duckdb.DuckDBPyConnection,
    loaded: Snapshot | None,
) -> tuple[pd.DataFrame, Written | None]:
    """:func:`add_records` of records :func:`read_new` read, inside the caller's open
    transaction on ``cursor``; the caller commits. ``loaded``: the in-memory snapshot, when
    it is current for this transaction (None: read what the records can reach from it).
    """
    check_new_ids(cursor, prepared["unique_id"].astype(str).tolist())
    meta = dict(cursor.execute("SELECT key, value FROM meta").fetchall())
    columns_np = {str(c): prepared[c].to_numpy() for c in prepared.columns}
    new = []
    for i in range(len(prepared)):
        record = {c: values[i] for c, values in columns_np.items()}
        record["record_id"] = str(record["unique_id"])
        new.append(record)
    snapshot = loaded
    if snapshot is None:  # not loaded: read just what these records can reach
        hashes = {
            hashed
            for record in new
            for _, hashed in hashed_keys(record, index.model.blocking_rules)
        }
        snapshot = Snapshot.around(
            cursor, sorted(hashes), max_block_size=index.model.candidates.max_block_size
        )
    next_entity, next_seq = int(meta["next_entity"]), int(meta["next_seq"])
    resolver = _Resolver(index, snapshot, cursor, next_entity, next_seq)
    start = resolver.next_seq
    outcome = []
    for i, record in enumerate(new):
        entity, action = resolver.resolve(record, start + i)
        outcome.append((str(record["unique_id"]), entity, action))
    final = [resolver.current(entity) for _, entity, _ in outcome]
    insert_records(cursor, raw, prepared, start_seq=start, entity_ids=final)
    insert_keys(cursor, index.model, start_seq=start)
    tf_added = add_tf(cursor, prepared, index.model)
    _write_entities(cursor, resolver, start)
    if resolver.review:
        cursor.executemany("INSERT INTO review_pairs VALUES (?, ?, ?, ?)", resolver.review)
    cursor.execute(
        "UPDATE meta SET value = ? WHERE key = 'next_entity'", [str(resolver.next_entity)]
    )
    cursor.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", [str(start + len(prepared))])
    frame = pd.DataFrame(
        [(rid, resolver.current(e), action) for rid, e, action in outcome],
        columns=["record_id", "entity_id", "action"],
    )
    merged = {e: resolver.current(e) for e in resolver.merged_into}
    return frame, ((start, merged, tf_added) if len(prepared) else None)


def _write_entities(cursor: Any, resolver: _Resolver, start: int) -> None:
    new = sorted((e, s) for e, s in resolver.created.items() if s >= start)
    if new:
        table = pa.table(
            {
                "entity_id": pa.array([e for e, _ in new], pa.string()),
                "created_seq": pa.array([s for _, s in new], pa.int64()),
            }
        )
        cursor.register("__new_entities", table)
        cursor.execute(
            "INSERT INTO entities SELECT entity_id, created_seq, NULL FROM __new_entities"
        )
        cursor.unregister("__new_entities")
    for merged in sorted(resolver.merged_into):
        kept = resolver.current(merged)
        cursor.execute("UPDATE records SET entity_id = ? WHERE entity_id = ?", [kept, merged])
        cursor.execute("UPDATE entities SET merged_into = ? WHERE entity_id = ?", [kept, merged])
        cursor.execute("INSERT INTO merges (kept, merged) VALUES (?, ?)", [kept, merged])
