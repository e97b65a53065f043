"""What one server process holds while it runs, built by the app's lifespan."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from protocol.hlc import HybridLogicalClock
from server.identity.rate_limit import RateLimiter
from server.observability.metrics import Metrics
from server.settings import Settings

if TYPE_CHECKING:
    from server.ops.tasks import OpsTasks
    from server.realtime.listener import Fanout

__all__ = ["ServerState", "new_server_clock"]


def new_server_clock() -> HybridLogicalClock:
    """This process's HLC; its node id is unique per process so two servers never tie."""
    return HybridLogicalClock(f"server.{secrets.token_hex(4)}")


@dataclass
class ServerState:
    """Per-process state shared by the routes (reached through ``server.api.deps``)."""

    settings: Settings
    engine: AsyncEngine
    database_url: str
    epoch: str
    clock: HybridLogicalClock = field(default_factory=new_server_clock)
    fanout: Fanout | None = None
    limiter: RateLimiter = field(init=False)
    """Per-device request rate (``settings.rate_per_s``, bursts of ``rate_burst``)."""
    enroll_limiter: RateLimiter = field(init=False)
    """Enrolment attempts per network address (``settings.enroll_rate_per_min``)."""
    metrics: Metrics = field(default_factory=Metrics)
    """This app's Prometheus metrics (its own registry)."""
    ops: OpsTasks | None = None
    """Background operations: automatic backups, presence heartbeat."""

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.settings.rate_per_s, self.settings.rate_burst)
        self.enroll_limiter = RateLimiter(self.settings.enroll_rate_per_min / 60, self.settings.enroll_burst)
