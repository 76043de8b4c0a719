"""``python -m benchmarks.prepare WORK SIZE...``: generate and cache synthetic sets.

Run in its own process so the generator's memory never sits in the parent while the
systems run.
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.datasets import write_synthetic

__all__ = ["main"]


def main(argv: list[str]) -> int:
    work = Path(argv[0])
    for size in argv[1:]:
        write_synthetic(int(size), work)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
