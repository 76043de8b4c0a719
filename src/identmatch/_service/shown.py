"""What each key has been shown: the entities it may read and the records it may decide on.

No key walks the index. A key may read an entity (``GET /v1/entities/{id}``) only when its
own search returned it as a hit (``match`` or ``possible``; a weak candidate is not enough),
and decide about two records (``POST /v1/decisions``) only when both were shown to it, in its
review queue or in its own search results, within ``entity_read_hours``. Nothing else
grants either: not an add, a removal, an entity read or a decision (whose reply names
entities). What was shown is kept in memory, per key; a restart forgets it (search again).

It also watches each key's searches: when most of a key's recent searches find nobody, the
key may be guessing names, and the log gets one alert line (the key id and counts only).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

__all__ = ["Shown"]

_logger = logging.getLogger("identmatch.server")

_WINDOW = 20
"""The searches (people searched) an alert looks back over."""
_EMPTY_SHARE = 0.8
"""The share of those finding nobody at "possible" or above that raises an alert."""
_ALERT_EVERY = 3_600.0
"""Seconds between alerts about one key."""
_PRUNE_EVERY = 600.0
"""Seconds between sweeps of one key's lapsed grants (memory stays about one window's worth)."""


class _Seen:
    """One key's grants (id -> when it lapses) and its recent searches' outcomes."""

    def __init__(self) -> None:
        self.entities: dict[str, float] = {}
        self.records: dict[str, float] = {}
        self.found: deque[bool] = deque(maxlen=_WINDOW)
        self.alerted = float("-inf")
        self.pruned = 0.0


class Shown:
    """Per key: the entities its searches returned, the records it was shown, and how many
    of its searches found anyone.

    Example::

        shown = Shown(24 * 3600)
        shown.searched("k1a2b3c4d", hits=["E000001"], records=["R1", "R2"])
        shown.may_read("k1a2b3c4d", "E000001")        # True
        shown.may_decide("k1a2b3c4d", ("R1", "R2"))   # True
    """

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._keys: dict[str, _Seen] = {}
        self._lock = threading.Lock()

    def _seen(self, key_id: str, now: float) -> _Seen:
        seen = self._keys.setdefault(key_id, _Seen())
        if now - seen.pruned >= _PRUNE_EVERY:  # drop what has lapsed, now and then
            seen.pruned = now
            for grants in (seen.entities, seen.records):
                for gone in [k for k, until in grants.items() if until < now]:
                    del grants[gone]
        return seen

    def searched(self, key_id: str, *, hits: Iterable[str], records: Iterable[str]) -> None:
        """One person searched by ``key_id``: the entities it returned as hits (readable; none:
        nobody found at "possible" or above) and the records the reply showed."""
        hits = list(hits)
        with self._lock:
            now = self._clock()
            seen = self._seen(key_id, now)
            until = now + self.seconds
            seen.entities.update(dict.fromkeys(hits, until))
            seen.records.update(dict.fromkeys(records, until))
            seen.found.append(bool(hits))
            empty = seen.found.count(False)
            alert = (
                len(seen.found) == _WINDOW
                and empty >= _EMPTY_SHARE * _WINDOW
                and now - seen.alerted >= _ALERT_EVERY
            )
            if alert:
                seen.alerted = now
        if alert:
            _logger.warning(
                "ALERT key %s: %d of its last %d searches found nobody; it may be guessing "
                "at people (see its audit entries)",
                key_id,
                empty,
                _WINDOW,
            )

    def queued(self, key_id: str, records: Iterable[str]) -> None:
        """Records ``key_id``'s review queue showed: it may decide about them."""
        with self._lock:
            now = self._clock()
            self._seen(key_id, now).records.update(dict.fromkeys(records, now + self.seconds))

    def may_read(self, key_id: str, entity_id: str) -> bool:
        """Whether ``key_id``'s own search returned the entity as a hit, recently enough."""
        with self._lock:
            seen = self._keys.get(key_id)
            until = seen.entities.get(entity_id) if seen is not None else None
            return until is not None and until >= self._clock()

    def may_decide(self, key_id: str, record_ids: Iterable[str]) -> bool:
        """Whether every one of the records was shown to ``key_id``, recently enough."""
        with self._lock:
            seen = self._keys.get(key_id)
            if seen is None:
                return False
            now = self._clock()
            return all(seen.records.get(r, float("-inf")) >= now for r in record_ids)
