"""The Fellegi-Sunter model: how two records are compared, weighed and explained.

Owns similarities, comparison levels as values (levels), the default comparisons
(catalogue), their SQL compiler (level_sql) and Python evaluator (level_python), the
declared columns' comparisons, the model file and its training on Splink (model), the run
config a model keeps, in-process scoring and explanations.

May import: the top-level modules, _prepare and _candidates. Internal: users import from
``identmatch``.
"""
