"""Load benchmark of ``identmatch serve``: search throughput and latency over loopback HTTP.

``python -m benchmarks.service_load --index known.duckdb [--seconds 20] [--out DIR]``

The index is copied (the service writes audit entries and adds into its file), API keys are
made, and the service runs as its own process (``identmatch serve``, no access log). A
second process, the client, sends ``POST /v1/search`` for people sampled from the index
over keep-alive HTTP/1.1 connections, at concurrency 1, 8 and 32, each for ``--seconds``;
then at concurrency 8 again while a writer adds records (batches of ``--add-batch`` every
``--add-every`` seconds). Every phase is bounded in time and stops by itself. The client is
a minimal asyncio HTTP client so that its own CPU use stays small: on a 2-core host it
shares the machine with the server.

Writes ``service_load.json`` and ``SERVICE.md`` (a markdown section) to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import machine, sections

HERE = Path(__file__).parent
WORK = HERE / "_work" / "service"
TARGET = {"concurrency": 8, "searches_per_s": 300.0, "p99_ms": 50.0}


# ------------------------------------------------------------------------------ client
class _Connection:
    """One keep-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port, self.token = host, port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        payload = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _stats(latencies: list[float], failed: int, seconds: float) -> dict[str, Any]:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        if not ordered:
            return float("nan")
        return 1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))]

    return {
        "requests": len(ordered),
        "failed": failed,
        "seconds": round(seconds, 2),
        "per_s": round(len(ordered) / seconds, 1) if seconds else 0.0,
        "p50_ms": round(pct(0.50), 2),
        "p99_ms": round(pct(0.99), 2),
        "max_ms": round(1000 * ordered[-1], 2) if ordered else float("nan"),
        "mean_ms": round(1000 * statistics.fmean(ordered), 2) if ordered else float("nan"),
    }


async def _search_phase(
    host: str,
    port: int,
    token: str,
    bodies: list[bytes],
    concurrency: int,
    seconds: float,
    server_pid: int = 0,
) -> dict[str, Any]:
    latencies: list[float] = []
    failed = 0
    deadline = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        nonlocal failed
        connection = _Connection(host, port, token)
        i = offset
        try:
            while time.perf_counter() < deadline:
                body = bodies[i % len(bodies)]
                i += concurrency
                start = time.perf_counter()
                try:
                    status, _ = await connection.request("POST", "/v1/search", body)
                except (OSError, asyncio.IncompleteReadError):
                    status = 0
                    await connection.close()
                if status == 200:
                    latencies.append(time.perf_counter() - start)
                else:
                    failed += 1
        finally:
            await connection.close()

    began = time.perf_counter()
    cpu = _cpu_seconds(server_pid) if server_pid else 0.0
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    stats = _stats(latencies, failed, time.perf_counter() - began)
    if server_pid and latencies:
        # Server CPU per search tells CPU-bound from waiting (on audit commits, say).
        stats["server_cpu_ms_per_search"] = round(
            1000 * (_cpu_seconds(server_pid) - cpu) / len(latencies), 2
        )
    return stats


async def _writer(
    host: str, port: int, token: str, batches: list[bytes], every: float, stop: asyncio.Event
) -> dict[str, Any]:
    connection = _Connection(host, port, token)
    latencies: list[float] = []
    failed = 0
    began = time.perf_counter()
    for body in batches:
        if stop.is_set():
            break
        start = time.perf_counter()
        try:
            status, _ = await connection.request("POST", "/v1/records", body)
        except (OSError, asyncio.IncompleteReadError):
            status = 0
        if status == 200:
            latencies.append(time.perf_counter() - start)
        else:
            failed += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
    await connection.close()
    return _stats(latencies, failed, time.perf_counter() - began)


async def _client(plan: dict[str, Any]) -> dict[str, Any]:
    host, port = plan["host"], plan["port"]
    bodies = [b.encode() for b in plan["bodies"]]
    results: dict[str, Any] = {"search": {}}
    # Warm up: first searches fill the standardisers' caches.
    await _search_phase(host, port, plan["search_token"], bodies, 4, 2.0)
    for concurrency in plan["concurrency"]:
        results["search"][str(concurrency)] = await _search_phase(
            host, port, plan["search_token"], bodies, concurrency, plan["seconds"], plan["pid"]
        )
    stop = asyncio.Event()
    batches = [b.encode() for b in plan["add_bodies"]]
    writer = asyncio.create_task(
        _writer(host, port, plan["write_token"], batches, plan["add_every"], stop)
    )
    during = await _search_phase(
        host,
        port,
        plan["search_token"],
        bodies,
        plan["during_concurrency"],
        plan["seconds"],
        plan["pid"],
    )
    stop.set()
    results["during_adds"] = {"search": during, "add": await writer}
    return results


# ----------------------------------------------------------------------------- driver
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _queries(index: Path, n: int, seed: int) -> list[dict[str, Any]]:
    """People sampled from the index file (synthetic records), as search bodies take them."""
    import duckdb

    connection = duckdb.connect(str(index), read_only=True)
    try:
        rows = connection.execute(
            "SELECT forename, surname, dob_given, postcode_std FROM records "
            f"USING SAMPLE {int(n)} ROWS (reservoir, {int(seed)})"
        ).fetchall()
    finally:
        connection.close()
    people = []
    for forename, surname, dob, postcode in rows:
        person = {"forename": forename, "surname": surname, "dob": dob, "postcode": postcode}
        people.append({k: v for k, v in person.items() if v})
    return [p for p in people if p]


def _new_records(n_batches: int, size: int, seed: int) -> list[str]:
    from identmatch.testing import generate_records

    frame = generate_records(n_batches * size, seed=seed)
    keep = ["record_id", "forename", "middle_names", "surname", "dob", "sex", "postcode"]
    frame = frame[keep]
    frame["record_id"] = "bench-" + frame["record_id"].astype(str)
    bodies = []
    for start in range(0, len(frame), size):
        records = []
        for row in frame.iloc[start : start + size].to_dict("records"):
            records.append({k: v for k, v in row.items() if isinstance(v, str) and v})
        bodies.append(json.dumps({"records": records, "purpose": "load benchmark"}))
    return bodies


def _wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            msg = f"the service exited with code {server.returncode} before it was ready"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    msg = f"the service was not ready within {timeout:.0f} s"
    raise RuntimeError(msg)


def _wait_workers(port: int, workers: int, timeout: float) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
            if json.loads(reply.read()).get("workers") == workers:
                return
        time.sleep(0.5)
    msg = f"{workers} search workers were not ready within {timeout:.0f} s"
    raise RuntimeError(msg)


def _tree_cpu_seconds(pid: int) -> float:
    """CPU of the service process and its search workers."""
    total = _cpu_seconds(pid)
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(FileNotFoundError):
                total += _cpu_seconds(int(child))
    return total


def run(args: argparse.Namespace, workers: int = 0) -> dict[str, Any]:
    import identmatch

    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    index = work / "known.duckdb"
    for suffix in ("", ".wal"):
        Path(str(index) + suffix).unlink(missing_ok=True)
    started = time.perf_counter()
    shutil.copyfile(args.index, index)
    config = work / "service.toml"
    config.unlink(missing_ok=True)
    # One client process on one address runs the whole load: lift the per-key lookup budget
    # and the per-address connection cap, which exist to stop one caller taking everything.
    config.write_text(
        "[limits]\nlookups_per_minute = 1000000\nlookups_per_day = 100000000\n"
        "max_connections_per_client = 1000\n",
        encoding="utf-8",
    )
    _, search_token = identmatch.create_api_key(config, name="bench-search", role="search")
    _, write_token = identmatch.create_api_key(config, name="bench-write", role="write")
    people = _queries(index, args.queries, args.seed)
    bodies = [json.dumps({"purpose": "load benchmark", "person": p}) for p in people]
    n_batches = int(args.seconds / args.add_every) + 2
    plan = {
        "host": "127.0.0.1",
        "port": _free_port(),
        "bodies": bodies,
        "add_bodies": _new_records(n_batches, args.add_batch, args.seed),
        "add_every": args.add_every,
        "concurrency": args.concurrency,
        "during_concurrency": 8,
        "seconds": args.seconds,
        "search_token": search_token,
        "write_token": write_token,
    }
    command = str(Path(sys.executable).with_name("identmatch"))
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(
        [
            *(command, "serve", "--index", str(index), "--config", str(config)),
            *("--port", str(plan["port"]), "--no-access-log", "--workers", str(workers)),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_ready(plan["port"], server, timeout=args.ready_timeout)
        if workers:
            _wait_workers(plan["port"], workers, timeout=args.ready_timeout)
        ready_s = time.perf_counter() - started
        plan["pid"] = server.pid
        plan_file = work / "plan.json"
        plan_file.write_text(json.dumps(plan), encoding="utf-8")
        out_file = work / "client.json"
        cpu_before = _tree_cpu_seconds(server.pid)
        client_began = time.perf_counter()
        budget = args.seconds * (len(args.concurrency) + 1) + 120
        subprocess.run(
            [
                *(sys.executable, "-m", "benchmarks.service_load"),
                *("--client", str(plan_file), "--client-out", str(out_file)),
            ],
            check=True,
            timeout=budget,
        )
        wall = time.perf_counter() - client_began
        server_cpu = _tree_cpu_seconds(server.pid) - cpu_before
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    results = json.loads(out_file.read_text(encoding="utf-8"))
    logged = (work / "server.log").read_text(encoding="utf-8", errors="replace")
    audit_line = [line for line in logged.splitlines() if "audit commits:" in line]
    results["audit_commits"] = (
        audit_line[-1].split("audit commits:", 1)[1].strip() if audit_line else ""
    )
    with identmatch.Index.open(index, read_only=True) as opened:
        n_records = len(opened)
    results.update(
        {
            "index": str(args.index),
            "records": n_records,
            "queries": len(bodies),
            "seconds_per_phase": args.seconds,
            "add_batch": args.add_batch,
            "add_every_s": args.add_every,
            "startup_s": round(ready_s, 1),
            "workers": workers,
            "server_cpu_share": round(server_cpu / wall, 2) if wall else None,
            "machine": machine.machine(),
            "source": machine.source(),
        }
    )
    return results


def markdown(results: dict[str, Any]) -> str:
    """The results as a markdown section for RESULTS.md."""
    lines = [
        "## HTTP service: search under load",
        "",
        f"`identmatch serve --workers {results.get('workers', 0)}` on an index of "
        f"{results['records']:,} records (after the adds), "
        f"one server process ({results.get('workers', 0)} search workers) and one client "
        "process on loopback, "
        f"{results['machine']['cores (nproc)']} cores ({results['machine']['CPU']}). "
        f"{results['queries']:,} distinct people sampled from the index, "
        f"{results['seconds_per_phase']} s per phase; every search audited. "
        f"Service ready {results['startup_s']} s after start (copy and load included).",
        "",
        "| phase | concurrency | searches/s | p50 ms | p99 ms | max ms | failed "
        "| server CPU ms/search |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for concurrency, row in results["search"].items():
        lines.append(
            f"| search | {concurrency} | {row['per_s']} | {row['p50_ms']} | {row['p99_ms']} | "
            f"{row['max_ms']} | {row['failed']} | {row.get('server_cpu_ms_per_search', '')} |"
        )
    during = results["during_adds"]
    row = during["search"]
    lines.append(
        f"| search while adding | 8 | {row['per_s']} | {row['p50_ms']} | {row['p99_ms']} | "
        f"{row['max_ms']} | {row['failed']} | {row.get('server_cpu_ms_per_search', '')} |"
    )
    add = during["add"]
    lines.append(
        f"| add ({results['add_batch']} records per call, every {results['add_every_s']} s) "
        f"| 1 | {add['per_s']} calls/s | {add['p50_ms']} | {add['p99_ms']} | {add['max_ms']} "
        f"| {add['failed']} | |"
    )
    at = results["search"].get(str(TARGET["concurrency"]))
    if at is not None:
        met = (
            at["per_s"] >= TARGET["searches_per_s"]
            and at["p99_ms"] <= TARGET["p99_ms"]
            and at["failed"] == 0
        )
        lines += [
            "",
            f"Target at concurrency {TARGET['concurrency']}: >= {TARGET['searches_per_s']:.0f} "
            f"searches/s with p99 <= {TARGET['p99_ms']:.0f} ms and no failed request: "
            f"**{'met' if met else 'not met'}** ({at['per_s']} searches/s, p99 {at['p99_ms']} ms, "
            f"{at['failed']} failed). Server CPU use over the run: "
            f"{results['server_cpu_share']} cores. Audit commits over the run: "
            f"{results.get('audit_commits') or 'not logged'}.",
        ]
    lines += ["", f"Source: {results['source']}", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.service_load", description=__doc__)
    parser.add_argument("--index", type=Path, help="an index file built by identmatch")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--queries", type=int, default=2000, help="distinct people to search")
    parser.add_argument("--add-batch", type=int, default=20, help="records per add call")
    parser.add_argument("--add-every", type=float, default=1.0, help="seconds between adds")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[0],
        help="search worker counts to run the service with, one after another",
    )
    parser.add_argument("--work", type=Path, default=WORK, help="copy of the index, logs")
    parser.add_argument("--out", type=Path, default=WORK, help="where to write the results")
    parser.add_argument("--ready-timeout", type=float, default=600.0)
    parser.add_argument(
        "--publish", action="store_true", help="also write the section into RESULTS.md"
    )
    parser.add_argument("--client", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--client-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client is not None:
        plan = json.loads(args.client.read_text(encoding="utf-8"))
        results = asyncio.run(_client(plan))
        args.client_out.write_text(json.dumps(results), encoding="utf-8")
        return
    if args.index is None:
        parser.error("--index is required")
    started = time.perf_counter()
    runs = [run(args, workers) for workers in args.workers]
    args.out.mkdir(parents=True, exist_ok=True)
    payload = runs[0] if len(runs) == 1 else {"runs": runs}
    (args.out / "service_load.json").write_text(json.dumps(payload, indent=2), encoding="utf-8")
    texts = [markdown(results) for results in runs]
    heads, bodies = zip(*(text.partition("\n\n")[::2] for text in texts), strict=True)
    body = "\n\n".join(
        f"### `--workers {r['workers']}`\n\n{b}" if len(runs) > 1 else b
        for r, b in zip(runs, bodies, strict=True)
    )
    text = f"{heads[0]}\n\n{body}"
    (args.out / "SERVICE.md").write_text(text, encoding="utf-8")
    print(text)
    if args.publish:
        command = "python -m benchmarks.service_load " + " ".join(argv or sys.argv[1:])
        provenance = sections.provenance(command, time.perf_counter() - started)
        section = "\n\n".join([heads[0], provenance, body])
        print(f"wrote {sections.publish('service', section)}")


if __name__ == "__main__":
    main()
