"""Stopping the server's own background tasks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

from sqlalchemy.exc import SQLAlchemyError

__all__ = ["cancel_and_wait", "repeat"]


async def repeat(
    work: Callable[[], Awaitable[object]], interval_s: float, failure: str, log: logging.Logger
) -> None:
    """Run ``work`` now and every ``interval_s`` after, until cancelled. A database that is
    away is logged (``failure: reason``) and the next round simply tries again."""
    while True:
        try:
            await work()
        except (SQLAlchemyError, OSError) as exc:
            log.warning("%s: %s", failure, exc)
        await asyncio.sleep(interval_s)


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel ``task`` (if any) and wait until it has finished unwinding."""
    if task is None:
        return
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
