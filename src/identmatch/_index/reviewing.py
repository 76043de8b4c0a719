"""The index's review methods: decisions, their undoing, the queue and the label report
(a mixin of ``Index``; the work is in ``review``, ``queue`` and ``report``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from identmatch._batch.decisions import DECISION_KINDS, DecisionKind, Decisions
from identmatch._exceptions import ConfigError, SchemaError
from identmatch._index.snapshot import Change

if TYPE_CHECKING:
    from identmatch._index.index import Index
    from identmatch._index.queue import ReviewQueue
    from identmatch._index.report import LabelReport
    from identmatch._index.review import DecisionOutcome

__all__ = ["IndexReview"]


class IndexReview:
    """What a person decides about an index's records, and what the decisions say."""

    def decide(
        self,
        record_ids: Sequence[str],
        decision: DecisionKind,
        *,
        reason: str = "",
        purpose: str = "",
        decided_by: str = "",
    ) -> DecisionOutcome:
        """Record a person's decision about two records, and apply it at once.

        ``different`` is a must-not-link: if the two records share an entity it splits now
        (its records re-resolved with the two kept apart; the largest part keeps the id, the
        split is logged), and no later add, removal or rebuild with the exported decisions
        joins them again, directly or through a chain. ``same`` is a must-link: records of
        two entities are merged into the older. ``unsure`` changes nothing but takes the pair
        out of the review queue. The latest decision about a pair is the one that holds.

        Audited (``decided_by`` the key id) as :meth:`add` is; the entry's id is in
        ``audit_id``.

        Raises:
            SchemaError: a record id is not in the index, or both are the same.
            DecisionError: ``same`` would join records decided to be different people.
        """
        from identmatch._index.audited import audit_decision
        from identmatch._index.review import decide

        index = cast("Index", self)

        ids = [str(r) for r in record_ids]
        if len(ids) != 2:
            msg = f"a decision is about exactly two records, got {len(ids)}"
            raise SchemaError(msg)
        if decision not in DECISION_KINDS:
            msg = f"decision must be one of {', '.join(DECISION_KINDS)}"
            raise SchemaError(msg)
        log = index.audit_log()  # no key, no change
        with index._write_lock:
            outcome, moved = decide(
                index,
                (ids[0], ids[1]),
                decision,
                reason=reason,
                purpose=purpose,
                decided_by=decided_by,
                connection=index._connection,
            )
            if moved:
                index._changed(Change("regroup", moved=dict(moved)))
            return audit_decision(log, outcome, decided_by, purpose)

    def undo_decision(
        self,
        decision_id: int,
        *,
        record_ids: tuple[str, str] | None = None,
        reason: str = "",
        purpose: str = "",
        decided_by: str = "",
    ) -> DecisionOutcome:
        """Reverse a decision: ``unsure`` about its pair, and what it did put back (a split's
        parts rejoin, a merge is re-resolved). SchemaError: no such decision or records (or
        not about ``record_ids``, when given); DecisionError: a later decision about the pair
        holds, or a rejoin is blocked. Audited as :meth:`decide` is."""
        from identmatch._index.audited import audit_decision
        from identmatch._index.review import undo

        index = cast("Index", self)
        log = index.audit_log()  # no key, no change
        with index._write_lock:
            outcome, moved = undo(
                index, decision_id, record_ids, reason, purpose, decided_by, index._connection
            )
            if moved:
                index._changed(Change("regroup", moved=dict(moved)))
            detail = f"undo of decision {decision_id} (decision {outcome.decision_id})"
            return audit_decision(log, outcome, decided_by, purpose, detail=detail)

    def decisions(self) -> Decisions:
        """Every decision recorded in the index, oldest first (``.frame`` to export)."""
        from identmatch._index.review import load_decisions

        index = cast("Index", self)

        with index._cursor() as cursor:
            return load_decisions(cursor)

    def review_queue(self, *, limit: int = 50) -> ReviewQueue:
        """What a person should look at: uncertain pairs and suspicious entities.

        Pairs scored (by the build or an add) with a match probability in
        ``ModelConfig.review_band``, closest to the threshold first, and entities that look
        wrong (possible twins, conflicting identifiers, very large, a weak bridge), each
        with the pair to decide on and its explanation. Pairs already decided are left out.
        """
        from identmatch._index.queue import review_queue

        index = cast("Index", self)

        if not 1 <= limit <= 1_000:
            msg = f"limit must be between 1 and 1000, got {limit}"
            raise ConfigError(msg)
        return review_queue(index, limit=limit, connection=index._connection)

    def report(self, *, threshold: float | None = None) -> LabelReport:
        """Precision and recall estimated from the decisions, with intervals and advice.

        Every ``same`` / ``different`` decision in force about records still here is a label
        for the pair's score now; see ``identmatch report``.
        """
        from identmatch._index.report import label_report

        index = cast("Index", self)

        if threshold is not None and not 0.0 < threshold < 1.0:
            msg = f"threshold must be a match probability in (0, 1), got {threshold}"
            raise ConfigError(msg)
        return label_report(index, threshold=threshold, connection=index._connection)
