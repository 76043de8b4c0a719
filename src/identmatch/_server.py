"""The HTTP service ([server] extra): routes over the public API, and nothing else of its own.

The only module that imports the web framework. One process holds the index file
read-write (DuckDB allows one writer process); searches are CPU-bound Python of about a
millisecond, so they run on the event loop itself, where a thread hop would cost as much
as the search. Adds, removals and entity reads run in worker threads, so searches go on
(against the snapshot from before the change) while they run. Every search and change is
audited in the index file, committed before the response is sent.

Requests pass, in order: uvicorn's protocol with header and body timeouts and connection
caps (:func:`_guarded_protocol`); the gate checking key, role and lookup budget before the
body is read (``identmatch._service_guard``); the body-size limit and the search fast path;
FastAPI. On SIGTERM or SIGINT the lifespan commits the audit queue and checkpoints the
index; SIGHUP reloads the keys.

Logs carry request paths (without query strings), status codes, key ids and error class
names: never record values, which travel only in request and response bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import math
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import identmatch
from identmatch._service_guard import Gate, RateLimiter, Refusals, bearer_token

try:
    from fastapi import Depends, FastAPI, HTTPException, Query, Request
    from fastapi import Path as PathParam
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from pydantic import (
        BaseModel,
        ConfigDict,
        Field,
        StringConstraints,
        TypeAdapter,
        model_validator,
    )
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    msg = "identmatch serve needs the server extra: pip install 'identmatch[server]'"
    raise ImportError(msg) from exc

__all__ = ["create_app", "plain_http_off_loopback", "serve"]

_logger = logging.getLogger("identmatch.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_Name = Annotated[str, StringConstraints(max_length=200)]
_Short = Annotated[str, StringConstraints(max_length=40)]
_Declared = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,62}$")]
_Purpose = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500, pattern=r"\S")
]
_RecordId = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:@#-]+$")
]
# Hard caps in the schema; the config's limits (never above these) are checked per request.
_MAX_BATCH = 10_000
_MAX_TOP = 100
_PERSON_FIELDS = tuple(
    c for c in identmatch.STANDARD_COLUMNS if c not in ("record_id", "source", "aliases")
)
"""Text fields of a person (aliases, a list, are handled on their own)."""


# ------------------------------------------------------------------------------ models
class Person(BaseModel):
    """Who to search for; at least one field. Values are standardised as records are."""

    model_config = ConfigDict(extra="forbid")

    forename: _Name | None = None
    middle_names: _Name | None = None
    surname: _Name | None = None
    aliases: list[_Name] = Field(default_factory=list, max_length=20)
    """Other names the person is known by (full names)."""
    dob: _Short | None = Field(default=None, examples=["1985-04-03"])
    """Date of birth; ISO (YYYY-MM-DD) is unambiguous, other forms follow the index's order."""
    sex: _Short | None = None
    postcode: _Short | None = None
    nhs_number: _Short | None = None
    address: _Name | None = None
    town: _Name | None = None
    identifiers: dict[_Declared, _Short | list[_Short]] = Field(
        default_factory=dict, max_length=20, examples=[{"pnc": "2008/0012345P"}]
    )
    """The index's declared identifiers by column (a list for several values)."""
    attributes: dict[_Declared, _Name] = Field(default_factory=dict, max_length=20)
    """The index's declared attributes by column (occupation, school, ...)."""

    @model_validator(mode="after")
    def _not_empty(self) -> Person:
        if not any(self.fields().values()):
            msg = "give at least one field: forename, surname, dob, ..."
            raise ValueError(msg)
        return self

    def fields(self) -> dict[str, Any]:
        """The fields given, as the Python API takes them."""
        values: dict[str, Any] = {
            k: v for k in _PERSON_FIELDS if (v := getattr(self, k)) is not None and v.strip()
        }
        if self.aliases:
            values["aliases"] = [a for a in self.aliases if a.strip()]
        for name, value in (*self.identifiers.items(), *self.attributes.items()):
            given = [v for v in value if v.strip()] if isinstance(value, list) else value.strip()
            if given:
                values[name] = given
        return values


class RecordIn(Person):
    """A record to add (or to replace, when its ``record_id`` is already indexed)."""

    record_id: _RecordId
    source: _Short | None = None


class SearchRequest(BaseModel):
    """One person (``person``) or a small batch (``people``), and why you are asking."""

    model_config = ConfigDict(extra="forbid")

    purpose: _Purpose = Field(examples=["case 2026-0142: new partner in household"])
    """Why you are searching: a case reference or a reason. Audited with the search."""
    person: Person | None = None
    people: list[Person] | None = Field(default=None, min_length=1, max_length=_MAX_BATCH)
    """Several people at once (at most the service's ``max_batch``)."""
    top: int = Field(default=5, ge=1, le=_MAX_TOP)
    """At most this many entities per person (at most the service's ``max_top``)."""

    @model_validator(mode="after")
    def _one_of(self) -> SearchRequest:
        if (self.person is None) == (self.people is None):
            msg = "give exactly one of person or people"
            raise ValueError(msg)
        return self

    def persons(self) -> list[Person]:
        """The people asked for, in order."""
        return [self.person] if self.person is not None else list(self.people or ())


class RecordsRequest(BaseModel):
    """Records to add; a record whose id is already indexed replaces the earlier one."""

    model_config = ConfigDict(extra="forbid")

    records: list[RecordIn] = Field(min_length=1, max_length=_MAX_BATCH)
    """At most the service's ``max_batch`` records."""
    purpose: _Purpose | None = None
    """Why the records change (a feed name, a case reference). Audited."""

    @model_validator(mode="after")
    def _unique(self) -> RecordsRequest:
        ids = [r.record_id for r in self.records]
        if len(set(ids)) != len(ids):
            msg = "record_id must be unique within one request"
            raise ValueError(msg)
        return self


class SearchResult(BaseModel):
    """The ranked entities for one person, best first (empty: nobody at "possible")."""

    hits: list[identmatch.Hit]


class SearchResponse(BaseModel):
    """Results in the order the people were given, and the audit entries made."""

    results: list[SearchResult]
    audit_ids: list[int]


_SEARCH_REPLY = TypeAdapter(SearchResponse)
"""Serialises a search reply straight to JSON bytes."""


class RecordOutcome(BaseModel):
    """Which entity a record joined; ``replaced`` when it replaced an earlier version."""

    record_id: str
    entity_id: str
    action: Literal["joined", "new", "merged"]
    replaced: bool


class RecordsResponse(BaseModel):
    records: list[RecordOutcome]
    audit_id: int


class RecordMove(BaseModel):
    record_id: str
    entity_id: str


class RemoveResponse(BaseModel):
    """The removed record, the entity it left, and records moved to split-off entities."""

    record_id: str
    entity_id: str
    split: list[RecordMove]
    audit_id: int


class DecisionRequest(BaseModel):
    """A person's decision about two records, with the reason and the purpose."""

    model_config = ConfigDict(extra="forbid")

    record_ids: Annotated[list[_RecordId], Field(min_length=2, max_length=2)]
    decision: Literal["same", "different", "unsure"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    purpose: _Purpose


class DecisionResponse(BaseModel):
    """The decision's id, each record's entity afterwards, and every record moved."""

    decision_id: int
    decision: Literal["same", "different", "unsure"]
    record_ids: list[str]
    entity_ids: list[str]
    split: list[RecordMove]
    audit_id: int


class QueueResponse(identmatch.ReviewQueue, frozen=True):
    """The review queue, and the audit entry its reading made."""

    audit_id: int


class StoredDecision(BaseModel):
    record_id_l: str
    record_id_r: str
    decision: str
    reason: str
    decided_at: str
    decided_by: str
    purpose: str


class DecisionsPage(BaseModel):
    """Every decision the index holds, oldest first."""

    decisions: list[StoredDecision]
    audit_id: int


class EntityRecord(BaseModel):
    record_id: str
    source: str | None
    forename: str | None
    middle_names: str | None
    surname: str | None
    dob: str | None
    """Date of birth, standardised (YYYY-MM-DD) when it could be read."""
    dob_given: str | None
    """Date of birth as it was given."""
    aliases: list[str]


class HouseholdMember(BaseModel):
    """Another person known at one of the entity's postcodes (see ``Index.household``)."""

    entity_id: str
    basis: Literal["address", "postcode"]
    """``address``: a record gives the same postcode and address line; ``postcode``: the
    same postcode only (a street or a block: neighbours at most)."""
    records: int
    name: str | None
    dob: str | None
    sources: list[str]
    postcode: str | None


class EntityResponse(BaseModel):
    entity_id: str
    names: list[str]
    dates_of_birth: list[str]
    records: list[EntityRecord]
    household: list[HouseholdMember]
    """The others known at the same addresses, same address first (at most 20)."""
    audit_id: int


class ModelLevel(BaseModel):
    label: str
    kind: str
    m: float
    u: float
    weight: float | None
    """``log2(m / u)`` in bits; None for the level of a missing value (it weighs nothing)."""
    term_frequencies: bool
    """The weight of an exact match is adjusted for how common the value is."""


class ModelComparison(BaseModel):
    name: str
    levels: list[ModelLevel]


class WeightBin(BaseModel):
    lower: float
    upper: float
    count: int


class ModelResponse(BaseModel):
    """The model the index scores with, and the distribution of the build's match weights.

    Holds no record values: the page's model screen draws it.
    """

    prior_weight: float
    threshold: float
    threshold_weight: float
    possible: float
    review_band: tuple[float, float]
    comparisons: list[ModelComparison]
    histogram: list[WeightBin]
    identifiers: list[str]
    """Declared identifier columns a search may give, by name."""
    attributes: list[str]
    """Declared attribute columns a search may give, by name."""


class SessionResponse(BaseModel):
    """Who the key is: its id, name and role (what the page may offer)."""

    key_id: str
    name: str
    role: str
    expires: str


class ExportedRecord(BaseModel):
    record_id: str
    entity_id: str
    source: str | None


class ExportResponse(BaseModel):
    """Every record's id, entity and source, in the order added."""

    records: list[ExportedRecord]
    audit_id: int


class AuditPage(BaseModel):
    """Audit entries, oldest first; ask again with ``after`` = ``next_after`` for more."""

    entries: list[identmatch.AuditEntry]
    next_after: int | None


class Status(BaseModel):
    status: str


class Problem(BaseModel):
    detail: Any


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or wrong API key"},
    403: {"model": Problem, "description": "The key's role does not allow this"},
    413: {"model": Problem, "description": "Request body too large"},
    422: {"model": Problem, "description": "Validation error, naming the field that failed"},
}


# -------------------------------------------------------------------------- middleware
FastPath = Callable[[Scope, bytes], Awaitable[bytes | None]]
"""A route answered outside FastAPI: the reply body (200, JSON), or None to let FastAPI answer."""


class _BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, before anything parses them.

    A request whose method and path are in ``fast`` is first offered to that handler, with
    the whole body; when it declines (returns None) the request goes on to ``app``.
    """

    def __init__(
        self, app: ASGIApp, limit: int, fast: Mapping[tuple[str, str], FastPath] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.fast = dict(fast or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went (or was cut off): never act on part of a body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _too_large(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        handler = self.fast.get((scope["method"], scope["path"]))
        if handler is None:
            await _guarded(self.app, scope, replay, send)
            return

        async def offered(scope: Scope, receive: Receive, send: Send) -> None:
            reply = await handler(scope, body)
            if reply is None:
                await self.app(scope, receive, send)
            else:
                await _send_json(send, 200, reply)

        await _guarded(offered, scope, replay, send)


async def _guarded(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run ``app``; an escaped error becomes a bare 500, logged by class name only.

    Error messages can quote the values that caused them, so neither the client nor the log
    sees them (the default would log the whole traceback, message included).
    """
    started = False
    api = str(scope.get("path", "")).startswith("/v1/")

    async def watch(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
            if api:  # replies carry people's details: no cache, proxy or browser, may keep them
                message["headers"] = [*message.get("headers", ()), *_API_HEADERS]
        await send(message)

    try:
        await app(scope, receive, watch)
    except Exception as exc:
        where = f"{scope.get('method')} {scope.get('path')}"
        _logger.error("%s failed: %s", where, type(exc).__name__)
        if not started:
            await _send_json(send, 500, b'{"detail":"internal error"}')


_API_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


async def _too_large(send: Send) -> None:
    await _send_json(send, 413, b'{"detail":"request body too large"}', close=True)


async def _send_json(send: Send, status: int, body: bytes, *, close: bool = False) -> None:
    """A whole JSON response sent at the ASGI level (outside FastAPI's handlers)."""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# ------------------------------------------------------------------------------- app
class _Service:
    """The index, its audit log and the config, shared by the routes."""

    def __init__(self, index: identmatch.Index, config: identmatch.ServiceConfig) -> None:
        self.index = index
        self.config = config
        chain_key = (
            identmatch.AuditLog.read_key(config.audit_key_file)
            if config.audit_key_file is not None
            else None
        )
        self.audit = identmatch.AuditLog(index, chain_key=chain_key)
        self.changes = threading.Lock()  # an update is remove + add: one change at a time
        limits = config.limits
        self.lookups = RateLimiter(
            [(limits.lookups_per_minute, 60.0), (limits.lookups_per_day, 86_400.0)]
        )
        self.entity_reads = RateLimiter([(limits.entity_reads_per_hour, 3_600.0)])
        self.refusals = Refusals(self.audit)

    def search(self, people: list[Person], top: int) -> list[list[identmatch.Hit]]:
        return [self.index.search(person.fields(), top=top) for person in people]

    def upsert(self, records: list[RecordIn]) -> tuple[list[RecordOutcome], list[str]]:
        import pandas as pd

        rows = []
        for record in records:
            row = record.fields()
            row["record_id"] = record.record_id
            if record.source is not None:
                row["source"] = record.source
            rows.append(row)
        frame = pd.DataFrame(rows)
        for column in self.index.model.declared.columns:  # a record may leave one out
            if column not in frame.columns:
                frame[column] = None
        touched: list[str] = []
        with self.changes:
            replace = [r.record_id for r in records if r.record_id in self.index]
            if replace:
                removed = self.index.remove(replace)
                touched += removed["entity_id"].astype(str).tolist()
            added = self.index.add(frame)
        replaced = set(replace)
        outcomes = [
            RecordOutcome.model_validate({**row, "replaced": str(row["record_id"]) in replaced})
            for row in added.astype(str).to_dict("records")
        ]
        touched += [o.entity_id for o in outcomes]
        return outcomes, list(dict.fromkeys(touched))

    def decide(
        self, pair: tuple[str, str], decision: Any, reason: str, purpose: str, key_id: str
    ) -> identmatch.DecisionOutcome:
        with self.changes:
            return self.index.decide(
                pair, decision, reason=reason, purpose=purpose, decided_by=key_id
            )

    def shutdown(self) -> None:
        """Commit the queued audit entries, then fold the write-ahead log into the file.

        After this the index file alone (without its ``.wal``) holds every change and every
        audit entry, so a copy or a backup of it is complete.
        """
        self.audit.close()
        with self.changes:
            self.index.checkpoint()
        stats = self.audit.commit_stats()
        _logger.info("audit commits: %s", ", ".join(f"{k} {v}" for k, v in stats.items()))
        _logger.info("index checkpointed; shut down cleanly")

    def remove(self, record_id: str) -> tuple[str, list[RecordMove]]:
        with self.changes:
            outcome = self.index.remove([record_id])
        left = str(outcome.loc[outcome["action"] == "removed", "entity_id"].iloc[0])
        moved = [
            RecordMove(record_id=str(r.record_id), entity_id=str(r.entity_id))
            for r in outcome[outcome["action"] == "split"].itertuples()
        ]
        return left, moved


# ---------------------------------------------------------------------------- security
_bearer = HTTPBearer(auto_error=False, description="An API key: Authorization: Bearer KEY")


# Dependencies are async: a sync one would be run in a worker thread on every request.
async def _caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> identmatch.ApiKey:
    service: _Service = request.app.state.service
    token = credentials.credentials if credentials is not None else None
    key = service.config.authenticate(token) if token else None
    if key is None:
        client = request.client.host if request.client else "-"
        _logger.warning("%s %s: no valid key (from %s)", request.method, request.url.path, client)
        raise HTTPException(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})
    return key


async def _writer(key: Annotated[identmatch.ApiKey, Depends(_caller)]) -> identmatch.ApiKey:
    if key.role != "write":
        _logger.warning("key %s (role %s) refused a write", key.id, key.role)
        raise HTTPException(403, "forbidden")
    return key


async def _auditor(key: Annotated[identmatch.ApiKey, Depends(_caller)]) -> identmatch.ApiKey:
    if key.role != "audit":
        raise HTTPException(403, "forbidden")
    return key


async def _reviewer(key: Annotated[identmatch.ApiKey, Depends(_caller)]) -> identmatch.ApiKey:
    if key.role not in ("review", "write"):
        raise HTTPException(403, "forbidden")
    return key


Reader = Annotated[identmatch.ApiKey, Depends(_caller)]
Reviewer = Annotated[identmatch.ApiKey, Depends(_reviewer)]
Writer = Annotated[identmatch.ApiKey, Depends(_writer)]
Auditor = Annotated[identmatch.ApiKey, Depends(_auditor)]


def _check_limit(field: str, value: int, limit: int, what: str) -> None:
    """422 naming ``field`` when ``value`` is over the config's ``limit``."""
    if value > limit:
        errors = [{"loc": ("body", field), "msg": f"at most {limit} {what}", "type": "too_long"}]
        raise RequestValidationError(errors)


def _check_search_limits(request: SearchRequest, limits: identmatch.ServiceLimits) -> None:
    _check_limit("people", len(request.persons()), limits.max_batch, "people per request")
    _check_limit("top", request.top, limits.max_top, "entities per person")


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (names are lower case in ASGI), as Starlette reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def create_app(
    index: identmatch.Index,
    config: identmatch.ServiceConfig,
    *,
    docs: bool = False,
    config_path: str | Path | None = None,
) -> Any:
    """The ASGI application serving ``index`` (opened writable) under ``config``.

    Args:
        docs: serve the OpenAPI description and its pages (``/openapi.json``, ``/docs``,
            ``/redoc``); off by default, so a deployment does not advertise its API.
        config_path: where ``config`` came from; on SIGHUP its keys are read again (keys
            added, revoked or expired take effect without a restart; limits need one).
    """
    service = _Service(index, config)
    limits = config.limits

    def reload() -> None:
        assert config_path is not None  # installed only when there is a file to read
        try:
            fresh = identmatch.ServiceConfig.load(config_path)
        except identmatch.ConfigError as exc:
            _logger.warning("SIGHUP: kept the running config; the file is unusable: %s", exc)
            return
        service.config = service.config.model_copy(update={"keys": fresh.keys})
        _logger.info("SIGHUP: reloaded the API keys (%d now)", len(fresh.keys))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if config_path is not None and hasattr(signal, "SIGHUP"):  # not on Windows
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)
        yield
        # Here, not after uvicorn.run returns: on SIGTERM uvicorn re-raises the signal once
        # it has shut down, which ends the process before any code after it runs.
        await run_in_threadpool(service.shutdown)

    app = FastAPI(
        title="identmatch",
        version=identmatch.__version__,
        description="Search a known-person index, add and remove records. Every call but "
        "the health checks needs an API key; searches and changes are audited.",
        lifespan=lifespan,
        responses=_ERRORS,
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    app.state.service = service

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # The default body echoes the input back; name the field and the rule only.
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(identmatch.SchemaError)
    async def unusable(_: Request, exc: identmatch.SchemaError) -> JSONResponse:
        # identmatch messages name columns and ids, never record values.
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def failed(_: Request, exc: Exception) -> JSONResponse:
        # The reply only; the error is logged (by class name) where it leaves the app.
        return JSONResponse({"detail": "internal error"}, status_code=500)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> Status:
        """The process is up."""
        return Status(status="ok")

    @app.get("/readyz", tags=["health"], responses={503: {"model": Status}})
    async def readyz() -> Response:
        """Ready once the index is loaded for fast search; 503 ``loading`` until then.

        While loading (tens of seconds on a million records) searches are still answered,
        from the file, in a fraction of a second each.
        """
        if not index.loaded:
            return JSONResponse({"status": "loading"}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def searched(request: SearchRequest, key: identmatch.ApiKey) -> bytes:
        """The JSON reply to a valid search within the limits, once its audit is committed."""
        people = request.persons()
        if len(people) == 1:
            # About a millisecond of CPU: cheaper inline than a hop to a worker thread.
            found = service.search(people, request.top)
        else:
            found = await run_in_threadpool(service.search, people, request.top)
        futures = [
            service.audit.submit(
                key_id=key.id,
                action="search",
                purpose=request.purpose,
                fingerprint=service.audit.fingerprint(person.fields()),
                entity_ids=[hit.entity_id for hit in hits],
            )
            for person, hits in zip(people, found, strict=True)
        ]
        audit_ids = [await asyncio.wrap_future(f) for f in futures]
        reply = SearchResponse(
            results=[SearchResult(hits=hits) for hits in found], audit_ids=audit_ids
        )
        # Serialised once, to bytes: no re-validation of the reply by FastAPI.
        return _SEARCH_REPLY.dump_json(reply)

    async def denied(http: Request, key: identmatch.ApiKey, status: int) -> None:
        """Audit a call refused inside a route (the gate audits those it refuses itself)."""
        await service.refusals.record(http.scope, key.id, status)

    @app.post(
        "/v1/search",
        tags=["search"],
        response_model=SearchResponse,
        responses={429: {"model": Problem, "description": "The key's lookup budget is spent"}},
    )
    async def search(http: Request, request: SearchRequest, key: Reader) -> Response:
        """Rank the index's entities against each person, with verdicts and explanations.

        Each person searched spends one of the key's lookups (the gate spent the first).
        """
        _check_search_limits(request, limits)
        extra = len(request.persons()) - 1
        if extra and (wait := service.lookups.take(key.id, extra)) is not None:
            service.lookups.refund(key.id)  # the gate's, for the first person: none searched
            await denied(http, key, 429)
            retry = "86400" if wait == float("inf") else str(max(1, int(wait + 0.999)))
            raise HTTPException(429, "too many requests", headers={"Retry-After": retry})
        return Response(await searched(request, key), media_type="application/json")

    async def fast_search(scope: Scope, body: bytes) -> bytes | None:
        """``POST /v1/search`` without FastAPI's routing, dependencies and body handling.

        Only a request with a valid key, a JSON body that validates and is within the
        limits is answered here, by the same code as the route; anything else is declined
        (before any work is done) and goes to FastAPI, which answers it as documented.
        FastAPI's machinery costs more CPU than the search itself.
        """
        token = bearer_token(_header(scope, b"authorization"))
        key = service.config.authenticate(token) if token else None
        kind = _header(scope, b"content-type")
        if key is None or kind is None or kind.split(";")[0].strip().lower() != "application/json":
            return None
        try:
            request = SearchRequest.model_validate(json.loads(body))
            _check_search_limits(request, limits)
        except (ValueError, RecursionError, RequestValidationError):  # not JSON, or invalid
            return None
        extra = len(request.persons()) - 1
        if extra and service.lookups.take(key.id, extra) is not None:
            return None  # the route refuses it (429), and audits that
        try:
            return await searched(request, key)
        except identmatch.SchemaError:
            return None  # raised by the search, before any audit: FastAPI answers 422

    @app.post("/v1/records", tags=["records"])
    async def add_records(request: RecordsRequest, key: Writer) -> RecordsResponse:
        """Add records; each joins the entity it matches or starts one. Known ids are replaced."""
        _check_limit("records", len(request.records), limits.max_batch, "records per request")
        outcomes, touched = await run_in_threadpool(service.upsert, request.records)
        audit_id = await asyncio.wrap_future(
            service.audit.submit(
                key_id=key.id,
                action="add",
                purpose=request.purpose,
                entity_ids=touched,
                record_ids=[r.record_id for r in request.records],
            )
        )
        _logger.info("key %s added %d record(s)", key.id, len(outcomes))
        return RecordsResponse(records=outcomes, audit_id=audit_id)

    @app.delete("/v1/records/{record_id}", tags=["records"], responses={404: {"model": Problem}})
    async def remove_record(
        record_id: Annotated[str, PathParam(min_length=1, max_length=200)],
        key: Writer,
        purpose: Annotated[str | None, Query(max_length=500)] = None,
    ) -> RemoveResponse:
        """Remove a record (data retention); its entity is re-resolved and may split."""
        try:
            left, moved = await run_in_threadpool(service.remove, record_id)
        except identmatch.SchemaError:
            raise HTTPException(404, "no such record") from None
        audit_id = await asyncio.wrap_future(
            service.audit.submit(
                key_id=key.id,
                action="remove",
                purpose=purpose,
                entity_ids=list(dict.fromkeys([left, *(m.entity_id for m in moved)])),
                record_ids=[record_id],
            )
        )
        _logger.info("key %s removed a record; %d record(s) split off", key.id, len(moved))
        return RemoveResponse(record_id=record_id, entity_id=left, split=moved, audit_id=audit_id)

    @app.get(
        "/v1/entities/{entity_id}",
        tags=["search"],
        responses={
            404: {"model": Problem},
            429: {"model": Problem, "description": "The key's entity-read budget is spent"},
        },
    )
    async def entity(
        http: Request,
        entity_id: Annotated[str, PathParam(min_length=1, max_length=40)],
        key: Reader,
        purpose: Annotated[str, Query(min_length=3, max_length=500, pattern=r"\S")],
    ) -> EntityResponse:
        """The entity's records, names and dates of birth, for a stated purpose. Audited.

        Only an entity the key's own search returned (or its own add or removal touched)
        in the last ``entity_read_hours``; any other id gets 403, whether it exists or not.
        """
        since = datetime.now(UTC) - timedelta(hours=limits.entity_read_hours)
        if not await run_in_threadpool(service.audit.returned, key.id, entity_id, since=since):
            await denied(http, key, 403)
            _logger.warning("key %s refused an entity its searches did not return", key.id)
            raise HTTPException(403, "forbidden")
        frame = await run_in_threadpool(service.index.entity, entity_id)
        if frame.empty:
            raise HTTPException(404, "no such entity")
        records = [
            EntityRecord(
                record_id=str(row["record_id"]),
                source=_text(row["source"]),
                forename=_text(row["forename"]),
                middle_names=_text(row["middle_names"]),
                surname=_text(row["surname"]),
                dob=_text(row["dob"]),
                dob_given=_text(row["dob_given"]),
                aliases=[str(a) for a in (_list(row["aliases"]))],
            )
            for row in frame.to_dict("records")
        ]
        names = [" ".join(p for p in (r.forename, r.middle_names, r.surname) if p) for r in records]
        near = await run_in_threadpool(service.index.household, entity_id)
        household = [
            HouseholdMember(
                entity_id=str(row["entity_id"]),
                basis=row["basis"],
                records=int(row["records"]),
                name=_text(row["name"]) or None,
                dob=_text(row["dob"]),
                sources=[str(s) for s in _list(row["sources"])],
                postcode=_text(row["postcode"]),
            )
            for row in near.to_dict("records")
        ]
        # The household is shown too, so its people are named in the entry (a subject access
        # export finds the read); an entity read never lets the key read them in turn.
        audit_id = await asyncio.wrap_future(
            service.audit.submit(
                key_id=key.id,
                action="entity",
                purpose=purpose,
                entity_ids=[entity_id, *(m.entity_id for m in household)],
                record_ids=[r.record_id for r in records],
            )
        )
        return EntityResponse(
            entity_id=entity_id,
            names=sorted({n for n in names if n} | {a for r in records for a in r.aliases}),
            dates_of_birth=sorted({r.dob for r in records if r.dob}),
            records=records,
            household=household,
            audit_id=audit_id,
        )

    @app.get("/v1/model", tags=["search"])
    async def model(key: Reader) -> ModelResponse:
        """The index's model: every comparison level's m, u and weight in bits, the
        thresholds, and the distribution of the build's match weights (no record values)."""
        return await run_in_threadpool(_model_view, service.index)

    @app.get("/v1/session", tags=["health"])
    async def session(key: Reader) -> SessionResponse:
        """The calling key's id, name and role: what a client (the page) may offer."""
        return SessionResponse(key_id=key.id, name=key.name, role=key.role, expires=key.expires)

    for path, (media, body) in _page().items():
        app.add_api_route(path, _static(media, body), methods=["GET"], include_in_schema=False)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        """No icon (browsers ask for one): an empty reply rather than a logged 404."""
        return Response(status_code=204, headers=PAGE_HEADERS)

    @app.get("/v1/export", tags=["records"])
    async def export(
        key: Writer,
        purpose: Annotated[str, Query(min_length=3, max_length=500, pattern=r"\S")],
    ) -> ExportResponse:
        """Every record's id, entity and source (role ``write``; audited as an export)."""
        frame = await run_in_threadpool(service.index.export)
        records = [
            ExportedRecord(
                record_id=str(r["record_id"]),
                entity_id=str(r["entity_id"]),
                source=_text(r["source"]),
            )
            for r in frame.to_dict("records")
        ]
        audit_id = await asyncio.wrap_future(
            service.audit.submit(
                key_id=key.id, action="export", purpose=purpose, detail=f"{len(records)} records"
            )
        )
        return ExportResponse(records=records, audit_id=audit_id)

    @app.get("/v1/review/queue", tags=["review"])
    async def review_queue(
        key: Reviewer,
        purpose: Annotated[str, Query(min_length=3, max_length=500, pattern=r"\S")],
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> QueueResponse:
        """Uncertain pairs and suspicious entities for a person to decide (role ``review``
        or ``write``; audited with every entity it shows)."""
        queue = await run_in_threadpool(service.index.review_queue, limit=limit)
        entities = [e for p in queue.pairs for e in p.entity_ids]
        entities += [e.entity_id for e in queue.entities]
        records = [r for p in queue.pairs for r in p.record_ids]
        records += [r for e in queue.entities for r in e.record_ids]
        audit_id = await asyncio.wrap_future(
            service.audit.submit(
                key_id=key.id,
                action="queue",
                purpose=purpose,
                entity_ids=list(dict.fromkeys(entities)),
                record_ids=list(dict.fromkeys(records)),
            )
        )
        return QueueResponse(pairs=queue.pairs, entities=queue.entities, audit_id=audit_id)

    @app.post(
        "/v1/decisions",
        tags=["review"],
        responses={404: {"model": Problem}, 409: {"model": Problem}},
    )
    async def decide(request: DecisionRequest, key: Reviewer) -> DecisionResponse:
        """Decide whether two records are one person; ``different`` splits their entity now
        and holds for every later add and rebuild (role ``review`` or ``write``; audited)."""
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
        try:
            outcome = await run_in_threadpool(
                service.decide, (a, b), request.decision, request.reason, request.purpose, key.id
            )
        except identmatch.DecisionError as exc:
            raise HTTPException(409, str(exc)) from None
        except identmatch.SchemaError:
            raise HTTPException(404, "no such record") from None
        audit_id = await asyncio.wrap_future(
            service.audit.submit(
                key_id=key.id,
                action="decision",
                purpose=request.purpose,
                entity_ids=list(dict.fromkeys(outcome.entity_ids)),
                record_ids=[a, b],
                detail=f"{outcome.decision} (decision {outcome.decision_id})",
            )
        )
        _logger.info("key %s decided a pair: %s", key.id, outcome.decision)
        return DecisionResponse(
            decision_id=outcome.decision_id,
            decision=outcome.decision,
            record_ids=list(outcome.record_ids),
            entity_ids=list(outcome.entity_ids),
            split=[RecordMove(record_id=r, entity_id=e) for r, e in outcome.moved],
            audit_id=audit_id,
        )

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

    guarded = _BodyLimit(app, limits.max_body_bytes, {("POST", "/v1/search"): fast_search})
    # The key, its role and its budget are checked before the body is read.
    return Gate(
        guarded, lambda: service.config, service.refusals, service.lookups, service.entity_reads
    )


def _model_view(index: identmatch.Index) -> ModelResponse:
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


_PAGE_FILES = {"/": "index.html", "/app.js": "app.js", "/app.css": "app.css"}
_MEDIA = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The page's Content-Security-Policy: its own script and style only, no inline code, no
other origin, no form submission (the script sends JSON), never framed."""
PAGE_HEADERS = {
    "content-security-policy": PAGE_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "cache-control": "no-store",
}


def _page() -> dict[str, tuple[str, bytes]]:
    """The page's files (package data), by the path each is served at."""
    from importlib.resources import files

    folder = files("identmatch") / "_web"
    return {
        path: (_MEDIA[Path(name).suffix], (folder / name).read_bytes())
        for path, name in _PAGE_FILES.items()
    }


def _static(media: str, body: bytes) -> Callable[[], Awaitable[Response]]:
    async def page() -> Response:
        """A file of the page; it holds no data (the data come from /v1/ with a key)."""
        return Response(body, media_type=media, headers=PAGE_HEADERS)

    return page


def _guarded_protocol(limits: identmatch.ServiceLimits) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, with timeouts and caps so idle callers cannot starve others.

    - A connection must finish its request headers within ``header_timeout`` of opening
      (or of the first byte of a later request on it), and its body within
      ``body_timeout`` of the headers; otherwise it is closed. Bytes trickled in slowly
      do not extend either.
    - At most ``max_connections_per_client`` open connections per client address and
      ``max_connections`` in all: one over is closed as soon as it is accepted.

    uvicorn itself closes only connections idle after a response (``keep_alive_timeout``)
    and answers 503 to everyone once too many connections are open, however idle.
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    per_client: dict[str, int] = {}
    header_timeout = limits.header_timeout
    body_timeout = limits.body_timeout

    class GuardedHttp(HttpToolsProtocol):
        _counted: str | None = None
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            address = self.client[0] if self.client else "-"
            if (
                per_client.get(address, 0) >= limits.max_connections_per_client
                or sum(per_client.values()) >= limits.max_connections
            ):
                transport.abort()
                return
            per_client[address] = per_client.get(address, 0) + 1
            self._counted = address
            self._arm(header_timeout)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._counted is not None:
                left = per_client.get(self._counted, 1) - 1
                if left > 0:
                    per_client[self._counted] = left
                else:
                    per_client.pop(self._counted, None)
                self._counted = None
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:  # a later request on a kept-alive connection
                self._arm(header_timeout)

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()
            self._arm(body_timeout)

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.abort()

    return GuardedHttp


def plain_http_off_loopback(host: str, *, tls: bool) -> bool:
    """Whether serving on ``host`` would carry keys and data in clear beyond this machine."""
    if tls or host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return True


def _without_query(record: logging.LogRecord) -> bool:
    """Drop the query string from an access-log line's path (a careless client puts names there).

    uvicorn's access records carry ``(client, method, path with query, version, status)``.
    """
    args = record.args
    if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
        record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
    return True


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)


def _list(value: Any) -> list[Any]:
    if value is None or isinstance(value, float):
        return []
    return list(value)


def serve(
    index_path: str | Path,
    config_path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    access_log: bool = True,
    docs: bool = False,
    ssl_certfile: str | Path | None = None,
    ssl_keyfile: str | Path | None = None,
) -> None:
    """Open the index writable and serve it until interrupted (one process, one worker).

    SIGTERM or SIGINT stop it cleanly (in-flight calls finish, the index is checkpointed);
    SIGHUP reloads the API keys from ``config_path``.
    """
    import os

    import uvicorn

    # DuckDB recreates the index's write-ahead log after every checkpoint, with this
    # process's umask: keep it (and every file the service makes) owner-only.
    os.umask(os.umask(0o077) | 0o077)
    package_logger = logging.getLogger("identmatch")
    if not package_logger.handlers:  # the service's own process: log to stderr like uvicorn
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        package_logger.addHandler(handler)
        package_logger.setLevel(logging.INFO)
    config = identmatch.ServiceConfig.load(config_path)
    if not config.keys:
        _logger.warning("no API keys in the config: every call but health will get 401")
    if plain_http_off_loopback(host, tls=ssl_certfile is not None):
        _logger.warning(
            "serving on %s without TLS: API keys and people's details cross the network in "
            "clear; pass --ssl-certfile/--ssl-keyfile or put a TLS proxy in front and serve "
            "on 127.0.0.1",
            host,
        )
    index = identmatch.Index.open(index_path)
    # Load for fast search in the background; /readyz says when it is done.
    threading.Thread(target=index.warm, name="identmatch-warm", daemon=True).start()
    try:
        settings = uvicorn.Config(
            create_app(index, config, docs=docs, config_path=config_path),
            ssl_certfile=str(ssl_certfile) if ssl_certfile is not None else None,
            ssl_keyfile=str(ssl_keyfile) if ssl_keyfile is not None else None,
            host=host,
            port=port,
            access_log=access_log,
            log_level="info",
            http=_guarded_protocol(config.limits),
            timeout_keep_alive=config.limits.keep_alive_timeout,  # type: ignore[arg-type]
            # The protocol caps connections itself; uvicorn's 503 is the last resort.
            limit_concurrency=config.limits.max_connections + 64,
            server_header=False,
        )
        # After uvicorn has configured its loggers, which it does when the Config is made.
        logging.getLogger("uvicorn.access").addFilter(_without_query)
        with contextlib.suppress(KeyboardInterrupt):  # SIGINT, re-raised after shutdown
            uvicorn.Server(settings).run()
    finally:
        index.close()
