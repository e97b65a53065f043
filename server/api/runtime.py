"""What one server process holds while it serves, built once by the app's lifespan.

Every field is set when the runtime is made (the lifespan starts the fan-out first),
so no route checks for ``None``. Background workers never see it: the lifespan hands
each of them the few things it uses.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from protocol.hlc import HybridLogicalClock
from server.identity.rate_limit import RateLimiter
from server.observability.metrics import Metrics
from server.realtime.device_status import StatusTable
from server.realtime.listener import Fanout
from server.settings import Settings
from server.sync.write_path import Writer

__all__ = ["ADMIN_LOGIN_BURST", "ADMIN_LOGIN_RATE_PER_S", "Runtime", "new_server_clock"]

ADMIN_LOGIN_RATE_PER_S, ADMIN_LOGIN_BURST = 0.2, 10
"""Dashboard logins (``server.ops.admin_web``) per network address: one per 5 s, bursts of 10."""


def new_server_clock() -> HybridLogicalClock:
    """This process's HLC; its node id is unique per process so two servers never tie."""
    return HybridLogicalClock(f"server.{secrets.token_hex(4)}")


@dataclass(frozen=True, slots=True)
class Runtime:
    """Per-process state the routes reach through ``server.api.deps``."""

    settings: Settings
    engine: AsyncEngine
    """The requests' pool: pushes, pulls, handshakes, the dashboard's writes."""
    background_engine: AsyncEngine
    """The background work's own pool (device status, ``/metrics``): it never takes one of
    ``engine``'s connections, so it cannot make a push wait."""
    epoch: str
    """The database history's id, announced to every client."""
    clock: HybridLogicalClock
    metrics: Metrics
    """This app's Prometheus metrics (its own registry)."""
    writer: Writer
    """The write path's engine, clock, skew limit and counter."""
    fanout: Fanout
    """The LISTEN connection and the sockets' hub, already started."""
    statuses: StatusTable
    """The devices' newest ``status`` frames, until the flusher stores them."""
    limiter: RateLimiter
    """Per-device request rate (``settings.rate_per_s``, bursts of ``rate_burst``)."""
    frame_limiter: RateLimiter
    """Frames each device may send over its sockets (``ws_client_frames_per_s``)."""
    enroll_limiter: RateLimiter
    """Enrolment attempts per network address (``settings.enroll_rate_per_min``)."""
    auth_failure_limiter: RateLimiter
    """Failed token checks per network address (``settings.auth_failures_per_min``)."""
    admin_login_limiter: RateLimiter
    """Dashboard login attempts per network address."""
    snapshot_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    """Snapshots this process streams at once (each holds a background connection for seconds)."""

    @classmethod
    def build(
        cls,
        settings: Settings,
        engine: AsyncEngine,
        epoch: str,
        clock: HybridLogicalClock,
        metrics: Metrics,
        fanout: Fanout,
        statuses: StatusTable,
        *,
        background_engine: AsyncEngine | None = None,
    ) -> Runtime:
        """The runtime around a started ``fanout``, with its writer and rate limiters
        (``background_engine``: None shares ``engine``)."""
        return cls(
            settings=settings,
            engine=engine,
            background_engine=engine if background_engine is None else background_engine,
            epoch=epoch,
            clock=clock,
            metrics=metrics,
            writer=Writer(engine, clock, settings.max_clock_skew_s, metrics),
            fanout=fanout,
            statuses=statuses,
            limiter=RateLimiter(settings.rate_per_s, settings.rate_burst),
            frame_limiter=RateLimiter(settings.ws_client_frames_per_s, settings.ws_client_frame_burst),
            enroll_limiter=RateLimiter(settings.enroll_rate_per_min / 60, settings.enroll_burst),
            auth_failure_limiter=RateLimiter(
                settings.auth_failures_per_min / 60, settings.auth_failure_burst
            ),
            admin_login_limiter=RateLimiter(ADMIN_LOGIN_RATE_PER_S, ADMIN_LOGIN_BURST),
        )
