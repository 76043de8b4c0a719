"""Batch runs: whole datasets through Splink on DuckDB or Spark, into entities.

Owns the pipeline and its plan (default model, training sample, candidate query), the DuckDB
and Spark engines, clustering with decisions (cluster, decisions), the Result a run returns,
entity alias sets and scoring against known truth (evaluate), overall and per group of
people (subgroups).

May import: the top-level modules, _prepare, _candidates and _model. Internal: users import
from ``identmatch``.
"""
