"""The real server behind a real PgBouncer in transaction mode (docs/deploy.md): the API's
pool goes through PgBouncer with prepared statements off, the LISTEN connection and the
background pool go straight to PostgreSQL. Pushes, pulls and live changes all work,
also with many requests at once over fewer server connections than requests."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from server.settings import Settings
from tests.support.devices import Device, enrolled_device
from tests.support.live_server import LiveServer, live_server
from tests.support.pgbouncer import PgBouncer, pgbouncer
from tests.support.sync_client import mutation, pull_all, push, stamper
from tests.support.sync_socket import changes_until, next_frame, open_socket

POOL = 3
"""PgBouncer's server connections: fewer than the requests in flight."""


@pytest.fixture
def bouncer(database_url: str) -> Iterator[PgBouncer]:
    with pgbouncer(database_url, pool_size=POOL) as running:
        yield running


@pytest.fixture
def bounced_server(database_url: str, bouncer: PgBouncer, tmp_path: Path) -> Iterator[LiveServer]:
    settings = Settings(
        database_url=bouncer.url_for(database_url),
        listen_database_url=database_url,
        db_prepared_statements=False,
        db_pool_size=8,
        data_dir=tmp_path,
    )
    with live_server(settings) as running:
        yield running


def _transactions_through(bouncer: PgBouncer, database: str) -> int:
    """PgBouncer's own count of transactions it carried for ``database`` (its SHOW STATS)."""
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(bouncer.port), "-U", "postgres", "-At", "-F", "|", "pgbouncer"],
        input="SHOW STATS;\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    for line in out.splitlines():
        fields = line.split("|")
        if fields[0] == database:
            return int(fields[1])
    return 0


async def test_push_pull_and_a_live_change_through_pgbouncer(
    bounced_server: LiveServer, bouncer: PgBouncer, database_url: str
) -> None:
    north = await enrolled_device(bounced_server.url, database_url, "North")
    south = await enrolled_device(bounced_server.url, database_url, "South", name="Till")
    ws = await open_socket(bounced_server.ws_url, south)
    try:
        hello = await next_frame(ws)
        assert hello["type"] == "hello"
        async with httpx.AsyncClient(base_url=bounced_server.url, timeout=30) as http:
            clock = stamper(north)
            answer = await push(http, north, [mutation(clock.now(), {"name": f"c{n}"}) for n in range(3)])
            assert [r["status"] for r in answer["results"]] == ["applied"] * 3
            frames = await changes_until(ws, hello["head"], hello["head"] + 3)
            assert sum(len(f["changes"]) for f in frames) == 3
            changes, cursor = await pull_all(http, south)
            assert (len(changes), cursor) == (3, hello["head"] + 3)
    finally:
        await ws.close()
    assert _transactions_through(bouncer, database_url.rsplit("/", 1)[1]) > 0, (
        "the API must go through PgBouncer"
    )


async def _prepared_statements_left(bouncer: PgBouncer, database_url: str, servers: int) -> list[int]:
    """Prepared statements on each of PgBouncer's ``servers`` server connections (each client
    holds one in a transaction, so together they see every server connection)."""
    clients = [
        await asyncpg.connect(bouncer.url_for(database_url), statement_cache_size=0) for _ in range(servers)
    ]
    try:
        transactions = [client.transaction() for client in clients]
        for transaction in transactions:
            await transaction.start()
        counts = [
            int(await client.fetchval("SELECT count(*) FROM pg_prepared_statements")) for client in clients
        ]
        for transaction in transactions:
            await transaction.rollback()
        return counts
    finally:
        for client in clients:
            await client.close()


async def test_many_requests_at_once_share_few_server_connections(
    bounced_server: LiveServer, bouncer: PgBouncer, database_url: str
) -> None:
    devices: list[Device] = [
        await enrolled_device(bounced_server.url, database_url, "North", name=f"PC {n}") for n in range(4)
    ]
    async with httpx.AsyncClient(base_url=bounced_server.url, timeout=30) as http:

        async def work(device: Device) -> None:
            clock = stamper(device)
            for _ in range(5):
                await push(http, device, [mutation(clock.now(), {"name": device.id})])
                assert (await http.get("/api/v1/sync/pull", headers=device.headers)).status_code == 200

        await asyncio.gather(*(work(device) for device in devices))
        changes, _ = await pull_all(http, devices[0])
        assert len(changes) == 20
    # every statement the server prepared was closed again on the server connection it
    # was prepared on: nothing piles up on PgBouncer's connections
    assert await _prepared_statements_left(bouncer, database_url, POOL) == [0] * POOL
