"""Search worker processes: more cores for searches while one process holds the index file.

DuckDB lets one process hold an index file writable, and no other process open it meanwhile.
So the service process keeps the file, the keys, the budgets and the audit trail, and makes
every change; a search worker is a process of its own that only searches. It holds a copy of
the search state in memory (:class:`identmatch._index.snapshot.Snapshot`), sent to it over
its pipe when it starts (:meth:`identmatch.Index.follow`) and kept in step by every committed
change, sent down the same pipe in commit order before the write returns. A search sent
after a write is answered with that write applied, so a caller always reads its own writes.

A worker never sees an API key, writes nothing and never opens the index file; its pipe is
an anonymous socket pair no other process can reach, and it leaves the index key out of the
environment it is started with. It ignores SIGINT and SIGHUP (the service stops it) and ends
when its pipe closes, so it cannot outlive the service. A worker that dies is started again;
the searches it had in hand are answered by the service process itself, so no caller sees an
error. A worker that stops answering (stopped, or stuck) is treated the same way: a search it
has not answered within the deadline is answered by the service process, and a worker that
misses the deadline (on a search, or on the liveness check sent to it every half deadline) is
no longer counted ready, is killed and is started again. Each worker costs as much memory
as the loaded index (about 2 GiB a million records).

Run as ``python -m identmatch._service.workers FD`` by :class:`WorkerPool`, never by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from queue import SimpleQueue
from typing import Any

from pydantic import TypeAdapter

import identmatch
from identmatch._index.search import Searcher, search_settings
from identmatch._index.snapshot import Change, HeldTables, Snapshot, Tables
from identmatch._model.model import Model
from identmatch._service.schemas import SearchResult

__all__ = ["WorkerGone", "WorkerPool", "results_json", "worker_environment"]

_logger = logging.getLogger("identmatch.server")

RESULTS = TypeAdapter(list[SearchResult])

Found = tuple[bytes, list[list[str]]]
"""A search's results as JSON (the ``results`` of the reply) and each person's entity ids."""


class WorkerGone(Exception):
    """The worker ended before it answered; the caller searches in process instead."""


def results_json(found: Sequence[identmatch.Hits]) -> Found:
    """The ``results`` of a search reply, as JSON bytes, and each person's entity ids (the
    hits' and the weak candidates': every entity the reply shows).

    The one serialisation of search results, in process and in a worker alike.
    """
    body = RESULTS.dump_json(
        [
            SearchResult(
                hits=list(hits),
                weak=list(hits.weak),
                unread=list(hits.unread),
                notes=list(hits.notes),
            )
            for hits in found
        ]
    )
    return body, [hits.entity_ids for hits in found]


# ------------------------------------------------------------------- the worker process
def _serve(connection: Connection) -> None:
    """Answer the service process's messages until it says stop or the pipe closes."""
    kind, model_json, settings, date_order = connection.recv()
    assert kind == "init"
    searcher = Searcher(Model.model_validate_json(model_json), date_order, settings)
    snapshot: Snapshot | None = None
    received = HeldTables([])
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        kind = message[0]
        if kind == "search":
            _, job, people, top = message
            connection.send(_search(searcher, snapshot, job, people, top))
        elif kind == "change":
            assert snapshot is not None
            snapshot = snapshot.applied(message[1])
        elif kind == "column":
            received.columns[message[1]] = message[2]
        elif kind == "load":
            received = HeldTables(message[1])
        elif kind == "loaded":
            _, received.key_table, received.tf_rows = message
            snapshot = Snapshot.from_tables(received)
            received = HeldTables([])
            connection.send(("ready",))
        elif kind == "ping":
            connection.send(("pong",))
        elif kind == "stop":
            return


def _search(
    searcher: Searcher, snapshot: Snapshot | None, job: int, people: list[dict[str, Any]], top: int
) -> tuple[Any, ...]:
    if snapshot is None:  # pragma: no cover - the pool sends searches only once ready
        return ("failed", job, "NotLoaded")
    try:
        found = []
        for person in people:
            found.append(searcher.search(snapshot, searcher.query(person), top=top))
        body, ids = results_json(found)
    except identmatch.SchemaError as exc:
        return ("schema", job, str(exc))  # names fields and rules, never values
    except Exception as exc:
        _logger.error("a search failed in a worker: %s", type(exc).__name__)
        return ("failed", job, type(exc).__name__)
    return ("done", job, body, ids)


def main(argv: Sequence[str] | None = None) -> None:
    """The worker process: ``python -m identmatch._service.workers FD``."""
    args = list(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the service, which stops us
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s:     %(name)s: %(message)s")
    connection = Connection(int(args[0]))
    try:
        _serve(connection)
    finally:
        connection.close()


# ------------------------------------------------------------- the service process's side
class _Worker:
    """One worker process, its pipe, and the threads that write and read it."""

    def __init__(self, pool: WorkerPool, number: int) -> None:
        self.pool = pool
        self.number = number
        self.ready = False
        self.gone = False
        self.answered = time.monotonic()  # when it last sent anything
        self.pending: dict[int, asyncio.Future[Found]] = {}
        self.outbox: SimpleQueue[tuple[Any, ...] | None] = SimpleQueue()
        ours, theirs = socket.socketpair()
        environment = worker_environment(os.environ)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "identmatch._service.workers", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            env=environment,
        )
        theirs.close()
        self.connection = Connection(ours.detach())
        index = pool.index
        settings = search_settings(index.config)  # the index's own: one source for both
        self.outbox.put(("init", index.model.model_dump_json(), settings, index.search_order))
        threading.Thread(
            target=self._write, name=f"identmatch-worker-{number}-out", daemon=True
        ).start()
        threading.Thread(
            target=self._read, name=f"identmatch-worker-{number}-in", daemon=True
        ).start()
        # The state as it is now, then every change after it, in commit order.
        self.unfollow = index.follow(self._load, self._change)

    def _load(self, tables: Tables) -> None:
        self.outbox.put(("load", list(tables.names)))
        for name in dict.fromkeys(["seq", *tables.names]):
            self.outbox.put(("column", name, tables.column(name)))
        self.outbox.put(("loaded", tables.keys(), tables.tf()))

    def _change(self, change: Change) -> None:
        self.outbox.put(("change", change))

    def _write(self) -> None:
        while (message := self.outbox.get()) is not None:
            try:
                self.connection.send(message)
            except (OSError, ValueError):
                self._ended()
                return

    def _read(self) -> None:
        while True:
            try:
                message = self.connection.recv()
            except (EOFError, OSError, ValueError):
                self._ended()
                return
            self.answered = time.monotonic()
            kind = message[0]
            if kind == "pong":
                continue
            if kind == "ready":
                self.ready = True
                _logger.info("search worker %d is ready", self.number)
                continue
            future = self.pending.pop(message[1], None)
            if future is None:  # pragma: no cover - every job is answered once
                continue
            if kind == "done":
                result: Any = (message[2], message[3])
            elif kind == "schema":
                result = identmatch.SchemaError(message[2])
            else:
                result = RuntimeError(f"search failed in worker: {message[2]}")
            self.pool.loop.call_soon_threadsafe(_settle, future, result)

    def _ended(self) -> None:
        with self.pool.lock:
            if self.gone:
                return
            self.gone = True
            self.ready = False
        self.unfollow()
        self.outbox.put(None)
        with contextlib.suppress(OSError):
            self.connection.close()
        pending, self.pending = self.pending, {}
        for future in pending.values():
            self.pool.loop.call_soon_threadsafe(_settle, future, WorkerGone())
        self.pool.ended(self)

    def submit(self, job: int, people: list[dict[str, Any]], top: int) -> asyncio.Future[Found]:
        future: asyncio.Future[Found] = self.pool.loop.create_future()
        self.pending[job] = future
        self.outbox.put(("search", job, people, top))
        if self.gone:  # ended between the choice and now: nobody will answer
            self.pending.pop(job, None)
            future.set_exception(WorkerGone())
        else:
            self.pool.loop.call_later(self.pool.deadline, self._overdue, job)
        return future

    def _overdue(self, job: int) -> None:
        """The deadline of ``job`` passed (on the event loop): answer it elsewhere, and if it
        is still unanswered, the worker is stuck: stop it."""
        future = self.pending.pop(job, None)
        if future is None:
            return
        _settle(future, WorkerGone())
        self.freeze("a search")

    def freeze(self, what: str) -> None:
        """The worker missed its deadline: not ready from now on; kill it (it is restarted)."""
        with self.pool.lock:
            if self.gone or not self.ready:
                return
            self.ready = False
        _logger.warning(
            "search worker %d did not answer %s within %.1f s; stopping it",
            self.number,
            what,
            self.pool.deadline,
        )
        with contextlib.suppress(OSError):
            self.process.kill()  # SIGKILL ends a stopped process too; its pipe then closes

    def stop(self, timeout: float) -> None:
        self.ready = False
        self.outbox.put(("stop",))
        self.outbox.put(None)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def worker_environment(environment: Mapping[str, str]) -> dict[str, str]:
    """What a worker is started with: this process's environment without the index key."""
    return {k: v for k, v in environment.items() if not k.startswith("IDENTMATCH_INDEX_KEY")}


def _settle(future: asyncio.Future[Found], result: Any) -> None:
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


class WorkerPool:
    """``count`` search worker processes following ``index``; see the module's docstring."""

    RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)

    def __init__(
        self,
        index: identmatch.Index,
        count: int,
        loop: asyncio.AbstractEventLoop,
        *,
        deadline: float = 5.0,
    ) -> None:
        """``loop``: the service's event loop, where searches await their answers;
        ``deadline``: seconds a worker has to answer a search or a liveness check."""
        if count < 1:
            msg = f"a pool needs at least one worker, got {count}"
            raise identmatch.ConfigError(msg)
        self.index = index
        self.count = count
        self.lock = threading.Lock()
        self.workers: list[_Worker] = []
        self.closing = False
        self.restarts = 0
        self._jobs = itertools.count()
        self.loop = loop
        self.deadline = deadline

    def start(self) -> None:
        """Start the workers (each loads a copy of the index: seconds to a minute)."""
        for number in range(self.count):
            self._start(number)
        threading.Thread(target=self._watch, name="identmatch-worker-watch", daemon=True).start()

    def _watch(self) -> None:
        """Every half deadline, check each ready worker for life: one that has sent nothing
        for a whole deadline (not even the answer to the last check) is frozen."""
        while not self.closing:
            time.sleep(self.deadline / 2)
            now = time.monotonic()
            for worker in list(self.workers):
                if not worker.ready or worker.gone:
                    continue
                if now - worker.answered > self.deadline:
                    worker.freeze("a liveness check")
                else:
                    worker.outbox.put(("ping",))

    def _start(self, number: int) -> None:
        worker = _Worker(self, number)
        with self.lock:
            if self.closing:
                stop = True
            else:
                stop = False
                self.workers = [w for w in self.workers if w.number != number] + [worker]
        if stop:
            worker.stop(5.0)

    def ended(self, worker: _Worker) -> None:
        """A worker's pipe closed: start another unless the service is stopping."""
        if self.closing:
            return
        code = worker.process.wait()
        self.restarts += 1
        delay = self.RESTART_DELAYS[min(self.restarts - 1, len(self.RESTART_DELAYS) - 1)]
        _logger.warning(
            "search worker %d ended (exit code %s); starting another in %.0f s",
            worker.number,
            code,
            delay,
        )

        def again() -> None:
            time.sleep(delay)
            if not self.closing:
                self._start(worker.number)

        threading.Thread(target=again, name="identmatch-worker-restart", daemon=True).start()

    @property
    def ready(self) -> int:
        """How many workers are answering searches."""
        return sum(1 for w in self.workers if w.ready and not w.gone)

    def search(self, people: list[dict[str, Any]], top: int) -> asyncio.Future[Found] | None:
        """Hand a search to the least busy ready worker; None when none is ready."""
        ready = [w for w in self.workers if w.ready and not w.gone]
        if not ready:
            return None
        worker = min(ready, key=lambda w: len(w.pending))
        return worker.submit(next(self._jobs), people, top)

    def close(self, timeout: float = 5.0) -> None:
        """Stop every worker (waiting ``timeout`` seconds for each before killing it)."""
        with self.lock:
            self.closing = True
            workers = list(self.workers)
        for worker in workers:
            worker.unfollow()
            worker.stop(timeout)


if __name__ == "__main__":
    main()
