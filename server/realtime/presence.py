"""Which devices hold a socket on this process, told to the other processes.

Behind a load balancer a device's socket lives on one process, but any process may
serve the dashboard or a Prometheus scrape. Every ``presence_interval_s`` each process
rewrites its rows of ``device_presence`` from its hub; a row older than three
intervals belongs to a process that died and counts for nothing (and is swept).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from contextlib import suppress
from datetime import timedelta

from sqlalchemy import delete, func, insert, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.background import cancel_and_wait, repeat
from server.realtime.hub import Hub
from server.store.ops_tables import device_presence
from server.store.tables import devices

__all__ = ["Presence", "presence_ttl"]

log = logging.getLogger(__name__)


def presence_ttl(interval_s: float) -> timedelta:
    """How long a heartbeat row counts: three beats, so one late beat changes nothing."""
    return timedelta(seconds=3 * interval_s)


class Presence:
    """Heartbeat of this process's connected devices into ``device_presence``."""

    def __init__(self, engine: AsyncEngine, hub: Hub, *, node: str, interval_s: float) -> None:
        """``node`` is this process's clock node (the rows' ``process_id`` starts with it)."""
        self._engine = engine
        self._hub = hub
        self._interval_s = interval_s
        self.process_id = f"{node}.{secrets.token_hex(4)}"
        self._task: asyncio.Task[None] | None = None

    def connected_here(self) -> set[uuid.UUID]:
        return self._hub.device_ids

    async def start(self) -> None:
        interval = self._interval_s
        failure = "cannot record which devices are connected here"
        self._task = asyncio.create_task(repeat(self.beat, interval, failure, log), name="presence")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        with suppress(SQLAlchemyError, OSError):
            async with self._engine.begin() as conn:
                await conn.execute(
                    delete(device_presence).where(device_presence.c.process_id == self.process_id)
                )

    async def beat(self) -> None:
        """Replace this process's rows with its current sockets (and mark those devices
        seen now); sweep the rows of processes that stopped beating."""
        ids = self.connected_here()
        ttl = presence_ttl(self._interval_s)
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(device_presence).where(
                    (device_presence.c.process_id == self.process_id)
                    | (device_presence.c.seen_at < func.now() - ttl)
                )
            )
            if ids:
                await conn.execute(
                    insert(device_presence), [{"process_id": self.process_id, "device_id": i} for i in ids]
                )
                # a socket may stay open for days: keep "last seen" true to the beat, so a
                # device that disconnects shows as gone just now, not since it connected
                await conn.execute(update(devices).where(devices.c.id.in_(ids)).values(last_seen=func.now()))
