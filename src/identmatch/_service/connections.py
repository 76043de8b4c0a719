"""Connections: uvicorn's protocol with timeouts and caps, the clear-text warning, and the
access log without query strings."""

from __future__ import annotations

import asyncio
import ipaddress
import logging

import identmatch

__all__ = ["address_block", "guarded_protocol", "plain_http_off_loopback", "without_query"]


def address_block(address: str) -> str:
    """The block a client address belongs to: its /24 (IPv4) or /64 (IPv6).

    One machine or one network easily holds many addresses of a block (aliases on one
    interface, an IPv6 /64 handed to one customer), so caps per address alone are cheap to
    get around. An address that is not an IP address (a Unix socket's) is its own block.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def guarded_protocol(limits: identmatch.ServiceLimits) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, with timeouts and caps so idle callers cannot starve others.

    - A connection must finish its request headers within ``header_timeout`` of opening
      (or of the first byte of a later request on it), and its body within
      ``body_timeout`` of the headers; otherwise it is closed. Bytes trickled in slowly
      do not extend either.
    - At most ``max_connections_per_client`` open connections per client address and
      ``max_connections_per_block`` per address block (:func:`address_block`): one over
      is closed as soon as it is accepted.
    - At most ``max_connections`` in all. When a connection would go over, an idle one
      (no request in hand: its headers not yet all sent, or kept alive between requests)
      is closed to make room, the oldest of the block holding the most connections: who
      holds many idle connections loses them first. Only when every open connection has
      a request in hand is the new one closed.

    uvicorn itself closes only connections idle after a response (``keep_alive_timeout``)
    and answers 503 to everyone once too many connections are open, however idle.
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    per_client: dict[str, int] = {}
    per_block: dict[str, int] = {}
    # Per block, its idle connections, oldest first (a dict keeps insertion order).
    idle: dict[str, dict[GuardedHttp, None]] = {}
    header_timeout = limits.header_timeout
    body_timeout = limits.body_timeout

    def open_count() -> int:
        return sum(per_block.values())

    def evict_idle() -> bool:
        """Close the oldest idle connection of the block with the most open; False: none."""
        blocks = [block for block, waiting in idle.items() if waiting]
        if not blocks:
            return False
        block = max(blocks, key=lambda b: per_block.get(b, 0))
        victim = next(iter(idle[block]))
        victim.drop()
        return True

    class GuardedHttp(HttpToolsProtocol):
        _counted: tuple[str, str] | None = None
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            address = self.client[0] if self.client else "-"
            block = address_block(address)
            if (
                per_client.get(address, 0) >= limits.max_connections_per_client
                or per_block.get(block, 0) >= limits.max_connections_per_block
                or (open_count() >= limits.max_connections and not evict_idle())
            ):
                transport.abort()
                return
            per_client[address] = per_client.get(address, 0) + 1
            per_block[block] = per_block.get(block, 0) + 1
            self._counted = (address, block)
            self._idle(True)
            self._arm(header_timeout)

        def drop(self) -> None:
            """Close at once and stop counting it (its connection_lost comes later)."""
            self._release()
            if not self.transport.is_closing():
                self.transport.abort()

        def _release(self) -> None:
            self._disarm()
            if self._counted is None:
                return
            self._idle(False)
            address, block = self._counted
            self._counted = None
            for counts, key in ((per_client, address), (per_block, block)):
                left = counts.get(key, 1) - 1
                if left > 0:
                    counts[key] = left
                else:
                    counts.pop(key, None)

        def _idle(self, waiting: bool) -> None:
            if self._counted is None:
                return
            block = self._counted[1]
            if waiting:
                idle.setdefault(block, {})[self] = None
            elif block in idle:
                idle[block].pop(self, None)
                if not idle[block]:
                    del idle[block]

        def connection_lost(self, exc: Exception | None) -> None:
            self._release()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._deadline is None:  # a later request on a kept-alive connection
                self._arm(header_timeout)

        def on_headers_complete(self) -> None:
            self._disarm()
            self._idle(False)  # a request in hand: never closed to make room
            super().on_headers_complete()
            self._arm(body_timeout)

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            cycle = self.cycle  # a pipelined request, if any, has just been started
            if not self.transport.is_closing() and (cycle is None or cycle.response_complete):
                self._idle(True)  # kept alive, waiting for another request

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
