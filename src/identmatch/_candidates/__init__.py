"""Candidate pairs: the keys every record emits, and the choice among the records sharing them.

Owns the blocking keys (keys), the candidate rules and their report (blocking) and the meta-
blocking choice of each record's best candidates (choose), the same in batch (as SQL) and in
search (in Python).

May import: the top-level modules and _prepare. Internal: users import from ``identmatch``.
"""
