"""Connections: uvicorn's protocol with timeouts and caps, the clear-text warning, and the
access log without query strings."""

from __future__ import annotations

import asyncio
import ipaddress
import logging

import identmatch

__all__ = ["guarded_protocol", "plain_http_off_loopback", "without_query"]


def guarded_protocol(limits: identmatch.ServiceLimits) -> type[asyncio.Protocol]:
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


def without_query(record: logging.LogRecord) -> bool:
    """Drop the query string from an access-log line's path (a careless client puts names there).

    uvicorn's access records carry ``(client, method, path with query, version, status)``.
    """
    args = record.args
    if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
        record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
    return True
