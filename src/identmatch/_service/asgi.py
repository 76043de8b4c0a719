"""ASGI plumbing shared by the service's layers: message types, the body limit with the
search fast path, and replies sent outside FastAPI (errors logged by class name only)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from identmatch._index.audit import AuditWriteError

__all__ = [
    "API_HEADERS",
    "ASGIApp",
    "BodyLimit",
    "FastPath",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "guarded",
    "send_json",
    "too_large",
]

_logger = logging.getLogger("identmatch.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


FastPath = Callable[[Scope, bytes], Awaitable[bytes | None]]
"""A route answered outside FastAPI: the reply body (200, JSON), or None to let FastAPI answer."""


class BodyLimit:
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
            await too_large(send)
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
                await too_large(send)
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
            await guarded(self.app, scope, replay, send)
            return

        async def offered(scope: Scope, receive: Receive, send: Send) -> None:
            reply = await handler(scope, body)
            if reply is None:
                await self.app(scope, receive, send)
            else:
                await send_json(send, 200, reply)

        await guarded(offered, scope, replay, send)


async def guarded(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
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
                message["headers"] = [*message.get("headers", ()), *API_HEADERS]
        await send(message)

    try:
        await app(scope, receive, watch)
    except AuditWriteError:  # logged where it failed: a call that cannot be audited is refused
        if not started:
            await send_json(send, 503, b'{"detail":"audit trail unavailable"}')
    except Exception as exc:
        where = f"{scope.get('method')} {scope.get('path')}"
        _logger.error("%s failed: %s", where, type(exc).__name__)
        if not started:
            await send_json(send, 500, b'{"detail":"internal error"}')


API_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


async def too_large(send: Send) -> None:
    await send_json(send, 413, b'{"detail":"request body too large"}', close=True)


async def send_json(send: Send, status: int, body: bytes, *, close: bool = False) -> None:
    """A whole JSON response sent at the ASGI level (outside FastAPI's handlers)."""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
