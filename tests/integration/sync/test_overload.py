"""The engine against a server that cannot answer now: a full request pool (503 with
``Retry-After``) is waited out, and a server that cuts the handshake off while it restarts
is "cannot be reached", never "an answer this version does not understand"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from desktop.sync.errors import ServerBusy, ServerUnreachable
from desktop.sync.events import Failure
from desktop.sync.http_client import SyncHttpClient
from desktop.sync.status import EngineState
from desktop.sync.ws_client import SyncSocket
from server.settings import Settings
from server.store.engine import asyncpg_url, create_engine
from tests.support.db_waits import wait_for_lock_waiters
from tests.support.desktop_engine import Installation, wait_until
from tests.support.devices import Device
from tests.support.live_server import LiveServer, live_server
from tests.support.server_rows import server_rows
from tests.support.sync_client import mutation_model, stamper


@pytest.fixture
def sync_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """This module's server has one request connection, no overflow and a short pool timeout."""
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path / "server",
        db_pool_size=1,
        db_max_overflow=0,
        db_pool_timeout_s=0.3,
    )
    with live_server(settings) as running:
        yield running


@asynccontextmanager
async def _clients_locked(database_url: str) -> AsyncIterator[None]:
    """Hold the clients table so that whatever reads or writes it waits (with its connection)."""
    conn = await asyncpg.connect(asyncpg_url(database_url))
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE clients IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        await conn.close()


async def test_the_http_adapter_reads_a_503_as_busy_with_the_delay(
    sync_server: LiveServer, north_device: Device, database_url: str, db_engine: AsyncEngine
) -> None:
    async with SyncHttpClient(sync_server.url, north_device.token) as http:
        # one client committed, so a pull from the start reads the locked table (with nothing
        # below the horizon a pull answers without touching it)
        await http.push([mutation_model(stamper(north_device).now(), {"name": "Grace"})])
        async with _clients_locked(database_url):
            first = asyncio.create_task(http.pull(0))
            await wait_for_lock_waiters(db_engine, 1)
            with pytest.raises(ServerBusy) as caught:
                await http.pull(0)
        await first
    assert caught.value.failure is Failure.OVERLOADED
    assert caught.value.retry_after > 0


def test_an_engine_waits_out_a_full_pool_and_its_edit_arrives(
    north: Installation, south: Installation, database_url: str
) -> None:
    north.start()
    south.start()
    north.wait_online()
    south.wait_online()

    async def overload_then_release() -> str:
        watcher = create_engine(database_url, pool_size=1)
        try:
            return await _overload(watcher)
        finally:
            await watcher.dispose()

    async def _overload(watcher: AsyncEngine) -> str:
        async with _clients_locked(database_url):
            north.cache.create("clients", {"name": "held"})  # its push takes the only connection
            await wait_for_lock_waiters(watcher, 1)
            row_id = south.cache.create("clients", {"name": "Ada"})  # its push finds none: 503
            await asyncio.to_thread(
                wait_until,
                lambda: any("busy" in (s.last_error or "") for s in south.statuses),
                10,
                "South to be told the server is busy",
            )
        return row_id

    row_id = asyncio.run(overload_then_release())

    north.wait_synced(cursor=2)
    south.wait_synced(cursor=2)
    assert row_id in server_rows(database_url)
    assert north.cache.get("clients", row_id) is not None
    after_busy = south.statuses[
        next(i for i, s in enumerate(south.statuses) if "busy" in (s.last_error or "")) :
    ]
    assert all(s.state is not EngineState.OFFLINE for s in after_busy), "a 503 must not drop the socket"
    assert not any("does not understand" in (s.last_error or "") for s in north.statuses + south.statuses)


@pytest.mark.parametrize(
    "answer", [b"", b"HTTP/1.1 101 Switching Pro"], ids=["nothing", "half a status line"]
)
async def test_a_handshake_cut_off_by_a_restarting_server_is_unreachable(answer: bytes) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")  # the whole upgrade request, then the process goes
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(cut, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        lost = r"lost the connection to .* before the server answered; retrying"
        with pytest.raises(ServerUnreachable, match=lost) as caught:
            async with SyncSocket.open(f"http://127.0.0.1:{port}", "token"):
                pass
    finally:
        server.close()
        await server.wait_closed()
    assert caught.value.failure is Failure.NETWORK
