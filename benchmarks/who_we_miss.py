"""Who we miss: recall per name origin, sex and age band on the synthetic sets.

Each person's true attributes come from the generator's people (``origin``, ``sex`` and the
true date of birth, banded at ``identmatch``'s fixed reference date), not from the recorded
values, so a group is who the person is, whatever the records say. Scored with
``identmatch.testing.subgroup_scores`` against each system's final clusters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from benchmarks.tables import MISSING, markdown, score
from identmatch.testing import age_bands, subgroup_scores

__all__ = ["ATTRIBUTES", "HEADING", "PEOPLE_ATTRIBUTES", "scores", "tables"]

HEADING = "Who we miss: recall by name origin, sex and age band"
ATTRIBUTES = ("origin", "sex", "age_band")
"""The breakdowns, in report order."""
PEOPLE_ATTRIBUTES = ("origin", "sex", "dob")
"""The people's columns they are computed from."""
_GAP = 0.03


def scores(
    records: pd.DataFrame, entities: pd.Series[Any], people: pd.DataFrame
) -> dict[str, Any] | None:
    """Overall and per-group counts of a run, or None when the people lack the attributes.

    ``records`` has ``input``, ``record_id`` and ``truth`` (the person id); ``entities`` is
    the system's entity per row of ``records``.
    """
    if not set(PEOPLE_ATTRIBUTES) <= set(people.columns):
        return None
    truth = records["truth"].astype(str)
    person = people.assign(person_id=people["person_id"].astype(str)).set_index("person_id")
    values = {
        "origin": truth.map(person["origin"]),
        "sex": truth.map(person["sex"]),
        "age_band": age_bands(truth.map(person["dob"]).to_numpy()),
    }
    linked = records["input"].nunique() > 1
    found = subgroup_scores(
        entities.to_numpy(),
        truth.to_numpy(),
        {name: pd.Series(v).to_numpy() for name, v in values.items()},
        inputs=records["input"].to_numpy() if linked else None,
        pair_attributes=(),
        recall_gap=_GAP,
    )
    return {
        "overall": {"true_pairs": found.overall.true_pairs, "recall": found.overall.recall},
        "groups": [
            {
                "attribute": g.attribute,
                "group": g.group,
                "true_pairs": g.true_pairs,
                "recall": g.recall,
                "precision": g.precision,
            }
            for g in found.groups
        ],
    }


Run = Mapping[str, Any]


def tables(
    datasets: Sequence[tuple[str, str]],
    results: Mapping[tuple[str, str], Run],
    systems: Sequence[str],
) -> list[str]:
    """One table per synthetic set: a row per group, recall per system that finished.

    identmatch's precision is shown too, and a flag where its recall is more than 0.03
    below its overall recall.
    """
    parts: list[str] = []
    for name, title in datasets:
        runs = [
            (s, r)
            for s in systems
            if (r := results.get((s, name))) is not None
            and r.get("status") == "ok"
            and r.get("who_we_miss")
        ]
        if not name.startswith("synthetic") or not runs:
            continue
        by_system = {
            s: {(g["attribute"], g["group"]): g for g in r["who_we_miss"]["groups"]}
            for s, r in runs
        }
        first = runs[0][1]["who_we_miss"]["groups"]
        header = ["attribute", "group", "true pairs", *(f"{s} recall" for s, _ in runs)]
        ours = dict(runs).get("identmatch")
        if ours is not None:
            header += ["identmatch precision", "identmatch below overall"]
        rows = [["all", "all", f"{runs[0][1]['who_we_miss']['overall']['true_pairs']:,}"]]
        rows[0] += [score(r["who_we_miss"]["overall"]["recall"]) for _, r in runs]
        if ours is not None:
            rows[0] += [MISSING, MISSING]
        order = {a: i for i, a in enumerate(ATTRIBUTES)}
        for group in sorted(first, key=lambda g: order.get(g["attribute"], len(order))):
            key = (group["attribute"], group["group"])
            row = [group["attribute"], group["group"], f"{group['true_pairs']:,}"]
            row += [_recall(by_system[s].get(key)) for s, _ in runs]
            if ours is not None:
                mine = by_system["identmatch"].get(key)
                overall = ours["who_we_miss"]["overall"]["recall"]
                row.append(score(mine["precision"]) if mine else MISSING)
                row.append(_gap(mine, overall))
            rows.append(row)
        parts.append(f"### {title}: who we miss\n")
        parts.append(markdown(header, rows) + "\n")
    return parts


def _recall(group: Mapping[str, Any] | None) -> str:
    return score(group["recall"]) if group and group["true_pairs"] else MISSING


def _gap(group: Mapping[str, Any] | None, overall: float) -> str:
    if not group or not group["true_pairs"]:
        return MISSING
    below = overall - group["recall"]
    return f"{below:.4f} (missed more)" if below > _GAP else f"{below:.4f}"
