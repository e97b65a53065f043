"""Waiting on what PostgreSQL is doing, for tests that hold a transaction open."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["lock_waiters", "wait_for_lock_waiters"]

_WAITERS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


async def lock_waiters(engine: AsyncEngine) -> int:
    """How many sessions of this database are blocked on a lock right now."""
    async with engine.connect() as conn:
        return int((await conn.execute(_WAITERS)).scalar_one())


async def wait_for_lock_waiters(engine: AsyncEngine, count: int, timeout: float = 15.0) -> None:
    """Return once at least ``count`` sessions wait on a lock (TimeoutError otherwise)."""
    async with asyncio.timeout(timeout):
        while await lock_waiters(engine) < count:
            await asyncio.sleep(0.01)  # sleep-ok: polling a condition with a deadline
