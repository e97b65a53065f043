"""The operations side's background work in one place, started by the app's lifespan."""

from __future__ import annotations

from server.api.runtime import ServerState
from server.ops.backup_scheduler import BackupScheduler
from server.ops.housekeeping import Housekeeping
from server.realtime.presence import Presence

__all__ = ["OpsTasks"]


class OpsTasks:
    """Automatic backups, the presence heartbeat and housekeeping of one server process."""

    def __init__(self, state: ServerState) -> None:
        self.backups = BackupScheduler(state)
        self.presence = Presence(state)
        self.housekeeping = Housekeeping(state)

    async def start(self) -> None:
        await self.presence.start()
        await self.backups.start()
        await self.housekeeping.start()

    async def stop(self) -> None:
        await self.housekeeping.stop()
        await self.backups.stop()
        await self.presence.stop()
