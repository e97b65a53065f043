"""The engine's WebSocket side (websockets): connect, wait for ``hello``, read frames.

Protocol-level pings (websockets' keepalive) find a dead link even when no frame
is due, and a stalled peer fails the connection after ``ping_timeout``. Every way
the socket can fail is translated here into a ``TransportError`` carrying the
``Failure`` the core reasons about.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
    InvalidURI,
)

from desktop.config.tls import default_client_context
from desktop.sync.errors import BadAnswer, ServerRestarting, ServerUnreachable, Unauthorized, error_for_status
from desktop.sync.events import Frame, Timing
from desktop.sync.frames import parse_frame, status_text
from desktop.sync.http_client import base_headers
from protocol.errors import InvalidTimestamp
from protocol.hlc import parse, system_wall_ms
from protocol.messages import HelloFrame
from protocol.wire import SOCKET_PATH, CloseCode

__all__ = ["MAX_FRAME_BYTES", "REVOKED_CLOSE_CODE", "SocketOptions", "SyncSocket", "socket_url"]

REVOKED_CLOSE_CODE = CloseCode.REVOKED
"""The server closes a live socket with this code when the device is revoked."""
MAX_FRAME_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SocketOptions:
    """Timeouts of the socket, in seconds (tests shrink them to find a stalled link fast)."""

    open_timeout: float = 15.0
    """For the handshake and the ``hello`` together."""
    ping_interval: float = 20.0
    ping_timeout: float = 20.0
    close_timeout: float = 2.0
    """For the closing handshake: a peer that stopped answering must not hold up a shutdown."""


def socket_url(server_url: str) -> str:
    """The socket's URL for a server base URL (``https`` -> ``wss``)."""
    base = server_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + SOCKET_PATH
    if base.startswith("http://"):
        return "ws://" + base.removeprefix("http://") + SOCKET_PATH
    raise ValueError(f"the server URL must start with http:// or https://, not {server_url!r}")


class SyncSocket:
    """An open socket after its ``hello``."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        server_url: str,
        token: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        options: SocketOptions | None = None,
        wall_ms: Callable[[], int] = system_wall_ms,
    ) -> AsyncIterator[tuple[SyncSocket, HelloFrame, Timing]]:
        """Connect and wait for the server's ``hello``; closed on leaving the block.

        Raises:
            TransportError: the handshake was refused or failed, or no ``hello`` came.
        """
        options = options or SocketOptions()
        url = socket_url(server_url)
        sent = wall_ms()
        try:
            async with asyncio.timeout(options.open_timeout):
                connection = await connect(
                    url,
                    additional_headers=base_headers(token),
                    ssl=(ssl_context or default_client_context()) if url.startswith("wss://") else None,
                    open_timeout=None,
                    ping_interval=options.ping_interval,
                    ping_timeout=options.ping_timeout,
                    max_size=MAX_FRAME_BYTES,
                    close_timeout=options.close_timeout,
                    user_agent_header=None,
                )
        except Exception as exc:  # websockets closed whatever it had opened
            raise _translated(exc, url) from exc
        try:
            try:
                async with asyncio.timeout(options.open_timeout):
                    hello = await _hello(connection, url)
            except TimeoutError as exc:
                raise ServerUnreachable(f"no hello from {url} in time") from exc
            yield cls(connection), hello, Timing(sent, wall_ms())
        finally:
            await _close(connection)

    async def frames(self) -> AsyncIterator[Frame]:
        """Every frame after the ``hello``, until the socket closes.

        Raises:
            TransportError: the socket dropped, the peer stopped answering pings, or
                the server closed it (``Unauthorized`` when it revoked this device).
        """
        while True:
            try:
                data = await self._connection.recv()
            except Exception as exc:
                raise _translated(exc, "the socket") from exc
            yield parse_frame(data)

    async def send_status(self, cursor: int, pending: int) -> None:
        """Tell the server where this device is; a socket that is going away ignores it."""
        with suppress(ConnectionClosed):  # the reader of this socket reports the closing
            await self._connection.send(status_text(cursor, pending))


async def _hello(connection: ClientConnection, url: str) -> HelloFrame:
    """The server's first frame, which must be a ``hello`` with a valid clock."""
    try:
        first = await connection.recv()
    except Exception as exc:
        raise _translated(exc, url) from exc
    hello = parse_frame(first)
    if not isinstance(hello, HelloFrame):
        raise BadAnswer(f"the server's first frame on {url} is not a hello")
    try:
        parse(hello.server_hlc)
    except InvalidTimestamp as exc:
        raise BadAnswer(f"the server's hello on {url} carries no valid clock") from exc
    return hello


async def _close(connection: ClientConnection) -> None:
    """Close politely; if even that is cut short (cancelled), drop the connection at once."""
    try:
        await connection.close()
    except BaseException:
        connection.transport.abort()
        raise


def _translated(exc: Exception, where: str) -> Exception:
    """The ``TransportError`` a websockets/OS error stands for; anything else is a bug and
    comes back unchanged (raising it ``from`` itself only repeats it in the traceback)."""
    match exc:
        case InvalidStatus():
            response = exc.response
            body = bytes(response.body or b"")
            return error_for_status(response.status_code, body, response.headers.get("Retry-After"))
        case ConnectionClosed() if exc.rcvd is not None and exc.rcvd.code == REVOKED_CLOSE_CODE:
            return Unauthorized(401, "unauthorized", exc.rcvd.reason or "this device was revoked")
        case ConnectionClosed() if exc.rcvd is not None and exc.rcvd.code == CloseCode.SERVICE_RESTART:
            return ServerRestarting("the server is restarting; reconnecting shortly")
        case ConnectionClosed():
            return ServerUnreachable(f"lost the connection to the server; retrying ({exc})")
        case TimeoutError():
            return ServerUnreachable(f"no answer from {where} in time")
        case OSError() | EOFError():
            return ServerUnreachable(f"cannot reach {where}: {exc}")
        case InvalidURI():
            return ServerUnreachable(f"bad server address {where}: {exc}")
        case InvalidMessage() if _cut_off(exc):
            # The connection ended before a whole HTTP answer came: a server restarting (or
            # a proxy dropping it), not an answer this version cannot read.
            return ServerUnreachable(f"lost the connection to {where} before the server answered; retrying")
        case InvalidHandshake():
            return BadAnswer(f"the socket handshake with {where} failed: {exc}")
        case _:
            return exc


def _cut_off(exc: InvalidMessage) -> bool:
    """Whether the handshake's answer is missing because the connection ended (EOF, reset)."""
    return isinstance(exc.__cause__, EOFError | OSError)
