"""Is this process ready for traffic? The checks behind ``/readyz``.

``/healthz`` says the process is up; ready means it can do its whole job: PostgreSQL
answers, the schema is the one this code expects (a newer deploy may not have
migrated yet), the fan-out listener is connected (else sockets would hear nothing),
and the database's epoch is still the one this process announces (a restore under a
running server changes it: restart the server so clients see the new epoch).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.store import migrate
from server.store.tables import server_meta

__all__ = ["CHECK_TIMEOUT_S", "Check", "check_readiness"]

CHECK_TIMEOUT_S = 5.0
"""A database that takes longer than this to answer counts as unreachable."""


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


async def _database_checks(engine: AsyncEngine, epoch: str) -> list[Check]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            current = await migrate.current_revision(engine)
            async with engine.connect() as conn:
                stored = (
                    await conn.execute(select(server_meta.c.value).where(server_meta.c.key == "epoch"))
                ).scalar_one_or_none()
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
        return [
            Check("database", False, f"unreachable ({reason})"),
            Check("migrations", False, "unknown: database unreachable"),
            Check("epoch", False, "unknown: database unreachable"),
        ]
    head = migrate.head_revision()
    return [
        Check("database", True, "reachable"),
        Check(
            "migrations",
            current == head,
            f"at {current}" if current == head else f"database at {current}, code expects {head}",
        ),
        Check(
            "epoch",
            stored == epoch,
            "current" if stored == epoch else "database was restored under this process: restart it",
        ),
    ]


async def check_readiness(engine: AsyncEngine, epoch: str, listener_connected: asyncio.Event) -> list[Check]:
    """Every check, in a fixed order; ready when all are ``ok``.

    Args:
        engine: the process's pool.
        epoch: the epoch this process announces.
        listener_connected: set while the fan-out's LISTEN connection is up.
    """
    checks = await _database_checks(engine, epoch)
    listening = listener_connected.is_set()
    checks.append(Check("listener", listening, "connected" if listening else "not connected"))
    return checks
