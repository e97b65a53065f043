"""Status frames on a real server and PostgreSQL: kept in memory, written in batches.

However many ``status`` frames the sockets send (an old desktop sends one per change),
the socket path writes nothing; the flusher writes every device's newest status in one
statement per interval and once more at shutdown, and ``/metrics`` and the dashboard
show the newest values meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.app import create_app
from server.ops.admin_web.accounts import set_password
from server.realtime.device_status import DeviceStatus, StatusTable, write_statuses
from server.settings import Settings
from server.store.engine import create_engine
from server.store.tables import devices
from tests.support.devices import Device, enrolled_device
from tests.support.live_server import live_server
from tests.support.scrape import value, wait_for_metric
from tests.support.sync_client import mutation, push, stamper
from tests.support.sync_socket import next_frame, open_socket

SOCKETS = 20
ROUNDS = 25
PASSWORD = "correct horse battery"


async def make_admin(database_url: str) -> None:
    """A dashboard user ``alice`` (the server has migrated the database)."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await set_password(conn, "alice", PASSWORD)
    finally:
        await engine.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=1)
    yield engine
    await engine.dispose()


async def stored(engine: AsyncEngine, ids: list[str]) -> dict[str, tuple[Any, Any, Any]]:
    """Each device's status columns as the database has them now."""
    query = select(devices.c.id, devices.c.status_cursor, devices.c.status_pending, devices.c.app_version)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.where(devices.c.id.in_([uuid.UUID(i) for i in ids])))).all()
    return {str(r.id): (r.status_cursor, r.status_pending, r.app_version) for r in rows}


async def wait_until(condition: Any, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)  # sleep-ok: polling a condition with a deadline


@pytest.fixture
def quiet_settings(database_url: str, tmp_path: Path) -> Iterator[Settings]:
    """A server whose flusher never comes round while the test runs: only the shutdown writes."""
    yield Settings(
        database_url=database_url, data_dir=tmp_path, presence_interval_s=0.2, status_flush_interval_s=3600
    )


async def test_a_flood_of_status_frames_writes_nothing_until_the_flush_and_monitors_see_the_newest(
    quiet_settings: Settings, engine: AsyncEngine, database_url: str
) -> None:
    app = create_app(quiet_settings)
    with live_server(quiet_settings, app=app) as server:
        statuses: StatusTable = app.state.branchsync.statuses
        hub = app.state.branchsync.fanout.hub
        fleet: list[Device] = [
            await enrolled_device(server.url, database_url, "North", name=f"PC {n:02}")
            for n in range(SOCKETS)
        ]
        ids = [d.id for d in fleet]
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http, AsyncExitStack() as stack:
            for n in range(3):
                await push(http, fleet[0], [mutation(stamper(fleet[0]).now(), {"name": f"Client {n}"})])
            sockets = [await stack.enter_async_context(await open_socket(server.ws_url, d)) for d in fleet]
            for ws in sockets:
                await next_frame(ws)  # hello
            # every socket answers every "change" with a status frame, as old desktops do
            for round_ in range(1, ROUNDS + 1):
                for n, ws in enumerate(sockets):
                    frame: dict[str, Any] = {"type": "status", "cursor": 3, "pending": round_}
                    if n == 0 and round_ == ROUNDS:
                        frame.update(cursor=1, app_version="2.0.0")
                    await ws.send(json.dumps(frame))
            await wait_until(lambda: hub.stats.status_frames == SOCKETS * ROUNDS)

            def settled(s: Any) -> bool:
                return (
                    value(s, "branchsync_branch_pending_writes", branch="North") == SOCKETS * ROUNDS
                    and value(s, "branchsync_branch_cursor_lag_changes", branch="North") == 2
                )

            samples = await wait_for_metric(http, settled)
            assert value(samples, "branchsync_status_unflushed") == SOCKETS
            assert value(samples, "branchsync_status_flushes_total") == 0
            # the dashboard, as an operator sees it
            await make_admin(database_url)
            login = {"name": "alice", "password": PASSWORD}
            assert (await http.post("/admin/api/login", json=login)).status_code == 204
            overview = (await http.get("/admin/api/overview")).json()
            (north,) = overview["branches"]
            assert (north["pending"], north["behind"]) == (SOCKETS * ROUNDS, 2)
            first = next(d for d in north["devices"] if d["id"] == ids[0])
            assert (first["behind"], first["pending"], first["app_version"]) == (2, ROUNDS, "2.0.0")
            # none of those 500 frames cost a database write
            assert set((await stored(engine, ids)).values()) == {(None, None, None)}
            assert statuses.stats.flushes == 0
    # the server stopped: its last flush wrote every device's newest status, in one statement
    assert (statuses.stats.flushes, statuses.stats.rows_written) == (1, SOCKETS)
    final = await stored(engine, ids)
    assert final[ids[0]] == (1, ROUNDS, "2.0.0")
    assert {final[i] for i in ids[1:]} == {(3, ROUNDS, None)}


async def test_the_flusher_writes_while_serving(
    database_url: str, tmp_path: Path, engine: AsyncEngine
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, status_flush_interval_s=0.05)
    app = create_app(settings)
    with live_server(settings, app=app) as server:
        device = await enrolled_device(server.url, database_url, "North")
        async with await open_socket(server.ws_url, device) as ws:
            await next_frame(ws)
            for n in range(1, 51):
                await ws.send(json.dumps({"type": "status", "cursor": n, "pending": 50 - n}))
            async with asyncio.timeout(15):
                while (await stored(engine, [device.id]))[device.id] != (50, 0, None):
                    await asyncio.sleep(0.01)  # sleep-ok: polling a condition with a deadline
        statuses: StatusTable = app.state.branchsync.statuses
        assert 1 <= statuses.stats.flushes <= statuses.stats.rows_written <= 50


async def test_the_batch_writes_many_devices_at_once_and_never_puts_back_an_older_status(
    database_url: str, tmp_path: Path, engine: AsyncEngine
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path, status_flush_interval_s=3600)
    with live_server(settings) as server:
        fleet = [await enrolled_device(server.url, database_url, "South", name=f"PC {n}") for n in range(3)]
    a, b, c = (uuid.UUID(d.id) for d in fleet)
    t0 = datetime.now(UTC)
    async with engine.begin() as conn:
        first = {
            a: DeviceStatus(5, 1, "1.0", t0),
            b: DeviceStatus(6, 2, None, t0),
            uuid.uuid4(): DeviceStatus(1, 1, None, t0),
        }
        assert await write_statuses(conn, first) == 2, "a device that is gone changes nothing"
    later, earlier = t0 + timedelta(seconds=1), t0 - timedelta(seconds=1)
    async with engine.begin() as conn:
        # another process still held an older status of ``b``: it must not win
        second = {
            a: DeviceStatus(8, 0, None, later),
            b: DeviceStatus(1, 9, "0.1", earlier),
            c: DeviceStatus(2, 0, None, later),
        }
        assert await write_statuses(conn, second) == 2
        assert await write_statuses(conn, {}) == 0
    rows = await stored(engine, [d.id for d in fleet])
    assert rows == {str(a): (8, 0, "1.0"), str(b): (6, 2, None), str(c): (2, 0, None)}
