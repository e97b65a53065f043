"""A TCP proxy between a client and a server that can cut, stall and slow the link.

It runs its own asyncio loop in a background thread, so both synchronous and
asynchronous tests drive it with plain method calls. Faults are real: a cut resets
every connection (RST) and resets new ones at once, a stall keeps connections open
but forwards nothing (a dead link only pings can find), a slow link delays every
chunk.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Coroutine
from contextlib import suppress
from typing import Any, TypeVar

__all__ = ["TcpProxy"]

_T = TypeVar("_T")
_CHUNK = 64 * 1024


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target_host:target_port``.

    Use as a context manager (or ``start()``/``close()``).
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._refusing = False
        self._flowing: dict[str, asyncio.Event] = {}
        self._delay = 0.0
        self.port = 0
        self.accepted = 0
        """Connections accepted so far (refused ones included)."""

    # ---- life ----------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._start())
        return self

    def close(self) -> None:
        with suppress(RuntimeError):
            self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def open_links(self) -> int:
        """Connections currently forwarded."""
        return len(self._links)

    # ---- faults ----------------------------------------------------------------------

    def cut(self) -> None:
        """Reset every connection and every new one until ``restore()``."""
        self._call(self._cut())

    def stall(self, direction: str = "both") -> None:
        """Keep connections open but forward no byte until ``restore()``.

        Args:
            direction: ``"both"``, ``"to_server"`` or ``"to_client"`` (the server still
                gets requests and acts on them, but its answers never arrive).
        """
        for way in ("to_server", "to_client") if direction == "both" else (direction,):
            self._call(self._set_flowing(way, False))

    def slow(self, delay: float) -> None:
        """Delay every chunk, both ways, by ``delay`` seconds."""
        self._delay = delay

    def retarget(self, host: str, port: int) -> None:
        """Forward new connections to another server (one that replaced a stopped one)."""
        self._target = (host, port)

    def inject_to_clients(self, data: bytes) -> None:
        """Write ``data`` to every client as if the server had sent it (a forged frame)."""
        self._call(self._inject(data))

    def restore(self) -> None:
        """A healthy link again."""
        self._refusing = False
        self._delay = 0.0
        for way in ("to_server", "to_client"):
            self._call(self._set_flowing(way, True))

    # ---- inside the proxy's loop -----------------------------------------------------

    def _call(self, work: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    async def _start(self) -> None:
        self._flowing = {"to_server": asyncio.Event(), "to_client": asyncio.Event()}
        for event in self._flowing.values():
            event.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        await self._cut()
        for handler in self._handlers:
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _cut(self) -> None:
        self._refusing = True
        for client, upstream in list(self._links):
            _reset(client)
            _reset(upstream)
        self._links.clear()

    async def _inject(self, data: bytes) -> None:
        for client, _ in self._links:
            client.write(data)
            await client.drain()

    async def _set_flowing(self, way: str, flowing: bool) -> None:
        if flowing:
            self._flowing[way].set()
        else:
            self._flowing[way].clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        me = asyncio.current_task()
        assert me is not None
        self._handlers.add(me)
        try:
            await self._forward(reader, writer)
        finally:
            self._handlers.discard(me)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            _reset(writer)
            return
        link = (writer, up_writer)
        self._links.add(link)
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, self._flowing["to_server"]),
                self._pipe(up_reader, writer, self._flowing["to_client"]),
            )
        finally:
            self._links.discard(link)
            for end in link:
                end.transport.abort()

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, flowing: asyncio.Event
    ) -> None:
        try:
            while chunk := await source.read(_CHUNK):
                await flowing.wait()
                if self._delay:
                    await asyncio.sleep(self._delay)  # noqa: sleep-ok (the fault being injected)
                sink.write(chunk)
                await sink.drain()
            if sink.can_write_eof():
                sink.write_eof()
        except (ConnectionError, OSError):
            _reset(sink)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset, as a dropped link looks to the other end."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
