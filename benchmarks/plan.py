"""Which system runs on which dataset, in full and smoke mode, and in what order."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.datasets import DatasetSpec

__all__ = ["SYSTEMS", "Job", "jobs"]

SYSTEMS = ("identmatch", "splink", "recordlinkage")
"""Every system, in report order."""

_SCALE_SYSTEMS = ("identmatch", "splink")


@dataclass(frozen=True)
class Job:
    """One (system, dataset) run, in its own process."""

    system: str
    dataset: DatasetSpec


def _datasets(smoke: bool, skip_3m: bool) -> list[DatasetSpec]:
    # Smoke sizes stay under identmatch's 1,000-record training floor, to finish in seconds.
    febrl = None if not smoke else 200
    historical = None if not smoke else 300
    sizes = (500, 700, 900) if smoke else (100_000, 1_000_000, 3_000_000)
    hard_small, hard_large = ((400, 160), 600) if smoke else ((12_800, 5_000), 100_000)
    specs = [
        DatasetSpec("febrl1", "FEBRL 1", "febrl1", "dedupe", size=febrl),
        DatasetSpec("febrl2", "FEBRL 2", "febrl2", "dedupe", size=febrl),
        DatasetSpec("febrl3", "FEBRL 3", "febrl3", "dedupe", size=febrl),
        DatasetSpec("febrl3_ssid", "FEBRL 3 + soc_sec_id", "febrl3", "dedupe", True, febrl),
        DatasetSpec("febrl4", "FEBRL 4", "febrl4", "link", size=febrl),
        DatasetSpec("febrl4_ssid", "FEBRL 4 + soc_sec_id", "febrl4", "link", True, febrl),
        DatasetSpec(
            "historical_50k", "Historical figures 50k", "historical", "dedupe", size=historical
        ),
        # identmatch with declared attributes (issue 13); Splink's model compares both already.
        DatasetSpec(
            "historical_50k_attrs",
            "Historical figures 50k + occupation, birth_place",
            "historical",
            "dedupe",
            size=historical,
            with_attributes=True,
        ),
        DatasetSpec("synthetic_100k", _title(sizes[0]), "synthetic", "dedupe", size=sizes[0]),
        # The hard profile (issue 12): one set shaped like the independent evaluation set
        # (12,800 records of 5,000 people, so more records per person), one at 100k.
        DatasetSpec(
            "synthetic_hard_13k",
            f"Synthetic hard {hard_small[0]:,} ({hard_small[1]:,} people)",
            "synthetic",
            "dedupe",
            size=hard_small[0],
            profile="hard",
            people=hard_small[1],
        ),
        DatasetSpec(
            "synthetic_hard_100k",
            f"Synthetic hard {hard_large:,}",
            "synthetic",
            "dedupe",
            size=hard_large,
            profile="hard",
        ),
        DatasetSpec(
            "synthetic_1m", _title(sizes[1]), "synthetic", "dedupe", size=sizes[1], scale=True
        ),
    ]
    if not skip_3m:
        specs.append(
            DatasetSpec(
                "synthetic_3m", _title(sizes[2]), "synthetic", "dedupe", size=sizes[2], scale=True
            )
        )
    return specs


def _title(size: int) -> str:
    return f"Synthetic {size:,}"


def jobs(*, smoke: bool, skip_3m: bool) -> list[Job]:
    """Every run, smallest datasets first; scale sets run identmatch and Splink only."""
    out = []
    for spec in _datasets(smoke, skip_3m):
        systems = (
            ("identmatch",) if spec.with_attributes else _SCALE_SYSTEMS if spec.scale else SYSTEMS
        )
        out.extend(Job(system, spec) for system in systems)
    return out
