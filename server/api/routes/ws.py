"""``WS /api/v1/sync/ws``: committed changes pushed to each device as they happen.

The socket is authenticated once, at the handshake, by its ``Authorization: Bearer``
header (refused with the contract's JSON error body and 401 otherwise); a revoked
device is closed later through the hub. It then gets ``hello`` and the ``changes``
frames the hub queues for it. ``hello.head`` is where this socket's stream continues:
the first ``changes`` frame has ``from == head``. It is the newest change this process
has broadcast, which may trail a commit by a few milliseconds; a client whose cursor
differs from a frame's ``from`` pulls, as the contract says, and loses nothing.

Close codes (``protocol.wire.CloseCode``): 4000 after ``resync`` (the socket fell
behind), 4401 (device revoked), 1012 (this server is restarting), 1008 (the client sent
a frame over ``ws_client_frame_bytes`` or its device sent frames faster than
``ws_client_frames_per_s``, reason ``frame too large`` / ``too many frames``).

Each socket runs two tasks: the sender carries out its subscription's actions and the
receiver reads the client's ``status`` frames into this process's status table (no
database work: ``server.realtime.device_status`` writes them in batches). Neither can
hold up another socket: the hub never waits for a sender. When the hub closes a
subscription the sender is cancelled (its backlog is dropped, and a frame is written
whole or not at all) and the goodbye is written behind what the socket already holds:
a reader that fell behind gets its ``resync`` frame if it reads on within the ping
timeout (each socket's kernel send buffer is kept small, ``server.api.http_server``, so
little stands ahead of it); other goodbyes get ``CLOSE_GRACE_S``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from contextlib import suppress
from datetime import UTC, datetime

from fastapi import APIRouter, WebSocket
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocketDisconnect

from protocol.errors import ErrorCode
from protocol.messages import StatusFrame
from protocol.wire import SOCKET_PATH, CloseCode
from server.api.deps import device_of
from server.api.error_handlers import database_refusal, database_unavailable, error_response
from server.api.runtime import Runtime
from server.errors import ApiError
from server.identity.authentication import AuthenticatedDevice
from server.identity.rate_limit import RateLimiter
from server.realtime.device_status import DeviceStatus
from server.realtime.frames import (
    CLOSE_CODES,
    RESYNC_TEXT,
    Ignored,
    hello_text,
    parse_client_frame,
)
from server.realtime.hub import Close, CloseReason, Hub, Send, Subscription, Wait

__all__ = ["CLOSE_GRACE_S", "router"]

log = logging.getLogger(__name__)

router = APIRouter(tags=["sync"])

CLOSE_GRACE_S = 5.0
"""How long a closed socket may take to say goodbye (revoked, replaced, shutting down)
before it is dropped (a peer that stopped reading never lets it)."""


@router.websocket(SOCKET_PATH)
async def sync_socket(websocket: WebSocket) -> None:
    """Stream committed changes to an enrolled device (see the module docstring)."""
    runtime: Runtime = websocket.app.state.branchsync
    device = await _authenticate(websocket, runtime)
    if device is not None:
        await _Session(websocket, runtime, runtime.fanout.hub, device).run()


async def _deny(
    websocket: WebSocket, status: int, code: ErrorCode, message: str, headers: dict[str, str] | None = None
) -> None:
    """Refuse the handshake with the contract's JSON error body (or a close if unsupported)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(error_response(status, code, message, headers=headers))
    else:
        await websocket.close(code=CloseCode.POLICY_VIOLATION, reason=message[:120])


async def _authenticate(websocket: WebSocket, runtime: Runtime) -> AuthenticatedDevice | None:
    """The device behind the socket's bearer token, or None after refusing the handshake."""
    try:
        return await device_of(websocket, runtime, "connections from this device")
    except ApiError as refusal:
        await _deny(websocket, refusal.status, refusal.code, refusal.message, refusal.headers)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("cannot authenticate a socket: %s", exc)
        refused = database_refusal(exc) or database_unavailable()
        await _deny(websocket, refused.status, refused.code, refused.message, refused.headers)
    return None


def _abuse(size: int, max_bytes: int, limiter: RateLimiter, device_id: uuid.UUID) -> str | None:
    """Why a client frame ends its socket (too large, or its device sends too fast), or None.

    The rate is per device, so opening more sockets does not buy a flood more room; the
    limits sit far above what an engine sends (a ``status`` frame of ~100 bytes every 5 s).
    """
    if size > max_bytes:
        return "frame too large"
    if limiter.acquire(device_id, time.monotonic()) > 0:
        return "too many frames"
    return None


class _Session:
    """One accepted socket: its subscription, its sender and its receiver."""

    def __init__(self, websocket: WebSocket, runtime: Runtime, hub: Hub, device: AuthenticatedDevice) -> None:
        self.websocket = websocket
        self.runtime = runtime
        self.hub = hub
        self.device = device
        self.wake = asyncio.Event()
        self.closing = asyncio.Event()
        self.ignored = 0
        """Frames ignored on this socket."""
        self.sub: Subscription = hub.subscribe(device.id, self._on_wake)

    def _on_wake(self) -> None:
        self.wake.set()
        if self.sub.close_reason is not None:
            self.closing.set()

    async def run(self) -> None:
        try:
            if self.sub.close_reason is CloseReason.REVOKED:
                await _deny(self.websocket, 401, ErrorCode.UNAUTHORIZED, "unknown or revoked device token")
                return
            await self.websocket.accept()
            clock = self.runtime.clock
            hello = hello_text(clock.now(), self.sub.start, self.runtime.epoch, clock.wall_ms())
            await self.websocket.send_text(hello)
            await self._pump()
        except WebSocketDisconnect:
            pass  # the peer left during the hello
        finally:
            self.hub.unsubscribe(self.sub)

    async def _pump(self) -> None:
        sender = asyncio.create_task(self._send_loop())
        receiver = asyncio.create_task(self._receive_loop())
        closing = asyncio.create_task(self.closing.wait())
        tasks = (sender, receiver, closing)
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            reason = self.sub.close_reason
            if closing in done and not sender.done() and reason is not None:
                await self._end(sender, reason)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with suppress(asyncio.CancelledError, WebSocketDisconnect):
                    await task

    async def _send_loop(self) -> None:
        metrics = self.runtime.metrics
        while True:
            self.wake.clear()
            match self.sub.next_action():
                case Send(frame):
                    await self.websocket.send_text(frame.text)
                    metrics.observe_fanout(time.monotonic() - frame.announced_at)
                case Wait():
                    await self.wake.wait()
                case Close(reason):
                    await self._goodbye(reason)
                    return

    async def _end(self, sender: asyncio.Task[None], reason: CloseReason) -> None:
        """Stop ``sender`` and say goodbye in its place, within a grace.

        The backlog is gone, so the sender has nothing left to finish: it waits to be woken
        or for room to write one frame of it (uvicorn writes a frame whole or not at all).
        A reader that fell behind is still reading, so ``resync`` gets as long as a pong may.
        """
        sender.cancel()
        with suppress(asyncio.CancelledError, WebSocketDisconnect, OSError):
            await sender
        grace = self.runtime.settings.ws_ping_timeout_s if reason is CloseReason.RESYNC else CLOSE_GRACE_S
        with suppress(TimeoutError, WebSocketDisconnect, OSError):
            await asyncio.wait_for(self._goodbye(reason), grace)

    async def _goodbye(self, reason: CloseReason) -> None:
        """Close the socket for ``reason``, after a ``resync`` frame when it fell behind."""
        if reason is CloseReason.RESYNC:
            await self.websocket.send_text(RESYNC_TEXT)
        code, why = CLOSE_CODES[reason]
        await self.websocket.close(code, why)

    async def _receive_loop(self) -> None:
        statuses = self.runtime.statuses
        settings = self.runtime.settings
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text: str | None = message.get("text")
            data: str | bytes = text if text is not None else message.get("bytes") or b""
            abuse = _abuse(
                len(data), settings.ws_client_frame_bytes, self.runtime.frame_limiter, self.device.id
            )
            if abuse is not None:
                self.hub.stats.policy_closes += 1
                log.warning("closing a socket of device %s: %s", self.device.id, abuse)
                await self.websocket.close(CloseCode.POLICY_VIOLATION, abuse)
                return
            match parse_client_frame(data):
                case StatusFrame() as status:
                    self.hub.stats.status_frames += 1
                    statuses.record(self.device.id, DeviceStatus.of(status, datetime.now(UTC)))
                case Ignored(reason):
                    self.hub.stats.ignored_client_frames += 1
                    self.ignored += 1
                    # the first one says what is wrong; a flood must not flood the log too
                    level = logging.INFO if self.ignored == 1 else logging.DEBUG
                    log.log(level, "ignored a frame from device %s: %s", self.device.id, reason)
