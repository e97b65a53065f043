"""Waiting for PostgreSQL when the server starts.

A database restarting, failing over or still booting (a laptop, the demo, a host whose
services start in any order) is not a reason to exit: ``serve`` retries with growing
pauses until it answers or ``db_start_wait_s`` has passed, logging what it waits for.
A database that answers but refuses (wrong password, no such database) is a
configuration error, so that still fails at once, in one line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from sqlalchemy.engine import make_url

from server.errors import DatabaseUnavailable
from server.store.db_failures import classify

__all__ = ["database_where", "is_transient", "retry_delays", "wait_for_database"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_STILL_WAITING_EVERY_S = 15.0


def database_where(url: str) -> str:
    """The database of ``url`` for a log line: host, port and name, no credentials."""
    parsed = make_url(url)
    host = parsed.host or parsed.query.get("host") or "localhost"
    return f"{host}:{parsed.port or 5432}/{parsed.database or ''}"


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot serve *now* (``db_failures.classify``)."""
    return classify(exc) is not None


def retry_delays(first: float = 0.25, cap: float = 5.0) -> Iterator[float]:
    """Pauses between attempts: doubling from ``first`` up to ``cap``."""
    delay = first
    while True:
        yield delay
        delay = min(cap, delay * 2)


async def wait_for_database(
    attempt: Callable[[], Awaitable[T]],
    *,
    limit_s: float,
    where: str,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``attempt`` until it succeeds, retrying while the database is unreachable.

    Args:
        attempt: the first work that needs the database (``migrate.upgrade``).
        limit_s: how long to keep trying; 0 tries once.
        where: the database as the log names it (host and port, never a password).

    Raises:
        DatabaseUnavailable: still unreachable after ``limit_s``.
        Exception: whatever ``attempt`` raised that is not a reachability problem.
    """
    started = clock()
    delays = retry_delays()
    next_note = started
    failed = False
    while True:
        try:
            result = await attempt()
        except Exception as exc:
            if not is_transient(exc):
                raise
            failed = True
            waited = clock() - started
            if waited >= limit_s:
                raise DatabaseUnavailable(
                    f"cannot reach PostgreSQL at {where} after waiting {waited:.0f} s"
                    f" (BRANCHSYNC_DB_START_WAIT_S={limit_s:g}): {_one_line(exc)}"
                ) from exc
            if clock() >= next_note:
                log.warning(
                    "waiting for PostgreSQL at %s (%s); giving up in %.0f s",
                    where,
                    _one_line(exc),
                    limit_s - waited,
                )
                next_note = clock() + _STILL_WAITING_EVERY_S
            await pause(min(next(delays), max(0.0, limit_s - waited)))
            continue
        if failed:
            log.info("PostgreSQL at %s answered after %.1f s", where, clock() - started)
        return result


def _one_line(exc: BaseException) -> str:
    innermost = exc
    while innermost.__cause__ is not None:
        innermost = innermost.__cause__
    text = str(innermost).strip()
    return text.splitlines()[0] if text else type(innermost).__name__
