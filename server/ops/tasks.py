"""The background work of one server process, started and stopped by the app's lifespan.

Each worker is handed the few things it uses; this module only groups them so the
lifespan starts and stops them in one order.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from server.observability.metrics import Metrics
from server.ops.backup_scheduler import BackupScheduler
from server.ops.housekeeping import Housekeeping
from server.realtime.hub import Hub
from server.realtime.presence import Presence
from server.settings import Settings

__all__ = ["OpsTasks"]


class OpsTasks:
    """Automatic backups, the presence heartbeat and housekeeping of one server process."""

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        database_url: str,
        metrics: Metrics,
        hub: Hub,
        *,
        node: str,
        monitor_engine: AsyncEngine | None = None,
    ) -> None:
        """``monitor_engine`` is the connection presence shares with the status flusher
        (default: ``engine``)."""
        self.backups = BackupScheduler(settings, engine, database_url, metrics)
        self.presence = Presence(
            monitor_engine or engine, hub, node=node, interval_s=settings.presence_interval_s
        )
        self.housekeeping = Housekeeping(
            engine,
            metrics,
            keep_days=settings.record_keep_days,
            interval_s=settings.housekeeping_interval_s,
            clear_after_days=settings.tombstone_clear_after_days,
        )

    async def start(self) -> None:
        await self.presence.start()
        await self.backups.start()
        await self.housekeeping.start()

    async def stop(self) -> None:
        await self.housekeeping.stop()
        await self.backups.stop()
        await self.presence.stop()
