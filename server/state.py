"""What one server process holds while it runs, built by the app's lifespan."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from protocol.hlc import HybridLogicalClock
from server.settings import Settings

if TYPE_CHECKING:
    from server.fanout import Fanout

__all__ = ["ServerState", "new_server_clock"]


def new_server_clock() -> HybridLogicalClock:
    """This process's HLC; its node id is unique per process so two servers never tie."""
    return HybridLogicalClock(f"server.{secrets.token_hex(4)}")


@dataclass
class ServerState:
    """Per-process state shared by the routes (reached through ``server.deps``)."""

    settings: Settings
    engine: AsyncEngine
    database_url: str
    epoch: str
    clock: HybridLogicalClock = field(default_factory=new_server_clock)
    fanout: Fanout | None = None
