"""Synthetic people with known truth, the bundled demo files, and scoring against the truth.

``generate_records`` makes seeded records of synthetic people with labelled recording errors
and hard non-matches; ``demo_files``/``demo_paths`` give the two small bundled files;
``pairwise_scores`` measures a result against the true ``person_id``.
"""

from __future__ import annotations

from identmatch._batch.evaluate import PairwiseScores, pairwise_scores
from identmatch._synthetic.demo import demo_paths
from identmatch._synthetic.generate import (
    ErrorRates,
    PopulationRates,
    demo_files,
    generate_people,
    generate_records,
)

__all__ = [
    "ErrorRates",
    "PairwiseScores",
    "PopulationRates",
    "demo_files",
    "demo_paths",
    "generate_people",
    "generate_records",
    "pairwise_scores",
]
