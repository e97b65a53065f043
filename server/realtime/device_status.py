"""Where each device says it is (``status`` frames), kept for monitoring."""

from __future__ import annotations

import uuid

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncEngine

from protocol.messages import StatusFrame
from server.store.tables import devices

__all__ = ["store_status"]


async def store_status(engine: AsyncEngine, device_id: uuid.UUID, status: StatusFrame) -> None:
    """Record a device's cursor and pending count (and app version when it sends one)."""
    values: dict[str, object] = {
        "status_cursor": status.cursor,
        "status_pending": status.pending,
        "status_at": func.now(),
    }
    if status.app_version is not None:
        values["app_version"] = status.app_version
    async with engine.begin() as conn:
        await conn.execute(update(devices).where(devices.c.id == device_id).values(**values))
