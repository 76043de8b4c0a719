"""The systems compared, each set up as its own documentation recommends.

A runner takes a loaded :class:`~benchmarks.datasets.Dataset` and returns a
:class:`SystemOutput`: its clusters at its own default threshold, its scored pairs, stage
timings and its settings in words. Runners see the truth only after the timed stages, to
count blocking recall where the system's blocking can be replayed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from benchmarks.datasets import Dataset

__all__ = ["PAIR_COLUMNS", "SystemOutput", "runner"]

PAIR_COLUMNS = ["input_l", "record_id_l", "input_r", "record_id_r", "match_probability"]


@dataclass
class SystemOutput:
    """What one system produced on one dataset.

    Attributes:
        entities: ``input``, ``record_id``, ``entity_id``: the system's own clusters at its
            default threshold.
        pairs: :data:`PAIR_COLUMNS` for every pair scored at or above ``pair_floor``; None
            when ``load_pairs`` fetches them after the peak memory is read (so fetching them
            into pandas, which the system itself would not do, costs nothing measured).
        default_threshold: the match probability the system clusters at by default.
        pair_floor: the lowest match probability kept in ``pairs``.
        pairs_scored: candidate pairs the system compared (after blocking); None when only
            ``replay_blocking`` can count them.
        replay_blocking: given the true pairs (``input_l``, ``record_id_l``, ``input_r``,
            ``record_id_r``), returns (pairs scored, true pairs its blocking generated), or
            None when the system turns out not to list its candidates; called after the peak
            memory is read, so counting costs nothing measured. None (or a None answer) when
            the blocking cannot be replayed from outside: then only ``pairs`` can tell (a
            lower bound, from the pairs at or above ``pair_floor``).
        timings: seconds per stage: ``train``, ``predict``, ``cluster``, ``other`` (reading,
            preparing, standardising, counting), and ``total`` (wall time of the whole run).
        peak_rss: the resident-set high-water mark in bytes when it is measured in another
            process (the recordlinkage worker); None to take this process's.
        load_pairs: fetches ``pairs`` when they are None.
        release: frees what the system still holds (its database) once replayed.
        settings: the system's settings in words, for the report.
        versions: package versions the run used, when they differ from this process's.
        model_health: identmatch only: the trained model's level weights checked (levels
            below their comparison's "different", outside the bounds, raw estimates that
            collapsed), from ``Model.health()``.
    """

    entities: pd.DataFrame
    pairs: pd.DataFrame | None
    default_threshold: float
    pair_floor: float
    pairs_scored: int | None
    timings: dict[str, float]
    settings: str
    replay_blocking: Callable[[pd.DataFrame], tuple[int, int] | None] | None = None
    peak_rss: int | None = None
    load_pairs: Callable[[], pd.DataFrame] | None = None
    release: Callable[[], None] | None = None
    versions: dict[str, str] = field(default_factory=dict)
    model_health: dict[str, Any] | None = None


Runner = Callable[["Dataset", Path], SystemOutput]


def runner(system: str) -> Runner:
    """The runner for ``system`` (imported lazily, so one run loads one system only)."""
    if system == "identmatch":
        from benchmarks.systems.identmatch_runner import run

        return run
    if system == "splink":
        from benchmarks.systems.splink_runner import run

        return run
    if system == "recordlinkage":
        from benchmarks.systems.recordlinkage_runner import run

        return run
    msg = f"unknown system {system!r}; choose identmatch, splink or recordlinkage"
    raise ValueError(msg)
