"""Real-time fan-out of committed changes to this process's WebSockets.

One dedicated asyncpg connection per process LISTENs on ``CHANGES_CHANNEL`` (payload:
the newest committed change number) and ``DEVICES_CHANNEL`` (payload: a device just
revoked). A notification only *wakes* the reader; the reader then reads every change
committed after the hub's head with ``server.store.change_log.read_changes`` and publishes it.
Notifications therefore never carry data and may be coalesced or even lost (while the
listener reconnects) without losing a change: the reader always catches up from its
last broadcast seq, so frames stay contiguous across a dropped listener.

Writers ``NOTIFY`` inside their transaction, so a change is committed before any
process hears of it (principle 1 of the architecture).

Commits may land out of change-number order, and a read stops below a number still in
flight (``server.store.change_numbers``). That writer's own ``NOTIFY`` normally wakes the
reader again; but a writer that rolls back sends none, and one may be heard a moment
before its mark is gone. So while the hub is behind the newest number announced, the
reader reads again after a short, growing pause (or at the next notification).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress

import asyncpg
from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from protocol.version import DEFAULT_PULL_LIMIT
from server.realtime.frames import changes_frames
from server.realtime.hub import Hub
from server.store.change_log import head_seq, read_changes
from server.store.engine import CHANGES_CHANNEL, DEVICES_CHANNEL, asyncpg_url
from server.store.tables import devices

__all__ = [
    "BEHIND_CAP_S",
    "BEHIND_FIRST_S",
    "HEALTH_CHECK_S",
    "LISTENER_APP_NAME",
    "Fanout",
    "parse_head",
    "reconnect_delays",
]

log = logging.getLogger(__name__)

LISTENER_APP_NAME = "branchsync-fanout"
"""``application_name`` of the LISTEN connection (find it in ``pg_stat_activity``)."""

HEALTH_CHECK_S = 15.0
"""How often an idle listener proves its connection is alive (a dead peer that sent no
FIN would otherwise leave us deaf until TCP gives up, which takes minutes)."""

BEHIND_FIRST_S = 0.005
BEHIND_CAP_S = 1.0
"""Pauses before reading again while a read stopped below a change still in flight."""

_DB_ERRORS = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, SQLAlchemyError)


def parse_head(payload: str) -> int | None:
    """The change number a ``CHANGES_CHANNEL`` payload announces (None if unreadable)."""
    try:
        return int(payload)
    except ValueError:
        return None


def reconnect_delays(first: float = 0.05, cap: float = 5.0) -> Iterator[float]:
    """Seconds to wait before each reconnection attempt: doubling, capped, jittered."""
    delay = first
    while True:
        yield delay * random.uniform(0.5, 1.0)
        delay = min(cap, delay * 2)


class Fanout:
    """One per process: listens for change notifications and feeds the sockets' hub."""

    def __init__(
        self,
        engine: AsyncEngine,
        database_url: str,
        *,
        queue_frames: int,
        reconnects: Counter,
        sockets_per_device: int | None = None,
    ) -> None:
        """``queue_frames`` bounds each socket's queue, ``sockets_per_device`` each device's
        sockets here (``Hub``); ``reconnects`` counts re-LISTENs."""
        self._engine = engine
        self._database_url = database_url
        self._reconnects = reconnects
        self.hub = Hub(queue_frames, sockets_per_device=sockets_per_device)
        self.listener_connected = asyncio.Event()
        """Set while the LISTEN connection is up (readiness and tests look at it)."""
        self._wake = asyncio.Event()
        self._announced_at = 0.0
        self._announced_head = 0
        """The newest change number a notification announced."""
        self._tasks: list[asyncio.Task[None]] = []
        self._read_conn: AsyncConnection | None = None

    async def start(self) -> None:
        """Find the head, LISTEN, and start broadcasting.

        Raises:
            OSError, asyncpg.PostgresError: the first LISTEN connection failed.
        """
        async with self._engine.connect() as conn:
            self.hub.head = await head_seq(conn)
        first = await self._connect()
        self._tasks = [
            asyncio.create_task(self._listen(first), name="fanout-listen"),
            asyncio.create_task(self._read(), name="fanout-read"),
        ]

    async def stop(self) -> None:
        """Close every socket and the listener."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._read_conn is not None:
            await self._read_conn.close()
            self._read_conn = None
        self.hub.close_all()

    # ---- the LISTEN connection ---------------------------------------------------

    async def _connect(self) -> asyncpg.Connection:
        conn: asyncpg.Connection = await asyncpg.connect(
            asyncpg_url(self._database_url),
            timeout=10,
            server_settings={"application_name": LISTENER_APP_NAME},
        )
        try:
            await conn.add_listener(CHANGES_CHANNEL, self._on_changes)
            await conn.add_listener(DEVICES_CHANNEL, self._on_revoked)
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def _listen(self, conn: asyncpg.Connection | None) -> None:
        """Keep one LISTEN connection up; after every (re)connection, catch up."""
        delays = reconnect_delays()
        while True:
            if conn is None:
                try:
                    conn = await self._connect()
                except _DB_ERRORS as exc:
                    log.warning("fan-out listener cannot connect (%s); retrying", exc)
                    await asyncio.sleep(next(delays))
                    continue
                delays = reconnect_delays()
                self._reconnects.inc()
            try:
                self.listener_connected.set()
                self._poke()  # whatever committed while nobody listened
                await self._close_revoked_sockets()
                await self._watch(conn)
                log.warning("fan-out listener lost its connection; reconnecting")
            except _DB_ERRORS as exc:
                log.warning("fan-out listener failed (%s); reconnecting", exc)
            except Exception:  # a bug: say so loudly, but keep listening
                log.exception("fan-out listener failed; reconnecting")
            finally:
                self.listener_connected.clear()
                conn.terminate()
                conn = None

    async def _watch(self, conn: asyncpg.Connection) -> None:
        """Return when ``conn`` is lost (or fails a periodic health check)."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        while not lost.is_set() and not conn.is_closed():
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(lost.wait(), HEALTH_CHECK_S)
                return
            await asyncio.wait_for(conn.fetchval("SELECT 1"), HEALTH_CHECK_S)

    def _on_changes(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        head = parse_head(payload)
        if head is not None:
            self._announced_head = max(self._announced_head, head)
        if head is None or head > self.hub.head:
            self._poke()

    def _poke(self) -> None:
        """Wake the reader, remembering when the first unread commit was announced."""
        if not self._wake.is_set():
            self._announced_at = time.monotonic()
            self._wake.set()

    def _on_revoked(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            device_id = uuid.UUID(payload)
        except ValueError:
            log.warning("ignoring revocation notice with payload %r", payload[:80])
            return
        closing = self.hub.revoke(device_id)
        if closing:
            log.info("closing %d socket(s) of revoked device %s", len(closing), device_id)

    async def _close_revoked_sockets(self) -> None:
        """Revocations notified while the listener was down would otherwise be missed."""
        connected = self.hub.device_ids
        if not connected:
            return
        query = select(devices.c.id).where(devices.c.id.in_(connected), devices.c.revoked_at.is_not(None))
        async with self._engine.connect() as conn:
            revoked = (await conn.execute(query)).scalars().all()
        for device_id in revoked:
            self.hub.revoke(device_id)

    # ---- the reader --------------------------------------------------------------

    async def _read(self) -> None:
        """Publish every change committed after the hub's head, whenever woken."""
        delays = reconnect_delays()
        behind = reconnect_delays(BEHIND_FIRST_S, BEHIND_CAP_S)
        while True:
            await self._wake.wait()
            self._wake.clear()
            announced_at = self._announced_at
            try:
                await self._catch_up(announced_at)
            except _DB_ERRORS as exc:
                log.warning("fan-out cannot read changes (%s); retrying", exc)
            except Exception:  # a bug: say so loudly, but keep the sockets fed
                log.exception("fan-out reader failed; retrying")
            else:
                delays = reconnect_delays()
                if self.hub.head < self._announced_head:  # stopped below a change in flight
                    await self._pause(next(behind))
                    self._poke()
                else:
                    behind = reconnect_delays(BEHIND_FIRST_S, BEHIND_CAP_S)
                continue
            await asyncio.sleep(next(delays))
            self._wake.set()
            self._announced_at = announced_at

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if a notification comes first."""
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _catch_up(self, announced_at: float) -> None:
        conn = await self._reader_connection()
        try:
            has_more = True
            while has_more:
                changes, _cursor, has_more = await read_changes(conn, self.hub.head, DEFAULT_PULL_LIMIT)
                for frame in changes_frames(self.hub.head, changes, announced_at=announced_at):
                    self.hub.publish(frame)
        except BaseException:
            self._read_conn = None
            await conn.invalidate()
            raise

    async def _reader_connection(self) -> AsyncConnection:
        """The reader's own connection, in autocommit: each read is one round trip with a
        fresh snapshot (no pool check-out, ping, BEGIN or ROLLBACK on the hot path)."""
        if self._read_conn is None:
            conn = await self._engine.connect()
            self._read_conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        return self._read_conn
