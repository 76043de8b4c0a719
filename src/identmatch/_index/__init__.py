"""The known-person index: one DuckDB file, resolved once, then searched, changed and audited.

Owns opening and compacting the file with its encryption (store, encryption), its build
(write), search (snapshot, search), adds and removals, decisions and the review queue
(review, queue), label reports, and the audit trail with its chain and the audited read view
(audit, audit_chain, audited). `index` is the public Index that composes them.

May import: the top-level modules, _prepare, _candidates, _model and _batch. Internal: users
import from ``identmatch``.
"""
