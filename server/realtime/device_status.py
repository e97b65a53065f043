"""Where each device says it is (``status`` frames), kept for monitoring off the write path.

A socket's ``status`` frame only replaces the device's entry in this process's
``StatusTable``: no database work on the socket path, however chatty the client (a
desktop before version 11 sends one per change it applies). Every
``status_flush_interval_s`` the ``StatusFlusher`` writes all entries that changed in
ONE ``UPDATE devices ... FROM unnest(...)`` on a connection of its own, which pushes
and pulls never wait for, and once more when the process stops.

Each entry carries when it was heard (``at``, this process's wall clock), stored as
``devices.status_at``; a row is only overwritten by a newer entry, so a process still
holding an older status of a device that moved to another process never puts it back.
Readers (the fleet view behind the dashboard and ``/metrics``) overlay ``unflushed()``
on the database rows by the same rule, so this process's devices show at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from protocol.messages import StatusFrame
from server.background import cancel_and_wait, repeat

__all__ = ["FLUSH_SQL", "DeviceStatus", "StatusFlusher", "StatusStats", "StatusTable", "write_statuses"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """The latest ``status`` a device sent, and when this process heard it."""

    cursor: int
    pending: int
    app_version: str | None
    at: datetime

    @classmethod
    def of(cls, frame: StatusFrame, at: datetime) -> DeviceStatus:
        return cls(frame.cursor, frame.pending, frame.app_version, at)


@dataclass(slots=True)
class StatusStats:
    """What the flusher did, for ``/metrics``."""

    flushes: int = 0
    """Batched writes that committed (an interval with nothing new writes nothing)."""
    rows_written: int = 0
    """Device statuses those writes carried."""
    failures: int = 0


class StatusTable:
    """The newest status per device not yet in the database, for this process."""

    def __init__(self) -> None:
        self._unflushed: dict[uuid.UUID, DeviceStatus] = {}
        self._in_flight: dict[uuid.UUID, DeviceStatus] = {}
        self.stats = StatusStats()

    def __len__(self) -> int:
        return len(self._unflushed)

    def record(self, device_id: uuid.UUID, status: DeviceStatus) -> None:
        """Keep ``status`` as the device's newest (it replaces an unflushed older one)."""
        self._unflushed[device_id] = status

    def unflushed(self) -> dict[uuid.UUID, DeviceStatus]:
        """Every status heard here that the database may not show yet (being written or not)."""
        return {**self._in_flight, **self._unflushed}

    def take(self) -> dict[uuid.UUID, DeviceStatus]:
        """Hand over the unflushed entries for one write; ``done`` (or ``failed``) must follow."""
        batch, self._unflushed = self._unflushed, {}
        self._in_flight = batch
        return batch

    def done(self) -> None:
        """The taken batch is in the database."""
        self.stats.flushes += 1
        self.stats.rows_written += len(self._in_flight)
        self._in_flight = {}

    def failed(self) -> None:
        """The taken batch did not commit: keep its entries for the next round, unless a
        newer status of the same device arrived meanwhile."""
        self.stats.failures += 1
        for device_id, status in self._in_flight.items():
            self._unflushed.setdefault(device_id, status)
        self._in_flight = {}


FLUSH_SQL = text(
    """
    UPDATE devices AS d
       SET status_cursor = v.cursor,
           status_pending = v.pending,
           status_at = v.at,
           app_version = COALESCE(v.app_version, d.app_version)
      FROM unnest(
               CAST(:ids AS uuid[]), CAST(:cursors AS bigint[]), CAST(:pendings AS integer[]),
               CAST(:ats AS timestamptz[]), CAST(:versions AS text[])
           ) AS v(id, cursor, pending, at, app_version)
     WHERE d.id = v.id AND (d.status_at IS NULL OR d.status_at <= v.at)
    """
)
"""All statuses of one flush in one statement (arrays: one round trip, one plan, any size)."""


async def write_statuses(conn: AsyncConnection, batch: Mapping[uuid.UUID, DeviceStatus]) -> int:
    """Store ``batch`` in one statement; returns the rows it changed (an older entry than
    the row's, or a device since deleted, changes none)."""
    if not batch:
        return 0
    ids = list(batch)
    statuses = [batch[i] for i in ids]
    result = await conn.execute(
        FLUSH_SQL,
        {
            "ids": ids,
            "cursors": [s.cursor for s in statuses],
            "pendings": [s.pending for s in statuses],
            "ats": [s.at for s in statuses],
            "versions": [s.app_version for s in statuses],
        },
    )
    return result.rowcount


class StatusFlusher:
    """Writes a ``StatusTable`` to ``devices`` every ``interval_s`` on ``engine``: the app
    gives it a connection of its own, shared with presence only (so a slow database delays
    monitoring, never a push)."""

    def __init__(self, table: StatusTable, engine: AsyncEngine, *, interval_s: float) -> None:
        self.table = table
        self._engine = engine
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        failure = "cannot store the devices' status"
        self._task = asyncio.create_task(repeat(self.flush, self._interval_s, failure, log), name="status")

    async def stop(self) -> None:
        """Stop the rounds and write what is left (best effort: the database may be gone)."""
        await cancel_and_wait(self._task)
        self._task = None
        try:
            await self.flush()
        except (SQLAlchemyError, OSError) as exc:
            log.warning("could not store the devices' last status: %s", exc)

    async def flush(self) -> int:
        """Write every unflushed status now, in one statement; returns the rows changed.

        Raises:
            SQLAlchemyError, OSError: the database did not take it (the entries are kept).
        """
        async with self._lock:
            batch = self.table.take()
            if not batch:
                return 0
            try:
                async with self._engine.begin() as conn:
                    written = await write_statuses(conn, batch)
            except BaseException:
                self.table.failed()
                raise
            self.table.done()
            return written
