"""Stopping the server's own background tasks."""

from __future__ import annotations

import asyncio
from contextlib import suppress

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel ``task`` (if any) and wait until it has finished unwinding."""
    if task is None:
        return
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
