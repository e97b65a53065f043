"""Requests that do not arrive in time are closed, on a real server over raw sockets
(issue 12): half a request, headers trickled in (slowloris), a body that stops. The
server keeps answering everyone else, and a WebSocket outlives the deadline."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.settings import Settings
from tests.support.devices import enrolled_device, protocol_headers
from tests.support.live_server import LiveServer, live_server
from tests.support.sync_socket import next_frame, open_socket

DEADLINE_S = 0.5


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    settings = Settings(database_url=database_url, data_dir=tmp_path, request_read_timeout_s=DEADLINE_S)
    with live_server(settings) as running:
        yield running


async def _connect(server: LiveServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = server.url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def _until_closed(reader: asyncio.StreamReader, timeout: float = 10) -> bytes:
    """Everything the server sends until it closes the connection."""
    async with asyncio.timeout(timeout):
        return await reader.read()


async def _still_serving(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        assert (await http.get("/healthz")).status_code == 200


async def test_half_a_request_is_answered_408_in_the_contracts_form(server: LiveServer) -> None:
    reader, writer = await _connect(server)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: branchsync\r\n")  # and never the blank line
    started = time.monotonic()
    answer = await _until_closed(reader)
    waited = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body)["error"]["code"] == "request_timeout"
    assert waited >= DEADLINE_S * 0.9
    writer.close()
    await _still_serving(server)


async def test_a_connection_that_says_nothing_is_closed(server: LiveServer) -> None:
    reader, writer = await _connect(server)
    answer = await _until_closed(reader)
    assert answer.startswith(b"HTTP/1.1 408 ")
    writer.close()


async def test_headers_trickled_in_are_cut_at_the_deadline_however_steady(server: LiveServer) -> None:
    """Slowloris: each byte resets no clock; the whole head must arrive in time."""
    reader, writer = await _connect(server)
    writer.write(b"GET /healthz HTTP/1.1\r\n")
    closed = asyncio.create_task(_until_closed(reader))
    started = time.monotonic()
    for i in range(100):
        if closed.done():
            break
        writer.write(f"X-Trickle-{i}: y\r\n".encode())
        await asyncio.sleep(DEADLINE_S / 5)  # sleep-ok: the slow client's own pace
    answer = await closed
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < DEADLINE_S * 6, "the trickle kept the connection open"
    writer.close()


async def test_a_body_that_stops_arriving_closes_the_connection_and_loses_nothing(
    server: LiveServer, database_url: str
) -> None:
    device = await enrolled_device(server.url, database_url)
    reader, writer = await _connect(server)
    headers = {**protocol_headers(), **device.headers, "Content-Type": "application/json"}
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(f"POST /api/v1/sync/push HTTP/1.1\r\nHost: b\r\nContent-Length: 1000\r\n{head}\r\n".encode())
    writer.write(b'{"mutations": [')  # ... and the rest never comes
    answer = await _until_closed(reader)
    assert answer == b"", "there is no answer to a request the app is still reading"
    writer.close()
    await _still_serving(server)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        pulled = await http.get("/api/v1/sync/pull", params={"since": 0}, headers=device.headers)
    assert pulled.status_code == 200
    assert pulled.json()["changes"] == []


async def test_a_request_with_a_steady_body_is_not_cut(server: LiveServer) -> None:
    """The body's deadline is a gap between reads: a slow but moving upload completes."""
    reader, writer = await _connect(server)
    body = json.dumps({"code": "not-a-code", "device_name": "PC"}).encode()
    writer.write(
        b"POST /api/v1/enroll HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n".encode()
        + "".join(f"{k}: {v}\r\n" for k, v in protocol_headers().items()).encode()
        + b"Connection: close\r\n\r\n"
    )
    for start in range(0, len(body), 8):  # the whole body takes longer than the deadline
        writer.write(body[start : start + 8])
        await asyncio.sleep(DEADLINE_S / 4)  # sleep-ok: the slow client's own pace
    answer = await _until_closed(reader)
    assert answer.startswith(b"HTTP/1.1 4"), answer[:80]
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"]["code"] == "enroll_code_invalid"
    writer.close()


async def test_a_websocket_outlives_the_read_deadline(server: LiveServer, database_url: str) -> None:
    device = await enrolled_device(server.url, database_url)
    socket = await open_socket(server.ws_url, device)
    try:
        hello = await next_frame(socket)
        assert hello["type"] == "hello"
        await asyncio.sleep(DEADLINE_S * 3)  # sleep-ok: outlasting the deadline is the test
        pong = await socket.ping()
        async with asyncio.timeout(10):
            await pong
    finally:
        await socket.close()
