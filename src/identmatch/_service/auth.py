"""Who is calling: the key behind a request, the role a route needs, the config's limits."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

import identmatch
from identmatch._service.asgi import Scope
from identmatch._service.guard import KEY_STATE
from identmatch._service.schemas import SearchRequest

__all__ = [
    "Auditor",
    "Reader",
    "Reviewer",
    "Writer",
    "caller",
    "check_limit",
    "check_search_limits",
    "gate_key",
    "header",
]

_logger = logging.getLogger("identmatch.server")


bearer = HTTPBearer(auto_error=False, description="An API key: Authorization: Bearer KEY")


def gate_key(scope: Scope) -> identmatch.ApiKey | None:
    """The key :class:`~identmatch._service.guard.Gate` authenticated for this request."""
    state = scope.get("state")
    key = state.get(KEY_STATE) if isinstance(state, dict) else None
    return key if isinstance(key, identmatch.ApiKey) else None


# Dependencies are async: a sync one would be run in a worker thread on every request.
async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> identmatch.ApiKey:
    """The key the gate authenticated (``credentials`` only documents the scheme)."""
    key = gate_key(request.scope)
    if key is None:
        client = request.client.host if request.client else "-"
        _logger.warning("%s %s: no valid key (from %s)", request.method, request.url.path, client)
        raise HTTPException(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})
    return key


async def writer(key: Annotated[identmatch.ApiKey, Depends(caller)]) -> identmatch.ApiKey:
    if key.role != "write":
        _logger.warning("key %s (role %s) refused a write", key.id, key.role)
        raise HTTPException(403, "forbidden")
    return key


async def auditor(key: Annotated[identmatch.ApiKey, Depends(caller)]) -> identmatch.ApiKey:
    if key.role != "audit":
        raise HTTPException(403, "forbidden")
    return key


async def reviewer(key: Annotated[identmatch.ApiKey, Depends(caller)]) -> identmatch.ApiKey:
    if key.role not in ("review", "write"):
        raise HTTPException(403, "forbidden")
    return key


Reader = Annotated[identmatch.ApiKey, Depends(caller)]
Reviewer = Annotated[identmatch.ApiKey, Depends(reviewer)]
Writer = Annotated[identmatch.ApiKey, Depends(writer)]
Auditor = Annotated[identmatch.ApiKey, Depends(auditor)]


def check_limit(field: str, value: int, limit: int, what: str) -> None:
    """422 naming ``field`` when ``value`` is over the config's ``limit``."""
    if value > limit:
        errors = [{"loc": ("body", field), "msg": f"at most {limit} {what}", "type": "too_long"}]
        raise RequestValidationError(errors)


def check_search_limits(request: SearchRequest, limits: identmatch.ServiceLimits) -> None:
    check_limit("people", len(request.persons()), limits.max_batch, "people per request")
    check_limit("top", request.top, limits.max_top, "entities per person")


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (names are lower case in ASGI), as Starlette reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
