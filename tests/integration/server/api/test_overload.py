"""Overload on a real server: when every connection of the request pool is taken, a request
is answered 503 ``overloaded`` with ``Retry-After`` after the pool timeout, in the contract's
JSON error form -- not a 500, not a wait as long as the busy connection's."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from protocol.hlc import HybridLogicalClock
from protocol.wire import status_text
from server.settings import Settings
from server.store.engine import API_APP_NAME, BACKGROUND_APP_NAME, asyncpg_url
from tests.support.db_waits import wait_for_lock_waiters
from tests.support.devices import Device, enrolled_device
from tests.support.live_server import LiveServer, live_server
from tests.support.sync_client import mutation, push, stamper
from tests.support.sync_socket import next_frame, open_socket


@pytest.fixture
def one_connection_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A server whose request pool has a single connection and no overflow."""
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_s=0.5,
    )
    with live_server(settings) as running:
        yield running


async def client_to_read(http: httpx.AsyncClient, device: Device, clock: HybridLogicalClock) -> None:
    """Commit one client, so that a pull from the start reads the locked ``clients`` table
    (a pull with nothing below the horizon answers without touching it)."""
    answer = await push(http, device, [mutation(clock.now(), {"name": "Grace"})])
    assert answer["results"][0]["status"] == "applied"


async def test_a_full_pool_answers_503_overloaded_with_retry_after(
    one_connection_server: LiveServer, database_url: str, db_engine: AsyncEngine
) -> None:
    device = await enrolled_device(one_connection_server.url, database_url)
    blocker = await asyncpg.connect(asyncpg_url(database_url))
    try:
        async with httpx.AsyncClient(base_url=one_connection_server.url, timeout=30) as http:
            clock = stamper(device)
            await client_to_read(http, device, clock)
            transaction = blocker.transaction()
            await transaction.start()
            await blocker.execute("LOCK TABLE clients IN ACCESS EXCLUSIVE MODE")
            # The first pull takes the pool's only connection and waits on the lock with it.
            first = asyncio.create_task(http.get("/api/v1/sync/pull", headers=device.headers))
            await wait_for_lock_waiters(db_engine, 1)

            refused = await http.get("/api/v1/sync/pull", headers=device.headers)

            assert not first.done(), "the refusal must not have waited for the busy connection"
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"]["code"] == "overloaded"
            assert refused.json()["error"]["message"]
            assert float(refused.headers["Retry-After"]) > 0
            await transaction.rollback()
            assert (await first).status_code == 200
            answer = await push(http, device, [mutation(clock.now(), {"name": "Ada"})])
            assert answer["results"][0]["status"] == "applied"
    finally:
        await blocker.close()


async def test_background_work_has_its_own_connections(
    one_connection_server: LiveServer, database_url: str
) -> None:
    """The fan-out reader and the LISTEN connection never sit in the request pool."""
    await enrolled_device(one_connection_server.url, database_url)
    conn = await asyncpg.connect(asyncpg_url(database_url))
    try:
        rows = await conn.fetch(
            "SELECT application_name, count(*) AS n FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1"
        )
    finally:
        await conn.close()
    by_name = {row["application_name"]: row["n"] for row in rows}
    assert by_name.get(API_APP_NAME, 0) <= 1
    assert by_name.get(BACKGROUND_APP_NAME, 0) >= 1


async def test_a_status_frame_is_stored_while_every_request_connection_is_busy(
    one_connection_server: LiveServer, database_url: str, db_engine: AsyncEngine
) -> None:
    """Status writes go to the background pool: a full request pool does not hold them up."""
    device = await enrolled_device(one_connection_server.url, database_url)
    ws = await open_socket(one_connection_server.ws_url, device)
    blocker = await asyncpg.connect(asyncpg_url(database_url))
    try:
        assert (await next_frame(ws))["type"] == "hello"
        async with httpx.AsyncClient(base_url=one_connection_server.url, timeout=30) as http:
            await client_to_read(http, device, stamper(device))
            transaction = blocker.transaction()
            await transaction.start()
            await blocker.execute("LOCK TABLE clients IN ACCESS EXCLUSIVE MODE")
            held = asyncio.create_task(http.get("/api/v1/sync/pull", headers=device.headers))
            await wait_for_lock_waiters(db_engine, 1)

            await ws.send(status_text(cursor=7, pending=3))
            async with asyncio.timeout(15):
                while (
                    await blocker.fetchval("SELECT status_cursor FROM devices WHERE id = $1::uuid", device.id)
                    != 7
                ):
                    await asyncio.sleep(0.02)  # sleep-ok: polling a condition with a deadline

            assert not held.done(), "the request connection was busy all along"
            await transaction.rollback()
            assert (await held).status_code == 200
    finally:
        await blocker.close()
        await ws.close()
