"""Routes of the review loop and the page: the model, the session, the page's files, the
queue, decisions and the audit trail."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

import identmatch
from identmatch._service.auth import Auditor, Reader, Reviewer
from identmatch._service.chart_routes import add_chart_routes
from identmatch._service.page import PAGE_HEADERS, page_files, static_file
from identmatch._service.schemas import (
    AuditPage,
    DecisionConflict,
    DecisionRequest,
    DecisionResponse,
    DecisionsPage,
    ModelComparison,
    ModelLevel,
    ModelResponse,
    Problem,
    QueueResponse,
    RecordMove,
    SessionResponse,
    StoredDecision,
    UndoRequest,
    WeightBin,
)
from identmatch._service.state import ServiceState

__all__ = ["add_review_routes", "model_view"]

_logger = logging.getLogger("identmatch.server")


def add_review_routes(
    app: FastAPI,
    service: ServiceState,
    denied: Callable[[Request, identmatch.ApiKey, int], Awaitable[None]],
) -> None:
    """Add the routes to ``app``, serving ``service``."""

    @app.get("/v1/model", tags=["search"])
    async def model(key: Reader) -> ModelResponse:
        """The index's model: every comparison level's m, u and weight in bits, the
        thresholds, and the distribution of the build's match weights (no record values)."""
        return await run_in_threadpool(model_view, service.index)

    add_chart_routes(app, service)

    @app.get("/v1/session", tags=["health"])
    async def session(key: Reader) -> SessionResponse:
        """The calling key's id, name and role: what a client (the page) may offer."""
        return SessionResponse(
            key_id=key.id,
            name=key.name,
            role=key.role,
            expires=key.expires,
            sources=service.config.sources,
        )

    for path, (media, body) in page_files().items():
        app.add_api_route(path, static_file(media, body), methods=["GET"], include_in_schema=False)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        """No icon (browsers ask for one): an empty reply rather than a logged 404."""
        return Response(status_code=204, headers=PAGE_HEADERS)

    @app.get("/v1/review/queue", tags=["review"])
    async def review_queue(
        key: Reviewer,
        purpose: Annotated[str, Query(min_length=3, max_length=500, pattern=r"\S")],
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> QueueResponse:
        """Uncertain pairs and suspicious entities for a person to decide (role ``review``
        or ``write``; audited with every entity it shows)."""
        queue = await run_in_threadpool(service.index.review_queue, limit=limit)
        entities, records = queue.shown()
        service.shown.queued(key.id, records)
        audit_id = await asyncio.wrap_future(
            service.audit.submit(
                key_id=key.id,
                action="queue",
                purpose=purpose,
                entity_ids=entities,
                record_ids=records,
            )
        )
        return QueueResponse(pairs=queue.pairs, entities=queue.entities, audit_id=audit_id)

    @app.post(
        "/v1/decisions",
        tags=["review"],
        response_model=DecisionResponse,
        responses={404: {"model": Problem}, 409: {"model": DecisionConflict}},
    )
    async def decide(
        http: Request, request: DecisionRequest, key: Reviewer
    ) -> DecisionResponse | JSONResponse:
        """Decide whether two records are one person; ``different`` splits their entity now
        and holds for every later add and rebuild (role ``review`` or ``write``; audited).

        Only about two records the key was shown (its review queue, its own searches) in the
        last ``entity_read_hours`` (403 otherwise); each spends one of the key's decisions
        (429 beyond). A decision contradicting standing ones is 409, naming them.
        """
        a, b = request.record_ids
        if a == b:
            errors = [
                {
                    "loc": ("body", "record_ids"),
                    "msg": "two different records",
                    "type": "value_error",
                }
            ]
            raise RequestValidationError(errors)
        if not service.shown.may_decide(key.id, (a, b)):
            # Only a pair the key was shown: deciding on guessed ids would name their
            # entities (and take the pair out of the queue) for anyone who asks.
            await denied(http, key, 403)
            _logger.warning("key %s refused a decision on records it was not shown", key.id)
            raise HTTPException(403, "forbidden")
        try:
            outcome = await run_in_threadpool(
                service.decide, (a, b), request.decision, request.reason, request.purpose, key.id
            )
        except identmatch.DecisionError as exc:
            # The standing decisions to revisit, by id, beside the message.
            return JSONResponse(
                {"detail": str(exc), "decision_ids": list(exc.decision_ids)}, status_code=409
            )
        except identmatch.SchemaError:
            raise HTTPException(404, "no such record") from None
        audit_id = outcome.audit_id  # Index.decide audited it, under the key
        assert audit_id is not None
        _logger.info("key %s decided a pair: %s", key.id, outcome.decision)
        return decision_response(outcome, audit_id)

    @app.post(
        "/v1/decisions/{decision_id}/undo",
        tags=["review"],
        responses={404: {"model": Problem}, 409: {"model": Problem}},
    )
    async def undo(
        http: Request,
        decision_id: Annotated[int, PathParam(ge=1)],
        request: UndoRequest,
        key: Reviewer,
    ) -> DecisionResponse:
        """Undo a decision that still holds (the latest about its pair): ``unsure`` is recorded
        about the pair, the reason naming the decision undone, and what it did is put back
        (a split's parts rejoin, a merge is re-resolved). Role ``review`` or ``write``; audited.

        The request names the decision's two records: as for a decision, only records the key
        was shown (403 otherwise; 404 if the decision is not about them), and each undo spends
        one of the key's decisions (429 beyond)."""
        if not service.shown.may_decide(key.id, request.record_ids):
            await denied(http, key, 403)
            _logger.warning("key %s refused an undo on records it was not shown", key.id)
            raise HTTPException(403, "forbidden")
        try:
            outcome = await run_in_threadpool(
                service.undo,
                decision_id,
                request.record_ids,
                request.reason,
                request.purpose,
                key.id,
            )
        except identmatch.DecisionError as exc:
            raise HTTPException(409, str(exc)) from None
        except identmatch.SchemaError:
            raise HTTPException(404, "no such decision") from None
        audit_id = await asyncio.wrap_future(
            service.audit.submit(
                key_id=key.id,
                action="decision",
                purpose=request.purpose,
                entity_ids=list(dict.fromkeys(outcome.entity_ids)),
                record_ids=list(outcome.record_ids),
                detail=f"undo of decision {decision_id} (decision {outcome.decision_id})",
            )
        )
        _logger.info("key %s undid a decision", key.id)
        return decision_response(outcome, audit_id)

    @app.get("/v1/decisions", tags=["review"])
    async def decisions(
        key: Reviewer,
        purpose: Annotated[str, Query(min_length=3, max_length=500, pattern=r"\S")],
    ) -> DecisionsPage:
        """Every decision the index holds, for ``identmatch decisions export --url``
        (role ``review`` or ``write``; audited as an export)."""
        frame = (await run_in_threadpool(service.index.decisions)).frame
        rows = [
            StoredDecision(**{str(k): "" if v is None else str(v) for k, v in row.items()})
            for row in frame.to_dict("records")
        ]
        audit_id = await asyncio.wrap_future(
            service.audit.submit(
                key_id=key.id, action="export", purpose=purpose, detail=f"{len(rows)} decisions"
            )
        )
        return DecisionsPage(decisions=rows, audit_id=audit_id)

    @app.get("/v1/audit", tags=["audit"])
    async def audit_entries(
        key: Auditor,
        since: datetime | None = None,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
    ) -> AuditPage:
        """The audit trail, a page at a time (role ``audit`` only; it holds no names)."""
        entries = await run_in_threadpool(
            service.audit.entries, since=since, after=after, limit=limit
        )
        more = entries[-1].audit_id if len(entries) == limit else None
        return AuditPage(entries=entries, next_after=more)


def decision_response(outcome: identmatch.DecisionOutcome, audit_id: int) -> DecisionResponse:
    """The reply to a decision or an undo: ``split`` lists every record that moved."""
    return DecisionResponse(
        decision_id=outcome.decision_id,
        decision=outcome.decision,
        record_ids=list(outcome.record_ids),
        entity_ids=list(outcome.entity_ids),
        split=[RecordMove(record_id=r, entity_id=e) for r, e in outcome.moved],
        audit_id=audit_id,
    )


def model_view(index: identmatch.Index) -> ModelResponse:
    model = index.model
    threshold = index.config.threshold
    comparisons = [
        ModelComparison(
            name=spec.name,
            levels=[
                ModelLevel(
                    label=level.label,
                    kind=level.kind,
                    m=level.m,
                    u=level.u,
                    weight=None if level.kind == "null" else model.level_weight(spec.name, i),
                    term_frequencies=level.tf,
                )
                for i, level in enumerate(spec.levels)
            ],
        )
        for spec in model.comparisons
    ]
    return ModelResponse(
        prior_weight=model.prior_weight,
        threshold=threshold,
        threshold_weight=math.log2(threshold / (1.0 - threshold)),
        possible=0.5,
        review_band=index.config.review_band,
        comparisons=comparisons,
        histogram=[
            WeightBin(lower=a, upper=b, count=n) for a, b, n in index.match_weight_histogram()
        ],
        identifiers=[spec.column for spec in model.declared.identifiers],
        attributes=[spec.column for spec in model.declared.attributes],
    )
