"""Connection caps under a flood from many addresses: the service under uvicorn on 127.0.0.1.

Every 127.x.y.z address is loopback on Linux, so a test binds its sockets to as many client
addresses (and address blocks) as it likes: 127.0.0.2-34 are 33 addresses of one /24 block,
127.0.1.1 is an address of another.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from identmatch._service.connections import address_block
from test_server_hardening import (  # noqa: F401
    LIMITS,
    Server,
    built,
    closed_within,
    known_row,
    person_of,
    records,
    start,
)

pytestmark = pytest.mark.slow


def connect(server: Server, source: str) -> socket.socket:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
    return sock


def caller_is_served(server: Server, source: str, records: pd.DataFrame) -> httpx.Client:  # noqa: F811
    """A search from ``source`` on a new connection, answered within two seconds; the
    connection is kept open (idle) in the client returned."""
    caller = httpx.Client(transport=httpx.HTTPTransport(local_address=source), base_url=server.url)
    began = time.monotonic()
    body = {"purpose": "case 1", "person": person_of(known_row(records))}
    reply = caller.post(
        "/v1/search", json=body, headers={"Authorization": f"Bearer {server.reader}"}
    )
    assert reply.status_code == 200, reply.text
    assert time.monotonic() - began < 2.0
    return caller


def test_idle_connections_from_many_addresses_do_not_lock_out_others(
    tmp_path: Path,
    built: Path,  # noqa: F811
    records: pd.DataFrame,  # noqa: F811
) -> None:
    """33 addresses of one /24 holding 32 idle connections each (1,056, over the 1,000 in
    all): the block holds at most 128 of them and a caller from another block is served."""
    config = LIMITS + "header_timeout = 60.0\n"  # idle connections are not timed out here
    server = start(tmp_path, built, records, config_text=config)
    flood: list[socket.socket] = []
    try:
        for host in range(2, 35):
            flood += [connect(server, f"127.0.0.{host}") for _ in range(32)]
        for _ in range(3):
            caller_is_served(server, "127.0.1.1", records).close()
        still_open = [sock for sock in flood if not closed_within(sock, 0.01)]
        assert len(still_open) == 128  # the block's cap; the first 128 to connect
        assert still_open == flood[:128]
    finally:
        for sock in flood:
            sock.close()
        server.stop()


def test_at_the_cap_idle_connections_make_room_and_active_ones_stay(
    tmp_path: Path,
    built: Path,  # noqa: F811
    records: pd.DataFrame,  # noqa: F811
) -> None:
    """At ``max_connections``, a new caller is served by closing an idle connection of the
    block holding the most; a request in hand is never closed; and when every connection
    has one in hand the newcomer is refused."""
    config = LIMITS + (
        "header_timeout = 60.0\nbody_timeout = 60.0\nmax_connections = 30\n"
        "lookups_per_minute = 100000\n"
    )
    server = start(tmp_path, built, records, config_text=config)
    body = (
        b'{"purpose": "case 1", "person": {"forename": "Ann", "surname": "Smith", '
        b'"dob": "1990-01-02"}}'
    )
    head = (
        f"POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.reader}"
        f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    sockets: list[socket.socket] = []
    callers: list[httpx.Client] = []
    try:
        active = connect(server, "127.0.2.1")
        active.sendall(head + body[:10])  # headers whole, the body on its way: in hand
        many = [connect(server, "127.0.3.1") for _ in range(20)]
        few = [connect(server, "127.0.4.1") for _ in range(9)]
        sockets += [active, *many, *few]
        many[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers unfinished: idle
        time.sleep(0.2)
        for n in range(5):  # each a new connection, kept open: each makes room anew
            callers.append(caller_is_served(server, f"127.0.5.{n + 1}", records))
        assert all(closed_within(sock, 0.05) for sock in many[:5])  # the oldest of the most
        assert not any(closed_within(sock, 0.05) for sock in many[5:] + few)
        active.sendall(body[10:])
        reply = active.recv(65536)
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]

        # Every connection with a request in hand: a newcomer is refused, nobody is closed.
        for caller in callers:
            caller.close()
        active.close()
        busy = many[5:] + few + [connect(server, "127.0.7.1") for _ in range(6)]
        sockets += busy[-6:]
        for sock in busy:
            sock.sendall(head)
        time.sleep(0.2)
        newcomer = connect(server, "127.0.6.1")
        sockets.append(newcomer)
        assert closed_within(newcomer, 1.0)
        assert not any(closed_within(sock, 0.05) for sock in busy)
    finally:
        for caller in callers:
            caller.close()
        for sock in sockets:
            sock.close()
        server.stop()


@pytest.mark.parametrize(
    ("address", "block"),
    [
        ("127.0.0.34", "127.0.0.0/24"),
        ("203.0.113.200", "203.0.113.0/24"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.0/24"),  # IPv4 reached over an IPv6 socket
        ("/run/identmatch.sock", "/run/identmatch.sock"),
    ],
)
def test_address_blocks(address: str, block: str) -> None:
    assert address_block(address) == block
