"""``WS /api/v1/sync/ws`` on a real uvicorn and PostgreSQL, driven by ``websockets``.

Covers the contract (hello, contiguous ``changes`` frames after a push), refusal of bad
tokens, revocation from another process, the slow-socket resync, status frames and
garbage, dead peers found by protocol pings, and the listener reconnecting.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from fastapi import FastAPI
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection

from protocol.hlc import HybridLogicalClock
from server.api.routes import ws as ws_route
from server.app import create_app
from server.realtime.hub import Hub
from server.realtime.listener import LISTENER_APP_NAME, Fanout
from server.settings import Settings
from server.store.engine import create_engine
from server.store.tables import devices
from server.sync.write_path import Author, write_batch
from tests.support.devices import Device, enrolled_device
from tests.support.live_server import LiveServer, live_server
from tests.support.server_process import run_cli
from tests.support.sync_client import mutation, mutation_model, push, stamper
from tests.support.sync_socket import WS_PATH, changes_until, next_frame, open_socket, small_window_socket


@dataclass(frozen=True)
class Running:
    """A live server and the app object behind it (to read the fan-out's counters)."""

    server: LiveServer
    app: FastAPI
    database_url: str

    @property
    def fanout(self) -> Fanout:
        fanout: Fanout = self.app.state.branchsync.fanout
        return fanout

    @property
    def hub(self) -> Hub:
        return self.fanout.hub

    async def device(self, name: str = "Front desk", branch: str = "North") -> Device:
        return await enrolled_device(self.server.url, self.database_url, branch=branch, name=name)


@pytest.fixture
def start(database_url: str) -> Iterator[Callable[..., Running]]:
    """Start a server with settings overrides; stopped at the end of the test."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> Running:
            settings = Settings(database_url=database_url, **overrides)
            app = create_app(settings)
            return Running(stack.enter_context(live_server(settings, app=app)), app, database_url)

        yield start


@pytest.fixture
def running(start: Callable[..., Running]) -> Running:
    return start()


@pytest.fixture
async def http(running: Running) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=running.server.url, timeout=30) as client:
        yield client


async def push_clients(
    http: httpx.AsyncClient, device: Device, count: int, **fields: Any
) -> list[dict[str, Any]]:
    """Push ``count`` new clients; return their answers (all applied)."""
    clock = stamper(device)
    mutations = [mutation(clock.now(), {"name": f"Client {i}", **fields}) for i in range(count)]
    results: list[dict[str, Any]] = (await push(http, device, mutations))["results"]
    assert {r["status"] for r in results} == {"applied"}, results
    return results


async def wait_for(condition: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0) -> None:
    """Poll ``condition`` (plain or async) until it holds; TimeoutError after ``timeout``."""
    async with asyncio.timeout(timeout):
        while True:
            holds = condition()
            if await holds if inspect.isawaitable(holds) else holds:
                return
            await asyncio.sleep(0.01)  # sleep-ok: polling a condition with a deadline


async def _equals(value: Awaitable[object], expected: object) -> bool:
    return await value == expected


async def closed_by_server(ws: ClientConnection, timeout: float = 10.0) -> tuple[int | None, list[Any]]:
    """Read until the server closes; return its close code and the frames read."""
    frames: list[Any] = []
    async with asyncio.timeout(timeout):
        try:
            while True:
                frames.append(json.loads(await ws.recv()))
        except websockets.ConnectionClosed:
            pass
    return ws.close_code, frames


async def test_hello_then_the_pushed_changes_in_order(running: Running, http: httpx.AsyncClient) -> None:
    writer, reader = await running.device("Till"), await running.device("Desk", branch="South")
    async with await open_socket(running.server.ws_url, reader) as ws:
        hello = await next_frame(ws)
        assert hello["type"] == "hello"
        assert (hello["head"], hello["epoch"]) == (0, reader.epoch)
        first = await push_clients(http, writer, 3, phone="+44 20 7946 0000")
        second = await push_clients(http, writer, 2)
        frames = await changes_until(ws, 0, second[-1]["seq"])
    changes = [c for f in frames for c in f["changes"]]
    assert [c["seq"] for c in changes] == [r["seq"] for r in first + second]
    assert changes[0]["fields"] == {"name": "Client 0", "phone": "+44 20 7946 0000"}
    assert changes[0]["collection"] == "clients" and changes[0]["deleted"] is False


async def test_hello_head_is_where_the_stream_continues(running: Running, http: httpx.AsyncClient) -> None:
    device = await running.device()
    before = await push_clients(http, device, 2)
    await wait_for(lambda: running.hub.head == before[-1]["seq"])  # broadcast, to nobody yet
    async with await open_socket(running.server.ws_url, device) as ws:
        hello = await next_frame(ws)
        assert hello["head"] == before[-1]["seq"]
        after = await push_clients(http, device, 1)
        (frame,) = await changes_until(ws, hello["head"], after[-1]["seq"])
    assert frame["from"] == before[-1]["seq"]


async def test_a_large_push_arrives_as_contiguous_frames_a_client_accepts(
    running: Running, http: httpx.AsyncClient
) -> None:
    device = await running.device()
    async with await open_socket(running.server.ws_url, device, max_size=1024 * 1024) as ws:
        await next_frame(ws)
        for _ in range(2):  # each push is just under the 1 MiB request limit
            results = await push_clients(http, device, 500, notes="n" * 1500)
        frames = await changes_until(ws, 0, results[-1]["seq"])
    assert len(frames) >= 3, "1.6 MB of changes must be cut into frames under 1 MiB"
    assert sum(len(f["changes"]) for f in frames) == 1000


@pytest.mark.parametrize("token", [None, "bsd_not-a-real-token"])
async def test_a_socket_without_a_valid_token_is_refused_401(running: Running, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(running.server.ws_url + WS_PATH, additional_headers=headers, proxy=None)
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body)["error"]["code"] == "unauthorized"


async def test_another_protocol_version_is_refused_426(running: Running) -> None:
    device = await running.device()
    headers = {**device.headers, "Branchsync-Protocol": "2"}
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(running.server.ws_url + WS_PATH, additional_headers=headers, proxy=None)
    assert refused.value.response.status_code == 426


async def test_revoking_a_device_closes_its_live_socket_at_once(
    running: Running, http: httpx.AsyncClient
) -> None:
    revoked, bystander = await running.device("Stolen laptop"), await running.device("Desk")
    async with (
        await open_socket(running.server.ws_url, revoked) as doomed,
        await open_socket(running.server.ws_url, bystander) as ws,
    ):
        await next_frame(doomed)
        hello = await next_frame(ws)
        revoke = ("device", "revoke", revoked.id)
        done = await asyncio.to_thread(run_cli, *revoke, database_url=running.database_url)
        assert done.returncode == 0, done.stderr
        started = time.monotonic()
        code, frames = await closed_by_server(doomed, timeout=5)
        assert (code, frames) == (4401, [])
        assert time.monotonic() - started < 2
        results = await push_clients(http, bystander, 1)
        await changes_until(ws, hello["head"], results[-1]["seq"])
    with pytest.raises(websockets.InvalidStatus) as refused:
        await open_socket(running.server.ws_url, revoked)
    assert refused.value.response.status_code == 401
    assert running.hub.stats.revoked_closes == 1


async def test_a_slow_socket_is_resynced_and_never_delays_the_others(start: Callable[..., Running]) -> None:
    running = start(ws_queue_frames=2)
    writer, slow_device = await running.device("Writer"), await running.device("Slow")
    sock = await small_window_socket(running.server.ws_url)
    slow = await open_socket(running.server.ws_url, slow_device, sock=sock, max_queue=1)
    await next_frame(slow)  # ... and then it stops reading
    fast = [await open_socket(running.server.ws_url, await running.device(f"Fast {i}")) for i in range(3)]
    cursors = [(await next_frame(ws))["head"] for ws in fast]
    async with httpx.AsyncClient(base_url=running.server.url, timeout=30) as http:
        for _ in range(40):  # ~0.9 MB a push: the kernel's buffers (a few MB) fill in a few rounds
            results = await push_clients(http, writer, 400, notes="x" * 2000)
            pushed_at = time.monotonic()
            for i, ws in enumerate(fast):
                await changes_until(ws, cursors[i], results[-1]["seq"], timeout=2)
                cursors[i] = results[-1]["seq"]
            assert time.monotonic() - pushed_at < 2, "fast sockets were held up"
            if running.hub.stats.resyncs:
                break
    assert running.hub.stats.resyncs == 1
    code, frames = await closed_by_server(slow)
    assert frames[-1] == {"type": "resync"}
    assert {f["type"] for f in frames[:-1]} <= {"changes"}
    assert code == 4000
    assert len(running.hub) == len(fast)
    for ws in fast:
        await ws.close()


async def test_a_reader_slower_than_the_close_grace_still_gets_its_resync(
    start: Callable[..., Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader that fell behind but reads on later than other goodbyes may take (issue 12:
    a slow reader was dropped without its ``resync``) gets it, within the ping timeout."""
    monkeypatch.setattr(ws_route, "CLOSE_GRACE_S", 0.5)
    running = start(ws_queue_frames=2, ws_ping_timeout_s=60)
    writer, slow_device = await running.device("Writer"), await running.device("Slow")
    sock = await small_window_socket(running.server.ws_url)
    slow = await open_socket(running.server.ws_url, slow_device, sock=sock, max_queue=1)
    await next_frame(slow)  # ... and then it stops reading
    async with httpx.AsyncClient(base_url=running.server.url, timeout=30) as http:
        for _ in range(40):
            await push_clients(http, writer, 400, notes="x" * 2000)
            if running.hub.stats.resyncs:
                break
    assert running.hub.stats.resyncs == 1
    await asyncio.sleep(ws_route.CLOSE_GRACE_S * 3)  # sleep-ok: reading on later than the grace is the test
    code, frames = await closed_by_server(slow, timeout=30)
    assert frames[-1] == {"type": "resync"}
    assert code == 4000


async def test_status_frames_are_stored_and_garbage_is_counted_and_ignored(
    running: Running, http: httpx.AsyncClient, database_url: str
) -> None:
    device = await running.device()
    engine = create_engine(database_url, pool_size=1)

    async def stored() -> tuple[int | None, int | None, str | None]:
        """The device's status columns as the database has them now."""
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(devices.c.status_cursor, devices.c.status_pending, devices.c.app_version).where(
                        devices.c.id == device.id
                    )
                )
            ).one()
        return row.status_cursor, row.status_pending, row.app_version

    try:
        async with await open_socket(running.server.ws_url, device) as ws:
            hello = await next_frame(ws)
            negative = '{"type": "status", "cursor": -4, "pending": 0}'
            garbage: list[str | bytes] = ["not json", b"\x00\xff", negative, "[]"]
            for frame in garbage:
                await ws.send(frame)
            await ws.send(json.dumps({"type": "status", "cursor": 7, "pending": 3, "app_version": "1.2.0"}))
            await wait_for(lambda: _equals(stored(), (7, 3, "1.2.0")))
            assert running.hub.stats.ignored_client_frames == 4
            # a status sent within the throttle interval is written when it falls due
            await ws.send(json.dumps({"type": "status", "cursor": 9, "pending": 0}))
            await wait_for(lambda: _equals(stored(), (9, 0, "1.2.0")))
            results = await push_clients(http, device, 1)
            await changes_until(ws, hello["head"], results[-1]["seq"])
    finally:
        await engine.dispose()


async def test_a_dead_peer_is_dropped_by_protocol_pings(start: Callable[..., Running]) -> None:
    running = start(ws_ping_interval_s=0.2, ws_ping_timeout_s=0.3)
    device = await running.device()
    host, port = running.server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    request = (
        f"GET {WS_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: Bearer {device.token}\r\n\r\n"
    )
    writer.write(request.encode())
    status_line = await asyncio.wait_for(reader.readline(), 10)
    assert b" 101 " in status_line
    await wait_for(lambda: len(running.hub) == 1)
    # this peer never answers a ping: the server must give up on it and free its place
    await wait_for(lambda: len(running.hub) == 0, timeout=10)
    writer.close()


async def test_after_losing_its_connections_the_fanout_reconnects_and_catches_up(
    running: Running, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="server.realtime.listener")
    device = await running.device()
    async with await open_socket(running.server.ws_url, device) as ws:
        hello = await next_frame(ws)
        warm = await push_clients(http, device, 1)  # the reader has its connection now
        await changes_until(ws, hello["head"], warm[-1]["seq"])
        admin = await asyncpg.connect(running.database_url)
        try:
            killed = await admin.fetch(
                "SELECT application_name, pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        assert LISTENER_APP_NAME in {row["application_name"] for row in killed}
        assert len(killed) >= 2, "the listener and the reader at least"
        results = await push_clients(http, device, 2)  # may commit while nobody listens
        frames = await changes_until(ws, warm[-1]["seq"], results[-1]["seq"])
        assert [c["seq"] for f in frames for c in f["changes"]] == [r["seq"] for r in results]
        await wait_for(running.fanout.listener_connected.is_set)
        more = await push_clients(http, device, 1)
        await changes_until(ws, results[-1]["seq"], more[-1]["seq"])
    warnings = " ".join(r.getMessage() for r in caplog.records)
    assert "listener lost its connection" in warnings
    assert "cannot read changes" in warnings


async def test_a_change_committed_above_one_rolled_back_still_reaches_the_socket(
    running: Running, http: httpx.AsyncClient
) -> None:
    """The fan-out stops below a change in flight; if that writer rolls back it sends no
    ``NOTIFY``, and the change above it must still be broadcast (the reader reads again)."""
    device = await running.device()
    engine = create_engine(running.database_url, pool_size=1)
    try:
        async with await open_socket(running.server.ws_url, device) as ws:
            hello = await next_frame(ws)
            async with engine.connect() as held:
                transaction = await held.begin()
                [doomed] = await write_batch(
                    held,
                    HybridLogicalClock("server.held"),
                    Author(None, None),
                    [mutation_model(HybridLogicalClock("held").now(), {"name": "Never"})],
                    max_clock_skew_s=300,
                )
                [above] = await push_clients(http, device, 1)  # committed and notified, held back
                assert doomed.seq is not None and above["seq"] > doomed.seq
                await transaction.rollback()
            frames = await changes_until(ws, hello["head"], above["seq"])
    finally:
        await engine.dispose()
    assert [c["seq"] for f in frames for c in f["changes"]] == [above["seq"]]


async def _flood(ws: ClientConnection, frames: int, text: str) -> None:
    """Send ``text`` ``frames`` times, stopping quietly once the server has closed."""
    try:
        for _ in range(frames):
            await ws.send(text)
    except websockets.ConnectionClosed:
        pass


async def test_a_socket_flooding_frames_is_closed_for_policy_and_others_keep_going(
    start: Callable[..., Running],
) -> None:
    running = start(ws_client_frames_per_s=5, ws_client_frame_burst=20)
    abuser, neighbour = await running.device("Abuser"), await running.device("Neighbour")
    status = json.dumps({"type": "status", "cursor": 0, "pending": 0})
    async with (
        await open_socket(running.server.ws_url, abuser) as ws,
        await open_socket(running.server.ws_url, neighbour) as calm,
    ):
        await next_frame(ws)
        hello = await next_frame(calm)
        await _flood(ws, 2_000, status)
        code, _ = await closed_by_server(ws)
        assert code == 1008
        assert ws.close_reason == "too many frames"
        async with httpx.AsyncClient(base_url=running.server.url, timeout=30) as http:
            results = await push_clients(http, neighbour, 1)
        await changes_until(calm, hello["head"], results[-1]["seq"])


async def test_a_frame_larger_than_the_limit_closes_the_socket_for_policy(
    start: Callable[..., Running],
) -> None:
    running = start(ws_client_frame_bytes=1024)
    device = await running.device()
    async with await open_socket(running.server.ws_url, device) as ws:
        await next_frame(ws)
        await _flood(ws, 1, "x" * 2048)
        code, _ = await closed_by_server(ws)
        assert code == 1008
        assert ws.close_reason == "frame too large"


async def test_a_device_over_its_socket_limit_loses_its_oldest_socket_and_keeps_the_rest(
    start: Callable[..., Running],
) -> None:
    running = start(ws_sockets_per_device=2)
    device = await running.device()
    url = running.server.ws_url
    async with (
        await open_socket(url, device) as oldest,
        await open_socket(url, device) as middle,
    ):
        await next_frame(oldest)
        hello = await next_frame(middle)
        async with await open_socket(url, device) as newest:
            await next_frame(newest)
            code, _ = await closed_by_server(oldest)
            assert (code, oldest.close_reason) == (4409, "replaced by a newer socket of this device")
            async with httpx.AsyncClient(base_url=running.server.url, timeout=30) as http:
                results = await push_clients(http, device, 1)
            await changes_until(middle, hello["head"], results[-1]["seq"])
            await changes_until(newest, hello["head"], results[-1]["seq"])
    assert running.hub.stats.replaced_closes == 1
