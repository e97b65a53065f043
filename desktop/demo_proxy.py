"""A TCP relay whose link can be cut or stalled: the demo's "internet outage" switch.

The demo points each branch window at its own relay in front of the server, so a
newcomer can pull the plug on one branch and watch its edits queue, then sync and
resolve when the link comes back. Tests use it to stall the server while someone
types. The relay runs its own asyncio loop on a daemon thread and is driven with
plain method calls from any thread.

Link states:

* ``UP``: bytes flow both ways.
* ``CUT``: every connection is reset and the port stops listening, so new connections
  are refused, as when the line is down: the client sees resets, then "connection
  refused", and goes offline. The same port listens again on ``restore()``.
* ``STALLED``: connections stay open but nothing is read from either side, as on a
  link that silently drops packets: only timeouts and pings can tell.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from enum import Enum
from typing import TypeVar

__all__ = ["LinkProxy", "LinkState"]

_T = TypeVar("_T")


class LinkState(Enum):
    UP = "up"
    CUT = "cut"
    STALLED = "stalled"


class _End(asyncio.Protocol):
    """One side of a relayed connection; hands what it reads to its peer."""

    def __init__(self, relay: LinkProxy) -> None:
        self.relay = relay
        self.transport: asyncio.Transport | None = None
        self.peer: _End | None = None
        self.early: list[bytes] = []
        """Bytes read before the peer connected."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.relay.state is LinkState.CUT:
            self.abort()
            return
        self.relay._ends.add(self)
        if self.relay.state is LinkState.STALLED:
            transport.pause_reading()

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)
        else:
            self.early.append(data)

    def eof_received(self) -> bool:
        peer = self.peer
        if peer is not None and peer.transport is not None and peer.transport.can_write_eof():
            peer.transport.write_eof()
            return True
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.relay._ends.discard(self)
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.close()

    def abort(self) -> None:
        """Drop the connection with a reset (RST), as a dead link looks to the other end."""
        if self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


class LinkProxy:
    """Relays ``127.0.0.1:<port>`` to ``target_host:target_port``.

    Use as a context manager, or ``start()`` then ``close()``.
    """

    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1") -> None:
        self._target = (target_host, target_port)
        self._host = host
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="branchsync-link", daemon=True)
        self._server: asyncio.Server | None = None
        self._ends: set[_End] = set()
        self._connecting: set[asyncio.Task[None]] = set()
        self._state = LinkState.UP
        self.port = 0

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: what a client uses instead of the server's own URL."""
        return f"http://{self._host}:{self.port}"

    @property
    def state(self) -> LinkState:
        return self._state

    @property
    def open_connections(self) -> int:
        """Relayed connections (each counted once)."""
        return self._run(lambda: sum(1 for end in self._ends if end.peer is not None) // 2)

    # ---- life ------------------------------------------------------------------------

    def start(self) -> LinkProxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        self.port = future.result(timeout=10)
        return self

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> LinkProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- the switch ------------------------------------------------------------------

    def cut(self) -> None:
        """Abort every connection, and every new one, until ``restore()``."""
        self._set(LinkState.CUT)

    def stall(self) -> None:
        """Keep connections open but stop reading from either side, until ``restore()``."""
        self._set(LinkState.STALLED)

    def restore(self) -> None:
        """Let bytes flow again (a stalled connection carries on where it stopped)."""
        self._set(LinkState.UP)

    def _set(self, state: LinkState) -> None:
        asyncio.run_coroutine_threadsafe(self._switch(state), self._loop).result(timeout=10)

    async def _switch(self, state: LinkState) -> None:
        self._state = state
        if state is LinkState.CUT:
            if self._server is not None:
                self._server.close()
                self._server = None
        elif self._server is None:
            self._server = await self._loop.create_server(self._accepted, self._host, self.port)
        for end in list(self._ends):
            if state is LinkState.CUT:
                end.abort()
            elif end.transport is not None and not end.transport.is_closing():
                if state is LinkState.STALLED:
                    end.transport.pause_reading()
                else:
                    end.transport.resume_reading()

    # ---- inside the loop -------------------------------------------------------------

    def _run(self, work: Callable[[], _T]) -> _T:
        async def call() -> _T:
            return work()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout=10)

    async def _listen(self) -> int:
        self._server = await self._loop.create_server(self._accepted, self._host, 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    def _accepted(self) -> _End:
        client = _End(self)  # aborts itself on arrival if the link was cut meanwhile
        if self._state is not LinkState.CUT:
            task = self._loop.create_task(self._connect(client))
            self._connecting.add(task)
            task.add_done_callback(self._connecting.discard)
        return client

    async def _connect(self, client: _End) -> None:
        try:
            _, upstream = await self._loop.create_connection(lambda: _End(self), *self._target)
        except OSError:
            client.abort()
            return
        if client.transport is None or client.transport.is_closing() or self._state is LinkState.CUT:
            upstream.abort()
            client.abort()
            return
        client.peer, upstream.peer = upstream, client
        for end in (client, upstream):
            early, end.early = end.early, []
            for data in early:
                end.data_received(data)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connecting):
            task.cancel()
        await asyncio.gather(*self._connecting, return_exceptions=True)
        for end in list(self._ends):
            end.abort()
        if self._server is not None:
            await self._server.wait_closed()
