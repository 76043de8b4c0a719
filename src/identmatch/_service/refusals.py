"""Refused calls in the audit trail, counted so that a flood cannot grow the trail.

A 401 or 403 is counted per client address (and key id, ``-`` without a valid key) per
minute: one ``denied`` entry per address per minute holds the count, by status and route
template, written once the minute is over (and at shutdown). A 429 is written at once, once
per key per minute of refusals. However many calls an unauthenticated client makes, the
trail grows by at most one entry per address per minute; and past
:data:`MAX_ADDRESSES` addresses in one minute, the rest share one entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from identmatch._index.audit import AuditWriteError
from identmatch._service.asgi import Scope
from identmatch._service.guard import describe, route_of

if TYPE_CHECKING:
    from identmatch._index.audit import AuditLog

__all__ = ["MAX_ADDRESSES", "Refusals"]

_logger = logging.getLogger("identmatch.server")

_AUDIT_429_EVERY = 60.0
"""Seconds between audit entries for one key's refused (429) calls: one per spell, not per call."""
MAX_ADDRESSES = 10_000
"""Client addresses counted apart in one minute; refusals from any more share one entry."""


class Refusals:
    """Audits refused calls: 401 and 403 counted per address per minute, 429 once per key
    per minute.

    Example::

        refusals = Refusals(audit)
        await refusals.record(scope, "-", 401)   # counted; written when the minute is over
        refusals.flush()                         # the minutes that are over, now
    """

    def __init__(self, audit: AuditLog, *, clock: Callable[[], float] = time.time) -> None:
        self.audit = audit
        self._clock = clock
        self._last_429: dict[str, float] = {}
        self._counts: dict[tuple[int, str, str], Counter[str]] = {}
        """(minute, address, key id) -> refusals by ``STATUS METHOD ROUTE``."""
        self._lock = threading.Lock()

    async def record(self, scope: Scope, key_id: str, status: int) -> None:
        """Audit one refusal (``key_id`` ``-`` without a valid key).

        A 429 is committed before this returns; a 401 or 403 is counted, and written with
        the others from its address when its minute is over.
        """
        if status == 429:
            now = time.monotonic()
            if now - self._last_429.get(key_id, -_AUDIT_429_EVERY) < _AUDIT_429_EVERY:
                return
            self._last_429[key_id] = now
            # An alert for whoever watches the log: the key id and the route, no values.
            _logger.warning(
                "ALERT key %s hit its budget (%s); it is refused until the budget refills",
                key_id,
                describe(scope, status).split(" from ")[0],
            )
            entry = self.audit.submit(
                key_id=key_id, action="denied", detail=describe(scope, status)
            )
            with contextlib.suppress(AuditWriteError):  # logged; the call is refused anyway
                await asyncio.wrap_future(entry)
            return
        template, _ = route_of(str(scope["method"]), str(scope["path"]))
        client = scope.get("client")
        address = str(client[0]) if client else "-"
        minute = int(self._clock() // 60)
        with self._lock:
            slot = (minute, address, key_id)
            if slot not in self._counts and len(self._counts) >= MAX_ADDRESSES:
                slot = (minute, "other addresses", key_id)
            self._counts.setdefault(slot, Counter())[f"{status} {scope['method']} {template}"] += 1
        self.flush()

    def flush(self, *, everything: bool = False) -> list[Future[int]]:
        """Write the counts of the minutes that are over (``everything``: all of them)."""
        minute = int(self._clock() // 60)
        with self._lock:
            due = [slot for slot in self._counts if everything or slot[0] < minute]
            taken = [(slot, self._counts.pop(slot)) for slot in due]
        futures = []
        for (start, address, key_id), counts in taken:
            at = datetime.fromtimestamp(start * 60, UTC).strftime("%Y-%m-%dT%H:%MZ")
            parts = ", ".join(f"{what} x{n}" for what, n in sorted(counts.items()))
            detail = f"{counts.total()} refused from {address} in the minute {at}: {parts}"
            futures.append(self.audit.submit(key_id=key_id, action="denied", detail=detail))
        return futures
