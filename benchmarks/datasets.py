"""The benchmark datasets: FEBRL 3 and 4, Splink's historical figures 50k, our synthetic sets.

Synthetic sets come in two profiles: the generator's default rates, and ``hard``
(``generate_records(..., profile="hard")``), whose errors are as frequent as in data we did not
make (issue 12).

Each loads as one frame per input (one for a dedupe, two for a link) in its source's own
columns, plus ``record_id`` (unique within an input) and ``truth`` (the true entity). Smoke
runs take whole truth groups from the start of each file, so their subsets keep duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from identmatch.testing import generate_people, generate_records

__all__ = [
    "DATA",
    "FEBRL_DIR",
    "HISTORICAL",
    "SYNTHETIC_SEED",
    "Dataset",
    "DatasetSpec",
    "load",
    "synthetic_cached",
    "synthetic_paths",
    "write_synthetic",
]

DATA = Path(__file__).parent / "data"
FEBRL_DIR = Path(__file__).parents[1] / "tests" / "data"
HISTORICAL = DATA / "historical_figures_with_errors_50k.parquet"
SYNTHETIC_SEED = 2024
"""One seed for every synthetic set, so each size is one fixed frame."""

Source = Literal["febrl1", "febrl2", "febrl3", "febrl4", "historical", "synthetic"]
Task = Literal["dedupe", "link"]
Profile = Literal["default", "hard"]
"""The generator's profiles (``generate_records(profile=...)``)."""


@dataclass(frozen=True)
class DatasetSpec:
    """What to load: the source, the task, and a size (synthetic records, or a smoke subset).

    Attributes:
        name: the key used in results, e.g. ``febrl4_ssid``.
        title: how the report names it.
        source: which files or generator.
        task: ``dedupe`` (one input) or ``link`` (two).
        with_ssid: FEBRL only: whether systems may use ``soc_sec_id``.
        with_attributes: historical only: identmatch declares ``occupation`` and
            ``birth_place`` as attributes (``attributes=``) instead of leaving occupation out
            and mapping birth_place to town.
        size: synthetic records; for FEBRL and historical, a smoke subset's rows (None: all).
        scale: part of the scale table (synthetic sizes run by identmatch and Splink only).
        profile: synthetic only: the generator's rates, ``default`` or ``hard``.
        people: synthetic only: how many people the records are drawn from (None: records
            / 1.8, as the generator does by default).
    """

    name: str
    title: str
    source: Source
    task: Task
    with_ssid: bool = False
    size: int | None = None
    scale: bool = False
    profile: Profile = "default"
    people: int | None = None
    with_attributes: bool = False


@dataclass
class Dataset:
    """Loaded inputs with their truth; ``people`` only for synthetic sets."""

    spec: DatasetSpec
    inputs: dict[str, pd.DataFrame]
    people: pd.DataFrame | None = None

    def records(self) -> pd.DataFrame:
        """One row per record: ``input``, ``record_id``, ``truth`` (+ synthetic labels)."""
        keep = ["record_id", "truth", "error_type", "hard_negative"]
        frames = []
        for name, frame in self.inputs.items():
            part = frame[[c for c in keep if c in frame.columns]].copy()
            part.insert(0, "input", name)
            frames.append(part)
        out = pd.concat(frames, ignore_index=True)
        out["record_id"] = out["record_id"].astype(str)
        out["truth"] = out["truth"].astype(str)
        return out


def read_febrl(name: str) -> pd.DataFrame:
    """A FEBRL file: every column text, empty fields missing, truth from ``rec-N-...``."""
    frame = pd.read_csv(
        FEBRL_DIR / name,
        dtype=str,
        skipinitialspace=True,
        keep_default_na=False,
        na_values=[""],
    )
    frame.columns = [c.strip() for c in frame.columns]
    frame["record_id"] = frame["rec_id"]
    frame["truth"] = frame["rec_id"].str.extract(r"rec-(\d+)-")[0]
    return frame


def _first_groups(frame: pd.DataFrame, rows: int | None) -> pd.DataFrame:
    """Rows of the first truth groups (in file order) until at least ``rows`` rows."""
    if rows is None or rows >= len(frame):
        return frame
    sizes = frame.groupby("truth", sort=False).size()
    keep = sizes.index[: int((sizes.cumsum() < rows).sum()) + 1]
    return frame[frame["truth"].isin(keep)].reset_index(drop=True)


def synthetic_paths(
    size: int, work: Path, profile: Profile = "default", people: int | None = None
) -> tuple[Path, Path]:
    """Where the synthetic records and their people are cached for ``size`` records."""
    stem = "synthetic" if profile == "default" else f"synthetic_{profile}"
    stem += f"_{size}" if people is None else f"_{size}_of_{people}"
    return work / f"{stem}.parquet", work / f"{stem}_people.parquet"


_PEOPLE_KEPT = ["person_id", "hard_negative", "hard_negative_partner", "origin", "sex", "dob"]
"""The people's columns cached: hard-negative partners, and who each person is (name origin,
sex, true date of birth) for the who-we-miss tables."""


def synthetic_cached(
    size: int, work: Path, profile: Profile = "default", people: int | None = None
) -> bool:
    """Whether the set is cached with every people column (older caches lack some)."""
    records_path, people_path = synthetic_paths(size, work, profile, people)
    if not (records_path.exists() and people_path.exists()):
        return False
    import pyarrow.parquet as pq

    return set(_PEOPLE_KEPT) <= set(pq.read_schema(people_path).names)


def write_synthetic(
    size: int, work: Path, profile: Profile = "default", people: int | None = None
) -> tuple[Path, Path]:
    """Generate ``size`` synthetic records once (seeded) and cache them as Parquet.

    ``profile`` picks the generator's rates; ``people`` how many people the records are
    drawn from (None: ``round(size / 1.8)``, the people ``generate_records`` makes itself).
    """
    records_path, people_path = synthetic_paths(size, work, profile, people)
    if synthetic_cached(size, work, profile, people):
        return records_path, people_path
    work.mkdir(parents=True, exist_ok=True)
    # The same people generate_records would make itself, kept for the hard-negative partners.
    n_people = people if people is not None else max(1, round(size / 1.8))
    truth = generate_people(n_people, seed=SYNTHETIC_SEED, profile=profile)
    records = generate_records(size, seed=SYNTHETIC_SEED, people=truth, profile=profile)
    truth[_PEOPLE_KEPT].to_parquet(people_path)
    records.to_parquet(records_path)
    return records_path, people_path


def load(spec: DatasetSpec, work: Path) -> Dataset:
    """Load a dataset; synthetic sets must have been written with :func:`write_synthetic`."""
    if spec.source in ("febrl1", "febrl2", "febrl3"):
        name = f"dataset{spec.source[-1]}.csv"
        return Dataset(spec, {"input": _first_groups(read_febrl(name), spec.size)})
    if spec.source == "febrl4":
        left = _first_groups(read_febrl("dataset4a.csv"), spec.size)
        right = read_febrl("dataset4b.csv")
        right = right[right["truth"].isin(set(left["truth"]))].reset_index(drop=True)
        return Dataset(spec, {"left": left, "right": right})
    if spec.source == "historical":
        frame = pd.read_parquet(HISTORICAL)
        frame["record_id"] = frame["unique_id"]
        frame["truth"] = frame["cluster"]
        return Dataset(spec, {"input": _first_groups(frame, spec.size)})
    if spec.size is None:
        msg = "a synthetic dataset needs a size"
        raise ValueError(msg)
    records_path, people_path = synthetic_paths(spec.size, work, spec.profile, spec.people)
    records = pd.read_parquet(records_path)
    records["truth"] = records["person_id"]
    return Dataset(spec, {"input": records}, people=pd.read_parquet(people_path))
