"""A device's sync WebSocket, driven exactly as a desktop client would drive it.

Shared by the WebSocket and fan-out tests: connect with the device's headers, read
frames with a deadline and check that ``changes`` frames continue each other
(pushes go through ``tests.support.sync_client``).
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect

from tests.support.devices import Device

__all__ = [
    "WS_PATH",
    "changes_until",
    "next_frame",
    "open_socket",
    "small_window_socket",
]

WS_PATH = "/api/v1/sync/ws"


async def open_socket(ws_url: str, device: Device, **options: Any) -> ClientConnection:
    """The device's sync socket (no proxy, no compression unless asked)."""
    options.setdefault("compression", None)
    return await connect(
        ws_url + WS_PATH, additional_headers=device.headers, proxy=None, open_timeout=10, **options
    )


async def small_window_socket(ws_url: str, receive_buffer: int = 4096) -> socket.socket:
    """A connected TCP socket with a tiny receive window: a peer that stops reading
    fills it (and then the server's buffers) quickly."""
    parts = urlsplit(ws_url)
    assert parts.hostname is not None and parts.port is not None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
    return sock


async def next_frame(ws: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    """The next frame as JSON (TimeoutError when none comes in time)."""
    async with asyncio.timeout(timeout):
        text = await ws.recv()
    frame: dict[str, Any] = json.loads(text)
    return frame


async def changes_until(
    ws: ClientConnection, cursor: int, seq: int, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Read ``changes`` frames from ``cursor`` until one reaches ``seq``.

    Asserts what a client relies on: every frame starts where the last one ended.
    """
    frames: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while cursor < seq:
            frame = json.loads(await ws.recv())
            assert frame["type"] == "changes", frame
            assert frame["from"] == cursor, f"frame {frame['from']}..{frame['to']} after cursor {cursor}"
            assert [c["seq"] for c in frame["changes"]][-1] == frame["to"]
            cursor = frame["to"]
            frames.append(frame)
    return frames
