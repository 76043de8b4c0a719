"""identmatch's benchmark suite: accuracy, speed and memory beside Splink and recordlinkage.

Uses only identmatch's public API. ``make bench`` writes ``benchmarks/RESULTS.md``;
``make bench-smoke`` runs every system on tiny subsets and checks the report's form.
"""

from __future__ import annotations
