"""The HTTP and WebSocket adapters against the real server (and, for broken answers,
httpx's mock transport)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import httpx
import pytest

from desktop.demo.link_proxy import LinkProxy
from desktop.sync.errors import (
    BadAnswer,
    RateLimited,
    ServerFailed,
    ServerRestarting,
    ServerUnreachable,
    Unauthorized,
)
from desktop.sync.events import Failure
from desktop.sync.http_client import SyncHttpClient
from desktop.sync.ws_client import SocketOptions, SyncSocket
from protocol.messages import ChangesFrame
from server.settings import Settings
from tests.support.devices import Device, enrolled_device
from tests.support.live_server import LiveServer, free_port, live_server
from tests.support.sync_client import mutation_model, stamper

HLC = "000001700000000-000000-server.x"


async def test_push_and_pull_round_trip(sync_server: LiveServer, north_device: Device) -> None:
    clock = stamper(north_device)
    async with SyncHttpClient(sync_server.url, north_device.token) as http:
        pushed, timing = await http.push([mutation_model(clock.now(), {"name": "Ada"}) for _ in range(3)])
        assert [r.status for r in pushed.results] == ["applied"] * 3
        assert timing.received_ms >= timing.sent_ms
        first, _ = await http.pull(0, limit=2)
        rest, _ = await http.pull(first.cursor, limit=2)
    assert (len(first.changes), first.has_more, len(rest.changes), rest.has_more) == (2, True, 1, False)
    assert rest.epoch == north_device.epoch


async def test_a_wrong_token_is_unauthorized(sync_server: LiveServer) -> None:
    async with SyncHttpClient(sync_server.url, "not-a-token") as http:
        with pytest.raises(Unauthorized) as caught:
            await http.pull(0)
    assert caught.value.failure is Failure.UNAUTHORIZED


async def test_no_server_is_unreachable_with_the_address_in_the_message() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with SyncHttpClient(url, "token", timeout=2) as http:
        with pytest.raises(ServerUnreachable, match=r"cannot reach the server at http://127\.0\.0\.1"):
            await http.pull(0)


def _answering(status: int, body: bytes, headers: dict[str, str] | None = None) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, content=body, headers=headers))


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (200, b"<html>captive portal</html>", None, BadAnswer),
        (
            200,
            json.dumps({"changes": [], "cursor": 0, "has_more": False, "epoch": "e"}).encode(),
            None,
            BadAnswer,
        ),
        (
            200,
            json.dumps(
                {"changes": [], "cursor": 0, "has_more": False, "epoch": "e", "server_hlc": "noon"}
            ).encode(),
            None,
            BadAnswer,
        ),
        (503, b"Service Unavailable", None, ServerFailed),
        (
            429,
            json.dumps({"error": {"code": "rate_limited", "message": "slow"}}).encode(),
            {"Retry-After": "2"},
            RateLimited,
        ),
    ],
)
async def test_answers_that_break_the_contract_are_translated_once(
    status: int, body: bytes, headers: dict[str, str] | None, expected: type[Exception]
) -> None:
    async with SyncHttpClient("http://sync.test", "t", transport=_answering(status, body, headers)) as http:
        with pytest.raises(expected) as caught:
            await http.pull(0)
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after == 2.0


async def test_every_request_names_the_protocol_version_and_the_device() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"changes": [], "cursor": 0, "has_more": False, "epoch": "e", "server_hlc": HLC}
        return httpx.Response(200, json=body)

    async with SyncHttpClient("http://sync.test", "tok", transport=httpx.MockTransport(answer)) as http:
        await http.pull(7, limit=10)
    (request,) = seen
    assert request.headers["Branchsync-Protocol"] == "1"
    assert request.headers["Authorization"] == "Bearer tok"
    assert request.url.params["since"] == "7" and request.url.params["limit"] == "10"


async def test_the_socket_says_hello_streams_changes_and_takes_status(
    sync_server: LiveServer, north_device: Device, database_url: str
) -> None:
    async with SyncSocket.open(sync_server.url, north_device.token) as (socket, hello, timing):
        assert (hello.head, hello.epoch) == (0, north_device.epoch)
        assert timing.received_ms >= timing.sent_ms
        async with SyncHttpClient(sync_server.url, north_device.token) as http:
            await http.push([mutation_model(stamper(north_device).now(), {"name": "Live"})])
        frames = socket.frames()
        frame = await asyncio.wait_for(anext(frames), 10)
        assert isinstance(frame, ChangesFrame) and (frame.from_, frame.to) == (0, 1)
        await socket.send_status(1, 0)
        conn = await asyncpg.connect(database_url)
        try:
            async with asyncio.timeout(10):
                while (
                    await conn.fetchval(
                        "SELECT status_cursor FROM devices WHERE id = $1::uuid", north_device.id
                    )
                    != 1
                ):
                    await asyncio.sleep(0.02)  # sleep-ok: polling a condition with a deadline
        finally:
            await conn.close()


async def test_a_socket_with_a_wrong_token_is_unauthorized(sync_server: LiveServer) -> None:
    with pytest.raises(Unauthorized):
        async with SyncSocket.open(sync_server.url, "not-a-token"):
            pass


async def test_a_socket_to_no_server_is_unreachable() -> None:
    with pytest.raises(ServerUnreachable):
        async with SyncSocket.open(
            f"http://127.0.0.1:{free_port()}", "t", options=SocketOptions(open_timeout=2)
        ):
            pass


async def test_a_server_shutting_down_says_it_is_restarting(database_url: str, tmp_path: Path) -> None:
    """Close 1012 reaches the engine as ``RESTARTING`` (it reconnects soon), not a lost link."""
    running = live_server(Settings(database_url=database_url, data_dir=tmp_path))
    server = running.__enter__()
    stopping: asyncio.Task[object] | None = None
    try:
        device = await enrolled_device(server.url, database_url)
        async with SyncSocket.open(server.url, device.token) as (socket, _, _):
            stopping = asyncio.create_task(asyncio.to_thread(running.__exit__, None, None, None))
            with pytest.raises(ServerRestarting, match="restarting") as caught:
                async with asyncio.timeout(20):
                    async for _ in socket.frames():
                        pass
        assert caught.value.failure is Failure.RESTARTING
    finally:
        await (stopping or asyncio.to_thread(running.__exit__, None, None, None))


async def test_a_socket_whose_link_is_cut_says_it_lost_the_connection(
    sync_server: LiveServer, north_device: Device
) -> None:
    """A cut link is a lost connection the engine retries, in those words (issue 12): not
    an answer this version does not understand, nor a server that cannot be reached."""
    port = int(sync_server.url.rsplit(":", 1)[1])
    with LinkProxy("127.0.0.1", port) as link:
        async with SyncSocket.open(link.url, north_device.token) as (socket, _, _):
            link.cut()
            lost = r"^lost the connection to the server; retrying"
            with pytest.raises(ServerUnreachable, match=lost) as cut:
                async with asyncio.timeout(20):
                    async for _ in socket.frames():
                        pass
    assert cut.value.failure is Failure.NETWORK


async def test_a_request_whose_connection_goes_says_it_lost_the_connection() -> None:
    async def answer_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")  # the request arrived; the process goes
        writer.close()

    server = await asyncio.start_server(answer_nothing, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        async with SyncHttpClient(url, "token", timeout=5) as http:
            with pytest.raises(ServerUnreachable, match=r"^lost the connection to the server at http://"):
                await http.pull(0)
    finally:
        server.close()
        await server.wait_closed()
