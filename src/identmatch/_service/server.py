"""The HTTP service ([server] extra): the application, its search and record routes, serving.

Routes call the public API and hold no matching logic of their own; the review routes are in
:mod:`identmatch._service.review_routes`, the bodies in :mod:`identmatch._service.schemas`.
One process holds the index file
read-write (DuckDB allows one writer process); searches are CPU-bound Python of about a
millisecond, so they run on the event loop itself, where a thread hop would cost as much
as the search. Adds, removals and entity reads run in worker threads, so searches go on
(against the snapshot from before the change) while they run. Every search and change is
audited in the index file, committed before the response is sent.

Requests pass, in order: uvicorn's protocol with header and body timeouts and connection
caps (:func:`guarded_protocol`); the gate checking key, role and lookup budget before the
body is read (``identmatch._service.guard``); the body-size limit and the search fast path;
FastAPI. On SIGTERM or SIGINT the lifespan commits the audit queue and checkpoints the
index; SIGHUP reloads the keys.

Logs carry request paths (without query strings), status codes, key ids and error class
names: never record values, which travel only in request and response bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import identmatch
from identmatch._index.audit import AuditWriteError
from identmatch._service.guard import Gate
from identmatch._types import RECORD_ID_MAX_LENGTH
from identmatch.standardisers import is_missing

try:
    from fastapi import FastAPI, HTTPException, Query, Request
    from fastapi import Path as PathParam
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    msg = "identmatch serve needs the server extra: pip install 'identmatch[server]'"
    raise ImportError(msg) from exc

from identmatch._service.asgi import BodyLimit, Scope
from identmatch._service.auth import (
    Reader,
    Writer,
    check_limit,
    check_search_limits,
    gate_key,
    header,
)
from identmatch._service.connections import (
    guarded_protocol,
    plain_http_off_loopback,
    without_query,
)
from identmatch._service.review_routes import add_review_routes
from identmatch._service.schemas import (
    ERRORS,
    RECORD_ID_PATTERN,
    EntityRecord,
    EntityResponse,
    ExportedRecord,
    ExportResponse,
    HouseholdMember,
    Problem,
    RecordsRequest,
    RecordsResponse,
    RemoveResponse,
    SearchRequest,
    SearchResponse,
    Status,
)
from identmatch._service.state import ServiceState
from identmatch._service.workers import WorkerPool

__all__ = ["create_app", "plain_http_off_loopback", "serve"]

_logger = logging.getLogger("identmatch.server")

REFUSALS_EVERY = 10.0
"""Seconds between writes of the refusals counted in minutes now over (and seals)."""


def create_app(
    index: identmatch.Index,
    config: identmatch.ServiceConfig,
    *,
    docs: bool = False,
    config_path: str | Path | None = None,
    workers: int = 0,
    audit_key_file: str | Path | None = None,
) -> Any:
    """The ASGI application serving ``index`` (opened writable) under ``config``.

    Args:
        docs: serve the OpenAPI description and its pages (``/openapi.json``, ``/docs``,
            ``/redoc``); off by default, so a deployment does not advertise its API.
        config_path: where ``config`` came from; on SIGHUP its keys are read again (keys
            added, revoked or expired take effect without a restart; limits need one).
        workers: search worker processes (``identmatch._service.workers``), started with
            the application; until one is ready, searches run in this process.
        audit_key_file: the audit chain key's file, over the config's (default: the
            index's own key).

    Raises:
        ConfigError: the audit chain key is missing or not the trail's.
    """
    service = ServiceState(index, config, audit_key_file)
    limits = config.limits

    def reload() -> None:
        assert config_path is not None  # installed only when there is a file to read
        try:
            fresh = identmatch.ServiceConfig.load(config_path)
        except identmatch.ConfigError as exc:
            _logger.warning("SIGHUP: kept the running config; the file is unusable: %s", exc)
            return
        service.config = service.config.model_copy(
            update={"keys": fresh.keys, "sources": fresh.sources}
        )
        _logger.info("SIGHUP: reloaded the API keys (%d now) and source labels", len(fresh.keys))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        if config_path is not None and hasattr(signal, "SIGHUP"):  # not on Windows
            loop.add_signal_handler(signal.SIGHUP, reload)
        if workers:
            service.pool = WorkerPool(index, workers, loop, deadline=config.limits.worker_deadline)
            # Each worker's copy is read under the index's write lock; not on the loop.
            threading.Thread(
                target=service.pool.start, name="identmatch-workers", daemon=True
            ).start()
        keeper = asyncio.create_task(keep_trail())
        yield
        keeper.cancel()
        # Here, not after uvicorn.run returns: on SIGTERM uvicorn re-raises the signal once
        # it has shut down, which ends the process before any code after it runs.
        await run_in_threadpool(service.shutdown)

    async def keep_trail() -> None:
        """Write the refusals counted in minutes now over; seal the head each minute."""
        sealed = (0, "")
        while True:
            await asyncio.sleep(REFUSALS_EVERY)
            service.refusals.flush()
            seal = service.config.audit_seal_file
            if seal is not None and service.audit.head != sealed:
                try:
                    await run_in_threadpool(service.audit.seal_to, seal)
                    sealed = service.audit.head
                except identmatch.ConfigError as exc:
                    _logger.error("audit seal not written: %s", exc)

    app = FastAPI(
        title="identmatch",
        version=identmatch.__version__,
        description="Search a known-person index, add and remove records. Every call but "
        "the health checks needs an API key; searches and changes are audited.",
        lifespan=lifespan,
        responses=ERRORS,
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

    @app.exception_handler(AuditWriteError)
    async def unaudited(_: Request, exc: AuditWriteError) -> JSONResponse:
        # Logged where the write failed (identmatch.audit); nothing unaudited is answered.
        return JSONResponse({"detail": "audit trail unavailable"}, status_code=503)

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
        if service.pool is not None:
            return JSONResponse({"status": "ready", "workers": service.pool.ready})
        return JSONResponse({"status": "ready"})

    async def searched(request: SearchRequest, key: identmatch.ApiKey) -> bytes:
        """The JSON reply to a valid search within the limits, once its audit is committed."""
        people = request.persons()
        results, entity_ids = await service.search([p.fields() for p in people], request.top)
        if len(results) < 65_536:  # a person or two: cheaper than a hop to a thread
            remember_shown(service, key.id, results)
        else:
            await run_in_threadpool(remember_shown, service, key.id, results)
        futures = [
            service.audit.submit(
                key_id=key.id,
                action="search",
                purpose=request.purpose,
                fingerprint=service.audit.fingerprint(person.fields()),
                entity_ids=ids,
            )
            for person, ids in zip(people, entity_ids, strict=True)
        ]
        audit_ids = [await asyncio.wrap_future(f) for f in futures]
        # Spliced as bytes: the results were serialised once, here or in a worker.
        return search_reply(results, audit_ids)

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
        check_search_limits(request, limits)
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
        key = gate_key(scope)
        kind = header(scope, b"content-type")
        if key is None or kind is None or kind.split(";")[0].strip().lower() != "application/json":
            return None
        try:
            request = SearchRequest.model_validate(json.loads(body))
            check_search_limits(request, limits)
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
        check_limit("records", len(request.records), limits.max_batch, "records per request")
        outcomes, audit_id = await run_in_threadpool(
            service.upsert, request.records, key.id, request.purpose
        )
        _logger.info("key %s added %d record(s)", key.id, len(outcomes))
        return RecordsResponse(records=outcomes, audit_id=audit_id)

    @app.delete("/v1/records/{record_id}", tags=["records"], responses={404: {"model": Problem}})
    async def remove_record(
        record_id: Annotated[
            str,
            PathParam(min_length=1, max_length=RECORD_ID_MAX_LENGTH, pattern=RECORD_ID_PATTERN),
        ],
        key: Writer,
        purpose: Annotated[str | None, Query(max_length=500)] = None,
    ) -> RemoveResponse:
        """Remove a record (data retention); its entity is re-resolved and may split."""
        try:
            left, moved, audit_id = await run_in_threadpool(
                service.remove, record_id, key.id, purpose
            )
        except identmatch.SchemaError:
            raise HTTPException(404, "no such record") from None
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
        entity_id: Annotated[str, PathParam(min_length=1, max_length=40, pattern=r"^E\d+$")],
        key: Reader,
        purpose: Annotated[str, Query(min_length=3, max_length=500, pattern=r"\S")],
    ) -> EntityResponse:
        """The entity's records (names, dates of birth, postcode and address as the index
        holds them, and the date each was recorded), names and dates of birth, for a stated
        purpose. Audited.

        Only an entity the key's own search returned as a hit (``match`` or ``possible``)
        in the last ``entity_read_hours``; any other id gets 403, whether it exists or not.
        """
        if not service.shown.may_read(key.id, entity_id):
            await denied(http, key, 403)
            _logger.warning("key %s refused an entity its searches did not return", key.id)
            raise HTTPException(403, "forbidden")
        frame = await run_in_threadpool(service.index.entity, entity_id)
        if frame.empty:
            raise HTTPException(404, "no such entity")
        records = [
            EntityRecord(
                record_id=str(row["record_id"]),
                source=text_or_none(row["source"]),
                forename=text_or_none(row["forename"]),
                middle_names=text_or_none(row["middle_names"]),
                surname=text_or_none(row["surname"]),
                dob=text_or_none(row["dob"]),
                dob_given=text_or_none(row["dob_given"]),
                aliases=[str(a) for a in (list_or_empty(row["aliases"]))],
                postcode=text_or_none(row["postcode_std"]),
                address=text_or_none(row["address_std"]),
                town=text_or_none(row["town_std"]),
                recorded=text_or_none(row["recorded"]),
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
                name=text_or_none(row["name"]) or None,
                dob=text_or_none(row["dob"]),
                sources=[str(s) for s in list_or_empty(row["sources"])],
                postcode=text_or_none(row["postcode"]),
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

    @app.get("/v1/export", tags=["records"])
    async def export(
        key: Writer,
        purpose: Annotated[str, Query(min_length=3, max_length=500, pattern=r"\S")],
    ) -> ExportResponse:
        """Every record's id, entity, source and date recorded (role ``write``; audited as an
        export)."""
        frame = await run_in_threadpool(service.index.export)
        records = [
            ExportedRecord(
                record_id=str(r["record_id"]),
                entity_id=str(r["entity_id"]),
                source=text_or_none(r["source"]),
                recorded=text_or_none(r["recorded"]),
            )
            for r in frame.to_dict("records")
        ]
        audit_id = await asyncio.wrap_future(
            service.audit.submit(
                key_id=key.id, action="export", purpose=purpose, detail=f"{len(records)} records"
            )
        )
        return ExportResponse(records=records, audit_id=audit_id)

    add_review_routes(app, service, denied)

    guarded = BodyLimit(app, limits.max_body_bytes, {("POST", "/v1/search"): fast_search})
    # The key, its role and its budget are checked before the body is read.
    return Gate(
        guarded,
        lambda: service.config,
        service.refusals,
        service.lookups,
        service.entity_reads,
        service.decisions,
    )


def remember_shown(service: ServiceState, key_id: str, results: bytes) -> None:
    """Note what a search reply shows the key: its hits (readable entities), every record
    it shows (for decisions), and whether anyone was found (for the guessing alert)."""
    for result in json.loads(results):
        hits = [hit["entity_id"] for hit in result["hits"]]
        records = [
            record["record_id"]
            for shown in (*result["hits"], *result["weak"])
            for record in (*shown.get("records", ()), {"record_id": shown["best_record_id"]})
        ]
        service.shown.searched(key_id, hits=hits, records=records)


def search_reply(results: bytes, audit_ids: list[int]) -> bytes:
    """A :class:`SearchResponse` as JSON, from its results already serialised."""
    ids = json.dumps(audit_ids, separators=(",", ":")).encode()
    return b'{"results":' + results + b',"audit_ids":' + ids + b"}"


def text_or_none(value: Any) -> str | None:
    return None if is_missing(value) else str(value)


def list_or_empty(value: Any) -> list[Any]:
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
    workers: int = 0,
    audit_key_file: str | Path | None = None,
    quiet: bool = False,
) -> None:
    """Open the index writable and serve it until interrupted.

    ``quiet`` logs only warnings and errors (the alerts among them): no start-up or access
    lines.

    With ``workers``, searches are answered by that many worker processes, each holding a
    copy of the index in memory (see ``identmatch._service.workers``); everything else, and
    every write, stays in this process, which alone holds the file.

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
    if quiet:
        package_logger.setLevel(logging.WARNING)
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
    try:
        # The audit chain key is checked here, before anything else uses the index.
        app = create_app(
            index,
            config,
            docs=docs,
            config_path=config_path,
            workers=workers,
            audit_key_file=audit_key_file,
        )
    except BaseException:
        index.close()
        raise
    # Load for fast search in the background; /readyz says when it is done.
    threading.Thread(target=index.warm, name="identmatch-warm", daemon=True).start()
    try:
        settings = uvicorn.Config(
            app,
            ssl_certfile=str(ssl_certfile) if ssl_certfile is not None else None,
            ssl_keyfile=str(ssl_keyfile) if ssl_keyfile is not None else None,
            host=host,
            port=port,
            access_log=access_log and not quiet,
            log_level="warning" if quiet else "info",
            http=guarded_protocol(config.limits),
            timeout_keep_alive=config.limits.keep_alive_timeout,  # type: ignore[arg-type]
            # The protocol caps connections itself; uvicorn's 503 is the last resort.
            limit_concurrency=config.limits.max_connections + 64,
            server_header=False,
        )
        # After uvicorn has configured its loggers, which it does when the Config is made.
        logging.getLogger("uvicorn.access").addFilter(without_query)
        with contextlib.suppress(KeyboardInterrupt):  # SIGINT, re-raised after shutdown
            uvicorn.Server(settings).run()
    finally:
        index.close()
