"""``python -m benchmarks.prepare WORK SET...``: generate and cache synthetic sets.

Each SET is ``SIZE``, ``SIZE:PROFILE`` or ``SIZE:PROFILE:PEOPLE`` (see :func:`set_argument`).

Run in its own process so the generator's memory never sits in the parent while the
systems run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

from benchmarks.datasets import write_synthetic

if TYPE_CHECKING:
    from benchmarks.datasets import DatasetSpec, Profile

__all__ = ["main", "set_argument"]


def set_argument(spec: DatasetSpec) -> str:
    """The command-line form of a synthetic set: ``SIZE[:PROFILE[:PEOPLE]]``."""
    text = str(spec.size)
    if spec.profile != "default" or spec.people is not None:
        text += f":{spec.profile}"
    return text if spec.people is None else f"{text}:{spec.people}"


def main(argv: list[str]) -> int:
    work = Path(argv[0])
    for argument in argv[1:]:
        size, _, rest = argument.partition(":")
        profile, _, people = rest.partition(":")
        write_synthetic(
            int(size),
            work,
            cast("Profile", profile or "default"),
            int(people) if people else None,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
