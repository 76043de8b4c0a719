"""Synthetic people with known truth, the bundled demo files, and scoring against the truth.

``generate_records`` makes seeded records of synthetic people with labelled recording errors
and hard non-matches; ``demo_files``/``demo_paths`` give the two small bundled files;
``pairwise_scores`` measures a result against the true ``person_id``, and ``subgroup_scores``
does so per group of people (who we miss).
"""

from __future__ import annotations

from identmatch._batch.evaluate import PairwiseScores, pairwise_scores
from identmatch._batch.subgroups import age_bands, subgroup_scores
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
    "age_bands",
    "demo_files",
    "demo_paths",
    "generate_people",
    "generate_records",
    "pairwise_scores",
    "subgroup_scores",
]
