"""What the service checks before it reads a request: the key, its role and its rate.

:class:`Gate` sits in front of the application as plain ASGI. For every ``/v1/`` call it
checks the ``Authorization`` header, the key's role for the route and the key's lookup
budget before a byte of the body is read; a refusal (401, 403, 429) is answered at once and
audited with the key id (``-`` when there is no valid key), the route and the client address
(counted per address per minute: ``identmatch._service.refusals``).

Budgets are token buckets per key (:class:`RateLimiter`), sized by default for a case
worker's day and set per key in the config: a person searched or an entity read spends one
lookup, a decision one of the decisions budget, so a key cannot walk the index by
enumerating searches, ids or pairs. A key past its budget is logged (its id only) once per
spell of refusals.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from identmatch._service.asgi import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from identmatch._service.config import ApiKey, ServiceConfig
    from identmatch._service.refusals import Refusals

__all__ = ["KEY_STATE", "Gate", "RateLimiter", "Refusal", "bearer_token", "describe", "route_of"]


_logger = logging.getLogger("identmatch.server")

KEY_STATE = "identmatch.api_key"
"""Where the gate leaves the authenticated key in the request scope's ``state``."""

_ROUTES = (
    ("POST", re.compile(r"/v1/search"), "/v1/search", "search"),
    ("GET", re.compile(r"/v1/entities/[^/]+"), "/v1/entities/{entity_id}", "search"),
    ("POST", re.compile(r"/v1/records"), "/v1/records", "write"),
    ("DELETE", re.compile(r"/v1/records/[^/]+"), "/v1/records/{record_id}", "write"),
    ("GET", re.compile(r"/v1/export"), "/v1/export", "write"),
    ("GET", re.compile(r"/v1/audit"), "/v1/audit", "audit"),
    ("GET", re.compile(r"/v1/review/queue"), "/v1/review/queue", "review"),
    ("POST", re.compile(r"/v1/decisions"), "/v1/decisions", "review"),
    ("POST", re.compile(r"/v1/decisions/[^/]+/undo"), "/v1/decisions/{id}/undo", "review"),
    ("GET", re.compile(r"/v1/decisions"), "/v1/decisions", "review"),
    ("GET", re.compile(r"/v1/model"), "/v1/model", "search"),
    ("GET", re.compile(r"/v1/charts/match-weights"), "/v1/charts/match-weights", "search"),
    ("GET", re.compile(r"/v1/charts/parameters"), "/v1/charts/parameters", "search"),
    ("POST", re.compile(r"/v1/charts/waterfall"), "/v1/charts/waterfall", "search"),
    ("GET", re.compile(r"/v1/session"), "/v1/session", "any"),
)
_MAY = {
    "search": {"search", "review", "write"},
    "review": {"review", "write"},
    "write": {"write"},
    "audit": {"audit"},
    "any": {"search", "review", "write", "audit"},
}
"""The key roles each route's role admits: write includes review, review includes search;
audit is on its own; any valid key may ask who it is."""


def route_of(method: str, path: str) -> tuple[str, str | None]:
    """The route template of a request and the role it needs (None: any valid key).

    Templates, never raw paths, go into the audit trail: a careless client may put a name
    where an id belongs.
    """
    for verb, pattern, template, role in _ROUTES:
        if method == verb and pattern.fullmatch(path):
            return template, role
    return "other", None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header (the scheme in any case)."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if not scheme or not token or scheme.lower() != "bearer":
        return None
    return token


class RateLimiter:
    """Token buckets per key: each ``(capacity, seconds)`` refills ``capacity`` per ``seconds``.

    ``per_key`` gives a key's own buckets (a budget set for it in the config, read again at
    every take, so a reload applies at once); without it every key has ``buckets``.

    Example::

        limiter = RateLimiter([(600, 60), (50_000, 86_400)])
        wait = limiter.take("k1a2b3c4d", 3)   # None: spent; else seconds until it would fit
    """

    def __init__(
        self,
        buckets: Sequence[tuple[int, float]],
        *,
        clock: Callable[[], float] = time.monotonic,
        per_key: Callable[[str], Sequence[tuple[int, float]]] | None = None,
    ) -> None:
        self._default = [(int(capacity), float(period)) for capacity, period in buckets]
        self._per_key = per_key
        self._clock = clock
        self._levels: dict[str, tuple[list[float], float]] = {}
        self._lock = threading.Lock()

    def _buckets(self, key_id: str) -> list[tuple[float, float]]:
        """``(capacity, refill per second)`` of each of the key's buckets."""
        chosen = self._per_key(key_id) if self._per_key is not None else self._default
        return [(float(capacity), float(capacity) / period) for capacity, period in chosen]

    def take(self, key_id: str, n: int = 1) -> float | None:
        """Spend ``n`` from every bucket of ``key_id``; or, if one cannot, spend nothing.

        Returns:
            None when spent; otherwise the seconds until all buckets would hold ``n``
            (infinite when ``n`` is over a bucket's capacity).
        """
        with self._lock:
            buckets = self._buckets(key_id)
            now = self._clock()
            levels, then = self._levels.get(key_id, ([c for c, _ in buckets], now))
            if len(levels) != len(buckets):  # pragma: no cover - one limiter, one shape
                levels = [c for c, _ in buckets]
            levels = [
                min(capacity, level + rate * (now - then))
                for level, (capacity, rate) in zip(levels, buckets, strict=True)
            ]
            wait = 0.0
            for level, (capacity, rate) in zip(levels, buckets, strict=True):
                if n > capacity:
                    wait = float("inf")
                elif level < n:
                    wait = max(wait, (n - level) / rate)
            if wait == 0.0:
                levels = [level - n for level in levels]
            self._levels[key_id] = (levels, now)
        return None if wait == 0.0 else wait

    def refund(self, key_id: str, n: int = 1) -> None:
        """Give back ``n`` spent by :meth:`take` (up to each bucket's capacity)."""
        with self._lock:
            found = self._levels.get(key_id)
            if found is not None:
                levels, then = found
                buckets = self._buckets(key_id)
                self._levels[key_id] = (
                    [
                        min(capacity, level + n)
                        for level, (capacity, _) in zip(levels, buckets, strict=True)
                    ],
                    then,
                )


class Refusal(NamedTuple):
    """A call refused before its body was read."""

    status: int
    detail: str
    headers: tuple[tuple[bytes, bytes], ...] = ()


class Gate:
    """ASGI middleware: authenticate, authorise and rate-limit ``/v1/`` calls before the body."""

    def __init__(
        self,
        app: ASGIApp,
        config: Callable[[], ServiceConfig],
        refusals: Refusals,
        lookups: RateLimiter,
        entity_reads: RateLimiter,
        decisions: RateLimiter,
    ) -> None:
        """Guard ``app``; ``config`` gives the current config (it may be reloaded)."""
        self.app = app
        self.config = config
        self.refusals = refusals
        self.lookups = lookups
        self.entity_reads = entity_reads
        self.decisions = decisions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        refusal, key = self.check(scope)
        if refusal is None:
            # The one authentication: the routes read the key from here, never from the header.
            scope.setdefault("state", {})[KEY_STATE] = key
            await self.app(scope, receive, send)
            return
        await self.refuse(scope, send, refusal, key)

    def check(self, scope: Scope) -> tuple[Refusal | None, ApiKey | None]:
        """Why the call is refused (None: it may go on), and its key if it has a valid one."""
        method, path = str(scope["method"]), str(scope["path"])
        template, role = route_of(method, path)
        token = bearer_token(_header(scope, b"authorization"))
        key = self.config().authenticate(token) if token else None
        if key is None:
            return Refusal(401, "unauthorized", ((b"www-authenticate", b"Bearer"),)), None
        if key.role not in _MAY.get(role or "", {"search", "review", "write", "audit"}):
            return Refusal(403, "forbidden"), key
        if template == "/v1/entities/{entity_id}":
            wait = self.entity_reads.take(key.id)
            if wait is None and (wait := self.lookups.take(key.id)) is not None:
                self.entity_reads.refund(key.id)  # nothing was read
            if wait is not None:
                return _too_many(wait), key
        elif template == "/v1/search":
            wait = self.lookups.take(key.id)
            if wait is not None:
                return _too_many(wait), key
        elif (template == "/v1/decisions" and method == "POST") or template.endswith("/undo"):
            wait = self.decisions.take(key.id)
            if wait is not None:
                return _too_many(wait), key
        return None, key

    async def refuse(self, scope: Scope, send: Send, refusal: Refusal, key: ApiKey | None) -> None:
        """Answer ``refusal`` (JSON, connection kept) once it is audited (a 401 or 403 counted)."""
        await self.refusals.record(scope, key.id if key is not None else "-", refusal.status)
        body = b'{"detail":"' + refusal.detail.encode() + b'"}'
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *refusal.headers,
        ]
        await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def describe(scope: Scope, status: int) -> str:
    """``401 POST /v1/search from 127.0.0.1``: a refused call for the audit trail, no values."""
    template, _ = route_of(str(scope["method"]), str(scope["path"]))
    client = scope.get("client")
    where = str(client[0]) if client else "-"
    return f"{status} {scope['method']} {template} from {where}"


def _too_many(wait: float) -> Refusal:
    retry = "86400" if wait == float("inf") else str(max(1, int(wait + 0.999)))
    return Refusal(429, "too many requests", ((b"retry-after", retry.encode()),))


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (names are lower case in ASGI)."""
    for key, value in scope.get("headers") or ():
        if key == name:
            return str(value.decode("latin-1"))
    return None
