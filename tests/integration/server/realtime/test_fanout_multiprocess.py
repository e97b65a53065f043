"""Two real server processes sharing one database, as behind a load balancer.

Each process has its own LISTEN connection and its own sockets; a write committed
through one must reach the sockets held by the other, and a revocation made by the
admin CLI (a third process) must close the device's sockets on both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests.support.devices import enrolled_device
from tests.support.server_process import ServerProcess, run_cli, server_processes
from tests.support.sync_client import mutation, push, stamper
from tests.support.sync_socket import changes_until, next_frame, open_socket


@pytest.fixture
def servers(database_url: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with server_processes(database_url, count=2) as (first, second):
        yield first, second


async def test_a_push_to_one_process_reaches_sockets_on_the_other(
    servers: tuple[ServerProcess, ServerProcess], database_url: str
) -> None:
    a, b = servers
    writer = await enrolled_device(a.url, database_url, branch="North", name="Till")
    reader = await enrolled_device(b.url, database_url, branch="South", name="Desk")
    async with (
        await open_socket(a.ws_url, reader) as on_a,
        await open_socket(b.ws_url, reader) as on_b,
        httpx.AsyncClient(timeout=30) as http,
    ):
        heads = [(await next_frame(ws))["head"] for ws in (on_a, on_b)]
        assert heads == [0, 0]
        clock = stamper(writer)
        seqs: list[int] = []
        for server in (a, b, a):  # writes through either process reach both
            http.base_url = httpx.URL(server.url)
            body = await push(http, writer, [mutation(clock.now(), {"name": f"Via {server.url}"})])
            seqs.append(body["results"][0]["seq"])
        on_each = [await changes_until(ws, 0, seqs[-1]) for ws in (on_a, on_b)]
    delivered = [[c["seq"] for f in frames for c in f["changes"]] for frames in on_each]
    assert delivered == [seqs, seqs]
    assert on_each[0] == on_each[1], "both processes send the same frames"


async def test_the_cli_revoking_a_device_closes_its_sockets_on_every_process(
    servers: tuple[ServerProcess, ServerProcess], database_url: str
) -> None:
    a, b = servers
    device = await enrolled_device(a.url, database_url, name="Stolen laptop")
    sockets = [await open_socket(server.ws_url, device) for server in (a, b)]
    for ws in sockets:
        await next_frame(ws)
    done = await asyncio.to_thread(run_cli, "device", "revoke", device.id, database_url=database_url)
    assert done.returncode == 0, done.stderr
    for ws in sockets:
        with pytest.raises(websockets.ConnectionClosed):
            await next_frame(ws, timeout=5)
        assert ws.close_code == 4401
