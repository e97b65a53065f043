"""Gathering the figures ``/metrics`` and the ``/admin`` dashboard show.

Process figures (sockets, resyncs) come from this process's fan-out hub; fleet
figures (branches, devices, backups) from the database, so that every process behind
a load balancer tells the same story about the fleet.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.observability.fleet import Fleet, read_fleet
from server.observability.metrics import Metrics
from server.realtime.device_status import DeviceStatus, StatusTable
from server.realtime.hub import Hub
from server.realtime.presence import presence_ttl
from server.settings import Settings

__all__ = ["SNAPSHOT_TIMEOUT_S", "read_snapshot", "refresh_metrics"]

log = logging.getLogger(__name__)

SNAPSHOT_TIMEOUT_S = 5.0


async def read_snapshot(
    engine: AsyncEngine,
    connected_here: set[uuid.UUID],
    settings: Settings,
    statuses: Mapping[uuid.UUID, DeviceStatus] | None = None,
) -> Fleet:
    """The fleet as the database and this process's sockets (and their ``statuses`` not
    yet stored) see it now.

    Raises:
        SQLAlchemyError, OSError, TimeoutError: the database did not answer.
    """
    async with asyncio.timeout(SNAPSHOT_TIMEOUT_S), engine.connect() as conn:
        return await read_fleet(
            conn,
            connected_here=connected_here,
            presence_ttl=presence_ttl(settings.presence_interval_s),
            statuses=statuses,
        )


async def refresh_metrics(
    metrics: Metrics, engine: AsyncEngine, hub: Hub, settings: Settings, statuses: StatusTable | None = None
) -> None:
    """Bring the scrape-time gauges up to date (``database_up`` 0 when it fails)."""
    metrics.ws_connections.set(len(hub))
    metrics.hub_totals.update(
        ws_resyncs=hub.stats.resyncs,
        ws_ignored_frames=hub.stats.ignored_client_frames,
        ws_status_frames=hub.stats.status_frames,
        ws_policy_closes=hub.stats.policy_closes,
        ws_replaced_closes=hub.stats.replaced_closes,
    )
    if statuses is not None:
        metrics.hub_totals.update(
            status_flushes=statuses.stats.flushes,
            status_rows_written=statuses.stats.rows_written,
            status_flush_failures=statuses.stats.failures,
        )
        metrics.status_unflushed.set(len(statuses))
    try:
        unflushed = None if statuses is None else statuses.unflushed()
        fleet = await read_snapshot(engine, hub.device_ids, settings, unflushed)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("metrics: database unreachable: %s", exc)
        metrics.database_up.set(0)
        return
    metrics.load_fleet(fleet)
