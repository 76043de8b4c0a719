"""identmatch with its defaults: no labels, no tuning, only a column mapping per source."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pandas as pd

import identmatch
from benchmarks.metrics import candidate_frame, candidates_present
from benchmarks.progress import note
from benchmarks.systems import PAIR_COLUMNS, SystemOutput

if TYPE_CHECKING:
    from pathlib import Path

    from benchmarks.datasets import Dataset

__all__ = ["COLUMNS", "run"]

FEBRL_COLUMNS = {
    "given_name": "forename",
    "surname": "surname",
    "date_of_birth": "dob",
    "postcode": "postcode",
    "street_number": "address",
    "address_1": "address",
    "address_2": "address",
    "suburb": "town",
}
HISTORICAL_COLUMNS = {
    "first_name": "forename",
    "surname": "surname",
    "dob": "dob",
    "postcode_fake": "postcode",
    "gender": "sex",
    "birth_place": "town",
}
SYNTHETIC_COLUMNS = {
    column: column
    for column in identmatch.STANDARD_COLUMNS
    if column not in ("record_id", "address", "town")  # the generator makes no addresses
}
COLUMNS = {
    "febrl1": FEBRL_COLUMNS,
    "febrl2": FEBRL_COLUMNS,
    "febrl3": FEBRL_COLUMNS,
    "febrl4": FEBRL_COLUMNS,
    "historical": HISTORICAL_COLUMNS,
    "synthetic": SYNTHETIC_COLUMNS,
}
"""Input column -> identmatch standard column, per source (the only per-source setting)."""

SETTINGS = (
    "`identmatch.dedupe`/`identmatch.link` with defaults (`threshold=None`, `model=None`, "
    "`config=None`: u by random sampling, m by EM, prior from deterministic rules, "
    "threshold 0.95); only `columns=` differs per source. FEBRL: given_name->forename, "
    "surname, date_of_birth->dob, postcode, street_number+address_1+address_2->address, "
    "suburb->town (state unused); the `+ soc_sec_id` runs also declare "
    '`identifiers=["soc_sec_id"]` (a plain identifier: key, exact / one character / '
    "transposed / different levels). Historical: "
    "first_name->forename, surname, dob, postcode_fake->postcode, gender->sex, "
    "birth_place->town, occupation and full_name left out; the `+ occupation, birth_place` "
    'run instead declares `attributes=["occupation", "birth_place"]` (birth_place not '
    "mapped to town, so it is compared once). Synthetic: the generator's standard columns as "
    "they are (`identmatch.STANDARD_COLUMNS` less record_id, address and town: source, "
    "forename, middle_names, surname, aliases, dob, sex, postcode, nhs_number)."
)


def _input(frame: pd.DataFrame, columns: dict[str, str], extra: list[str]) -> pd.DataFrame:
    """The record id, the mapped and declared columns and the truth (passed through, never
    used)."""
    return frame[["record_id", *columns, *extra, "truth"]]


class _Candidates:
    """Exact blocking recall from ``result.candidates``, when identmatch lists its candidates.

    ``result.candidates`` (every pair compared: ``record_id_l``, ``record_id_r`` and, for a
    link, ``input_l``/``input_r``) is read only when the benchmark asks,
    after the peak memory is read; a result without it keeps the lower bound.
    """

    def __init__(self, result: Any, inputs: tuple[str, ...]) -> None:
        self._result: Any = result
        self._inputs = inputs

    def replay(self, true_pairs: pd.DataFrame) -> tuple[int, int] | None:
        raw = getattr(self._result, "candidates", None)
        if not isinstance(raw, pd.DataFrame):
            return None
        candidates = candidate_frame(raw, self._inputs)
        return len(candidates), candidates_present(candidates, true_pairs)

    def release(self) -> None:
        self._result = None  # the result's database and frames are not needed any more


def model_health(model: identmatch.Model) -> dict[str, Any]:
    """The trained levels checked as issue 23 asks: none below its comparison's "different",
    none outside the bounds unless a person fixed it; and how many raw EM estimates had
    collapsed (below -15 bits) before the constraints."""
    low, high = -15.0, 25.0
    fixed = {(spec.name, lv.label) for spec in model.comparisons for lv in spec.levels if lv.fixed}
    different = {
        spec.name: model.level_weight(spec.name, i)
        for spec in model.comparisons
        for i, lv in enumerate(spec.levels)
        if lv.kind == "else"
    }
    rows = [
        row
        for row in (model.training.levels if model.training else ())
        if (row.comparison, row.label) not in fixed
    ]
    below = [
        row
        for row in rows
        if row.comparison in different
        and not row.label.endswith(": different")
        and row.weight < different[row.comparison] - 1e-3
    ]
    return {
        "levels": len(rows),
        "constrained": sum(bool(row.constrained) for row in rows),
        "below_different": len(below),
        "outside_bounds": sum(not low <= row.weight <= high for row in rows),
        "lowest": min((row.weight for row in rows), default=None),
        "highest": max((row.weight for row in rows), default=None),
        "raw_collapsed": sum(row.raw_weight is not None and row.raw_weight < low for row in rows),
        "raw_lowest": min(
            (row.raw_weight for row in rows if row.raw_weight is not None), default=None
        ),
        "prior_bits": model.prior_weight,
    }


def run(dataset: Dataset, work: Path) -> SystemOutput:
    """Dedupe or link ``dataset`` with identmatch's defaults."""
    del work  # identmatch needs no scratch files
    columns = dict(COLUMNS[dataset.spec.source])
    identifiers = ["soc_sec_id"] if dataset.spec.with_ssid else []
    attributes = ["occupation", "birth_place"] if dataset.spec.with_attributes else []
    for column in attributes:
        columns.pop(column, None)
    mapping = {k: v for k, v in columns.items() if k != v}
    declared = [*identifiers, *attributes]
    frames = [_input(frame, columns, declared) for frame in dataset.inputs.values()]
    options: dict[str, Any] = {
        "columns": mapping,
        "progress": note,
        "identifiers": identifiers,
        "attributes": attributes,
    }
    start = time.perf_counter()
    if dataset.spec.task == "link":
        result = identmatch.link(frames[0], frames[1], **options)
    else:
        result = identmatch.dedupe(frames[0], **options)
    total = time.perf_counter() - start

    entities = result.entities
    pairs = result.pairs
    if dataset.spec.task == "dedupe":
        entities = entities.assign(input="input")
        pairs = pairs.assign(input_l="input", input_r="input")
    stages = {
        name: float(result.timings.get(name, 0.0)) for name in ("train", "predict", "cluster")
    }
    candidates = _Candidates(result, tuple(dataset.inputs))
    health = model_health(result.model)
    return SystemOutput(
        entities=entities[["input", "record_id", "entity_id"]].astype(str),
        pairs=pairs[PAIR_COLUMNS],
        default_threshold=result.threshold,
        pair_floor=identmatch.ModelConfig().pair_floor,
        pairs_scored=result.blocking.pairs,
        timings={**stages, "other": total - sum(stages.values()), "total": total},
        settings=SETTINGS,
        replay_blocking=candidates.replay,
        model_health=health,
        release=candidates.release,
    )
