"""How uvicorn serves the app: its options, deadlines for reading each request, and a
bounded send buffer for each WebSocket.

uvicorn has no request-read timeout: a connection that sends half a request line, or
headers one byte every few seconds (slowloris), or a body that stops arriving, is held
open for as long as the peer likes, and enough of them exhaust the process's file
descriptors. ``BoundedHttpProtocol`` is uvicorn's own HTTP protocol with two deadlines
added, as nginx has them (``client_header_timeout``, ``client_body_timeout``):

- a request's line and headers must all arrive within ``read_timeout_s`` of its first
  byte (of the connection opening, for its first request); otherwise it is answered 408
  in the contract's JSON form and the connection is closed;
- while a body is arriving, no gap between two reads may exceed ``read_timeout_s``;
  otherwise the connection is closed (the app is already handling the request, so
  there is no answer to write: its read ends as a client disconnect).

A connection upgraded to a WebSocket leaves both to the socket's protocol pings, and
gets a kernel send buffer of ``ws_send_buffer_bytes`` instead of one that grows to
megabytes: what a reader has not taken then waits in the hub's bounded queue, where
falling behind is seen (and answered with ``resync``), not in the kernel, where it
would hide thousands of stale frames ahead of the ``resync`` frame.

Both ``serve`` and the tests' live server take ``uvicorn_options`` so they run alike.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from protocol.errors import ErrorCode
from protocol.version import MAX_PUSH_BYTES
from protocol.wire import error_body
from server.settings import Settings

__all__ = ["BoundedHttpProtocol", "bounded_http_protocol", "uvicorn_options"]

log = logging.getLogger(__name__)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn settings the server relies on (pings, frame size, read deadlines)."""
    return {
        "http": bounded_http_protocol(settings.request_read_timeout_s, settings.ws_send_buffer_bytes),
        "ws": "websockets-sansio",  # writes each frame whole, or not at all (routes/ws relies on it)
        "ws_ping_interval": settings.ws_ping_interval_s,
        "ws_ping_timeout": settings.ws_ping_timeout_s,
        "ws_max_size": MAX_PUSH_BYTES,
    }


def bounded_http_protocol(read_timeout_s: float, ws_send_buffer_bytes: int) -> type[BoundedHttpProtocol]:
    """``BoundedHttpProtocol`` with its bounds set (uvicorn instantiates the class itself)."""
    if read_timeout_s <= 0 or ws_send_buffer_bytes <= 0:
        raise ValueError("read_timeout_s and ws_send_buffer_bytes must be positive")
    bounds = {"read_timeout_s": read_timeout_s, "ws_send_buffer_bytes": ws_send_buffer_bytes}
    return type("BoundedHttpProtocol", (BoundedHttpProtocol,), bounds)


class BoundedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, closing requests not read in time and giving each
    WebSocket a small send buffer (see above)."""

    read_timeout_s: ClassVar[float] = 30.0
    ws_send_buffer_bytes: ClassVar[int] = 64 * 1024
    _deadline: asyncio.TimerHandle | None = None
    _reading_body = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._headers_late)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._reading_body:  # a gap is measured from the last read
            self._arm(self._body_stalled)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # the next request on a kept-alive connection
            self._arm(self._headers_late)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._reading_body = True  # until on_message_complete, which may come in this very read
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._reading_body = False
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        self._reading_body = False
        raw = self.transport.get_extra_info("socket")
        if raw is not None:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.ws_send_buffer_bytes)
        super().handle_websocket_upgrade()

    def _arm(self, callback: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.read_timeout_s, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_late(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        log.info("closed a connection from %s: no whole request in %ss", self._peer(), self.read_timeout_s)
        message = f"the request did not arrive within {self.read_timeout_s:g} s"
        body = json.dumps(error_body(ErrorCode.REQUEST_TIMEOUT, message), separators=(",", ":")).encode()
        self.transport.write(
            b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
            + body
        )
        self.transport.close()

    def _body_stalled(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            log.info("closed a connection from %s: its body stalled %ss", self._peer(), self.read_timeout_s)
            self.transport.close()

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "an unknown peer"
