"""Adding records to an index, in one transaction.

Each new record is standardised as in a batch run, scored against the records sharing its
blocking keys (earlier records of the same add included), and joins the best entity at or
above the match threshold whose records it does not conflict with; otherwise it starts a new
entity. When it matches several entities they merge into the oldest. The transaction
commits at the end or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from identmatch._config import ReadConfig
from identmatch._keys import record_keys
from identmatch._prepare import prepare_records
from identmatch._read import read_records
from identmatch._scoring import score_pair

if TYPE_CHECKING:
    from identmatch._index import Index

__all__ = ["add_records"]


def add_records(index: Index, records: Any, *, columns: Mapping[str, str] | None) -> pd.DataFrame:
    """Add ``records`` to ``index`` (see :meth:`identmatch.Index.add`)."""
    from identmatch._index import _add_tf, _check_new_ids, _insert_keys, _insert_records

    config = ReadConfig(columns=dict(columns or {}), date_order=index.date_order)
    raw = read_records(records, config, name="new records")
    prepared, _ = prepare_records(raw, date_order=index.date_order)
    model, threshold = index.model, index.config.threshold
    cursor = index._connection.cursor()
    outcome: list[dict[str, str]] = []
    try:
        cursor.execute("BEGIN TRANSACTION")
        _check_new_ids(cursor, prepared["unique_id"].astype(str).tolist())
        meta = dict(cursor.execute("SELECT key, value FROM meta").fetchall())
        next_entity, next_seq = int(meta["next_entity"]), int(meta["next_seq"])
        placeholder = raw.assign(entity_id=[f"pending-{i}" for i in range(len(raw))])
        _insert_records(cursor, placeholder, prepared, start_seq=next_seq)
        _insert_keys(cursor, prepared, model, start_seq=next_seq)
        _add_tf(cursor, prepared, model)
        tf = _tf(cursor)
        columns_np = {str(c): prepared[c].to_numpy() for c in prepared.columns}
        for i in range(len(prepared)):
            record = {c: values[i] for c, values in columns_np.items()}
            seq = next_seq + i
            entity, action, next_entity = _resolve(
                cursor, record, seq, model, tf, threshold, next_entity
            )
            outcome.append(
                {"record_id": str(record["unique_id"]), "entity_id": entity, "action": action}
            )
        cursor.execute("UPDATE meta SET value = ? WHERE key = 'next_entity'", [str(next_entity)])
        cursor.execute(
            "UPDATE meta SET value = ? WHERE key = 'next_seq'", [str(next_seq + len(prepared))]
        )
        cursor.execute("COMMIT")
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    finally:
        cursor.close()
    return pd.DataFrame(outcome, columns=["record_id", "entity_id", "action"])


def _tf(cursor: Any) -> dict[str, dict[Any, float]]:
    rows = cursor.execute("SELECT column_name, value, n FROM tf").fetchall()
    counts: dict[str, dict[Any, int]] = {}
    for column, value, n in rows:
        counts.setdefault(column, {})[value] = int(n)
    return {
        c: {v: n / total for v, n in values.items()}
        for c, values in counts.items()
        if (total := sum(values.values()))
    }


def _resolve(
    cursor: Any,
    record: dict[str, Any],
    seq: int,
    model: Any,
    tf: dict[str, dict[Any, float]],
    threshold: float,
    next_entity: int,
) -> tuple[str, str, int]:
    from identmatch._index import rows

    keys = sorted(record_keys(record, model.blocking_rules))
    candidates: list[dict[str, Any]] = []
    if keys:
        candidates = rows(
            cursor,
            "SELECT * FROM records WHERE seq <> ? AND entity_id NOT LIKE 'pending-%' "
            "AND seq IN (SELECT DISTINCT seq FROM keys WHERE key IN (SELECT unnest(?)))",
            [seq, keys],
        )
    by_entity: dict[str, float] = {}
    for candidate in candidates:
        p = score_pair(model, record, candidate, tf).match_probability
        entity = str(candidate["entity_id"])
        by_entity[entity] = max(p, by_entity.get(entity, 0.0))
    matched = sorted(e for e, p in by_entity.items() if p >= threshold)
    if not matched:
        entity = f"E{next_entity:06d}"
        cursor.execute("INSERT INTO entities VALUES (?, ?, NULL)", [entity, seq])
        cursor.execute("UPDATE records SET entity_id = ? WHERE seq = ?", [entity, seq])
        return entity, "new", next_entity + 1
    created = dict(
        cursor.execute(
            "SELECT entity_id, created_seq FROM entities WHERE entity_id IN (SELECT unnest(?))",
            [matched],
        ).fetchall()
    )
    kept = min(matched, key=lambda e: (created.get(e, seq), e))
    cursor.execute("UPDATE records SET entity_id = ? WHERE seq = ?", [kept, seq])
    action = "joined"
    for other in matched:
        if other == kept:
            continue
        cursor.execute("UPDATE records SET entity_id = ? WHERE entity_id = ?", [kept, other])
        cursor.execute("UPDATE entities SET merged_into = ? WHERE entity_id = ?", [kept, other])
        cursor.execute("INSERT INTO merges (kept, merged) VALUES (?, ?)", [kept, other])
        action = "merged"
    return kept, action, next_entity
