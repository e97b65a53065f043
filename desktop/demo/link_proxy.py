"""A TCP relay whose link can be cut, stalled or slowed: the demo's "internet outage" switch.

The demo points each branch window at its own relay in front of the server, so a
newcomer can pull the plug on one branch and watch its edits queue, then sync and
resolve when the link comes back. The fault tests put the same relay between an
engine and a live server. It runs its own asyncio loop on a daemon thread and is
driven with plain method calls from any thread. Faults are real:

* ``cut()``: every connection is reset (RST) and the port stops listening, so new
  connections are refused, as when the line is down: the client sees resets, then
  "connection refused", and goes offline. The same port listens again on ``restore()``.
* ``stall()``: connections stay open but no byte is forwarded (both ways, or one way),
  as on a link that silently drops packets: only timeouts and pings can tell.
* ``slow(delay)``: every chunk is delayed, both ways.
* ``retarget(host, port)``: new connections go to another server (one that replaced a
  stopped one); ``inject_to_clients(data)`` writes to every client as if the server had
  sent it (a forged frame).

``restore()`` ends every fault: bytes flow again, undelayed (a stalled connection
carries on where it stopped).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Coroutine
from contextlib import suppress
from enum import Enum
from typing import Any, Literal, TypeVar

__all__ = ["Direction", "LinkProxy", "LinkState"]

_T = TypeVar("_T")
_CHUNK = 64 * 1024

Direction = Literal["both", "to_server", "to_client"]
_WAYS: tuple[Literal["to_server"], Literal["to_client"]] = ("to_server", "to_client")


class LinkState(Enum):
    UP = "up"
    CUT = "cut"
    STALLED = "stalled"


class LinkProxy:
    """Relays ``<host>:<port>`` (loopback by default) to ``target_host:target_port``.

    Use as a context manager, or ``start()`` then ``close()``.
    """

    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self._host = host
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="branchsync-link", daemon=True)
        self._server: asyncio.Server | None = None
        self._held: socket.socket | None = None
        """While cut: the port, bound but not listening (connections are refused, and no other
        program can take the port before ``restore()`` listens on it again)."""
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._flowing: dict[str, asyncio.Event] = {}
        self._state = LinkState.UP
        self._delay = 0.0
        self.port = 0
        self.accepted = 0
        """Connections accepted so far (ones reset at once included)."""

    @property
    def url(self) -> str:
        """``http://<host>:<port>``: what a client uses instead of the server's own URL."""
        return f"http://{self._host}:{self.port}"

    @property
    def state(self) -> LinkState:
        return self._state

    @property
    def open_connections(self) -> int:
        """Connections currently relayed."""
        return len(self._links)

    # ---- life ------------------------------------------------------------------------

    def start(self) -> LinkProxy:
        self._thread.start()
        self._call(self._start())
        return self

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        with suppress(RuntimeError):
            self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> LinkProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- the faults ------------------------------------------------------------------

    def cut(self) -> None:
        """Reset every connection and refuse new ones until ``restore()``."""
        self._call(self._cut())

    def stall(self, direction: Direction = "both") -> None:
        """Keep connections open but forward no byte until ``restore()``.

        Args:
            direction: ``"both"``, ``"to_server"`` or ``"to_client"`` (the server still
                gets requests and acts on them, but its answers never arrive).
        """
        ways = _WAYS if direction == "both" else (direction,)
        self._call(self._stall(ways))

    def slow(self, delay: float) -> None:
        """Delay every chunk, both ways, by ``delay`` seconds."""
        self._delay = delay

    def retarget(self, host: str, port: int) -> None:
        """Relay new connections to another server (one that replaced a stopped one)."""
        self._target = (host, port)

    def inject_to_clients(self, data: bytes) -> None:
        """Write ``data`` to every client as if the server had sent it (a forged frame)."""
        self._call(self._inject(data))

    def restore(self) -> None:
        """A healthy link again."""
        self._call(self._restore())

    # ---- inside the relay's loop -----------------------------------------------------

    def _call(self, work: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=10)

    async def _start(self) -> None:
        self._flowing = {way: asyncio.Event() for way in _WAYS}
        for event in self._flowing.values():
            event.set()
        self._server = await asyncio.start_server(self._accept, self._host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        await self._cut()
        if self._held is not None:
            self._held.close()
            self._held = None
        for handler in list(self._handlers):
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _cut(self) -> None:
        self._state = LinkState.CUT
        if self._server is not None:
            self._server.close()
            self._server = None
            self._held = _hold(self._host, self.port)
        for client, upstream in list(self._links):
            _reset(client)
            _reset(upstream)
        self._links.clear()

    async def _stall(self, ways: tuple[str, ...]) -> None:
        for way in ways:
            self._flowing[way].clear()
        if self._state is LinkState.UP:
            self._state = LinkState.STALLED

    async def _restore(self) -> None:
        self._delay = 0.0
        for event in self._flowing.values():
            event.set()
        if self._server is None:
            if self._held is not None:
                self._held.close()
                self._held = None
            self._server = await asyncio.start_server(self._accept, self._host, self.port)
        self._state = LinkState.UP

    async def _inject(self, data: bytes) -> None:
        for client, _ in list(self._links):
            client.write(data)
            await client.drain()

    def _is_cut(self) -> bool:
        return self._state is LinkState.CUT

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        me = asyncio.current_task()
        assert me is not None
        self._handlers.add(me)
        try:
            await self._relay(reader, writer)
        except asyncio.CancelledError:
            pass  # close() ends its own handlers; the server would log a cancelled one as an error
        finally:
            self._handlers.discard(me)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._is_cut():  # accepted just before the port closed
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            _reset(writer)
            return
        if self._is_cut():  # cut while it connected
            _reset(up_writer)
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
                    await asyncio.sleep(self._delay)  # sleep-ok: the fault being injected
                sink.write(chunk)
                await sink.drain()
            if sink.can_write_eof():
                sink.write_eof()
        except (ConnectionError, OSError):
            _reset(sink)


def _hold(host: str, port: int) -> socket.socket | None:
    """Bind ``port`` without listening on it (None if that fails: the port is then merely free)."""
    held = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind((host, port))
    except OSError:
        held.close()
        return None
    return held


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset (RST), as a dropped link looks to the other end."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
