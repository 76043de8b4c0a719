"""The alias set of each entity: every name and date of birth it was recorded under.

One row per (entity, name, date of birth) with the sources and record ids behind it, so an
analyst sees at a glance that E000042 is known to probation as Dean Walsh and to children's
services as Gareth Pryce, born 11/02/1984 or 02/11/1984.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from identmatch._prepare.standardise import standardise_name

__all__ = ["ENTITY_NAME_COLUMNS", "entity_names"]

ENTITY_NAME_COLUMNS = [
    "entity_id",
    "name",
    "dob",
    "recorded_as",
    "sources",
    "record_ids",
    "records",
]


def _display(std: str | None) -> str | None:
    return std.title() if std else None


def entity_names(entities: pd.DataFrame, prepared: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per entity, distinct standardised name and date of birth.

    Args:
        entities: ``Result.entities`` (record_id, entity_id, optional input, source, aliases).
        prepared: the prepared frames, in input order (their rows line up with ``entities``).

    Returns:
        Columns ``ENTITY_NAME_COLUMNS``: ``recorded_as`` is ``name`` for a record's own name
        and ``alias`` for a name from its aliases; ``sources`` and ``record_ids`` are
        ``;``-joined and sorted; ``records`` counts them. Sorted by entity, then name.
    """
    prep = pd.concat(prepared, ignore_index=True) if len(prepared) > 1 else prepared[0]
    if len(prep) != len(entities):
        msg = "entities and prepared records do not line up"
        raise ValueError(msg)
    sources = (
        entities["source"].astype(object)
        if "source" in entities.columns
        else entities.get("input", pd.Series(["input"] * len(entities))).astype(object)
    )
    aliases: list[Any] = (
        list(entities["aliases"]) if "aliases" in entities.columns else [None] * len(entities)
    )
    rows: list[dict[str, Any]] = []
    for i, (entity, record_id) in enumerate(
        zip(entities["entity_id"], entities["record_id"], strict=True)
    ):
        dob = prep.at[i, "dob"] or prep.at[i, "dob_year"]
        source = sources.iloc[i] if isinstance(sources.iloc[i], str) else "unknown"
        parts = [prep.at[i, "forename_std"], prep.at[i, "middle_std"], prep.at[i, "surname_std"]]
        own = " ".join(str(p) for p in parts if p)
        names = [(own or None, "name")]
        record_aliases = aliases[i]
        if isinstance(record_aliases, list | tuple):
            names += [(standardise_name(a), "alias") for a in record_aliases]
        # A record with no usable name still shows its entity (with the name missing).
        named: list[tuple[str | None, str]] = [(n, k) for n, k in names if n] or [(None, "name")]
        for name, kind in named:
            rows.append(
                {
                    "entity_id": entity,
                    "name": _display(name),
                    "dob": dob,
                    "recorded_as": kind,
                    "source": source,
                    "record_id": str(record_id),
                }
            )
    if not rows:
        return pd.DataFrame(columns=ENTITY_NAME_COLUMNS)
    frame = pd.DataFrame(rows)
    frame["dob"] = frame["dob"].fillna("")
    frame["name"] = frame["name"].fillna("")
    grouped = frame.groupby(["entity_id", "name", "dob", "recorded_as"], sort=True).agg(
        sources=("source", lambda s: ";".join(sorted(set(s)))),
        record_ids=("record_id", lambda s: ";".join(sorted(set(s)))),
        records=("record_id", "nunique"),
    )
    out = grouped.reset_index()
    out["dob"] = out["dob"].replace("", None)
    out["name"] = out["name"].replace("", None)
    return out[ENTITY_NAME_COLUMNS]
