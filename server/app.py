"""The ASGI application, built by ``create_app(settings)``; nothing happens at import.

The lifespan resolves the database (the external ``DATABASE_URL`` or the embedded
cluster), migrates it, reads the epoch, starts the fan-out listener and the background
work, hands the routes their ``Runtime`` and tears it all down again on shutdown. This
is the one module that wires the packages together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import select

from server.api.error_handlers import install_error_handlers
from server.api.request_limits import RequestLimits
from server.api.routes import branches, enroll, health, monitoring, records, sync, ws
from server.api.runtime import Runtime, new_server_clock
from server.observability.logs import RequestIdMiddleware
from server.observability.metrics import Metrics, RequestMetrics
from server.ops.admin_web import routes as admin_web
from server.ops.tasks import OpsTasks
from server.realtime.device_status import StatusFlusher, StatusTable
from server.realtime.listener import Fanout
from server.settings import Settings
from server.store import embedded_pg, migrate
from server.store.engine import create_engine
from server.store.tables import server_meta

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the server for ``settings`` (default: from the environment)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.database_url
        if url is None:  # the embedded cluster starts blocking (initdb, pg_ctl): off the loop
            url = await asyncio.to_thread(embedded_pg.start, settings.data_dir)
        engine = create_engine(url, pool_size=settings.db_pool_size)
        # the devices' status and presence go to the database on ONE connection of their own:
        # pushes and pulls never queue behind them, and their multi-row updates of ``devices``
        # take turns (two at once could deadlock each other)
        monitor_engine = create_engine(url, pool_size=1, max_overflow=0)
        try:
            await migrate.upgrade(engine)
            async with engine.connect() as conn:
                epoch = (
                    await conn.execute(select(server_meta.c.value).where(server_meta.c.key == "epoch"))
                ).scalar_one()
            clock = new_server_clock()
            metrics = Metrics()
            fanout = Fanout(
                engine, url, queue_frames=settings.ws_queue_frames, reconnects=metrics.listener_reconnects
            )
            statuses = StatusTable()
            flusher = StatusFlusher(statuses, monitor_engine, interval_s=settings.status_flush_interval_s)
            await flusher.start()
            try:
                await fanout.start()
                try:
                    ops = OpsTasks(
                        settings,
                        engine,
                        url,
                        metrics,
                        fanout.hub,
                        node=clock.node,
                        monitor_engine=monitor_engine,
                    )
                    await ops.start()
                    try:
                        runtime = Runtime.build(settings, engine, epoch, clock, metrics, fanout, statuses)
                        app.state.branchsync = runtime
                        yield
                    finally:
                        await ops.stop()
                finally:
                    await fanout.stop()
            finally:
                await flusher.stop()  # after the sockets: their last status is written too
        finally:
            await monitor_engine.dispose()
            await engine.dispose()

    app = FastAPI(
        title="Branchsync server",
        version="1",
        summary="Keeps every branch's clients and appointments identical, in real time.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(RequestLimits)
    app.add_middleware(RequestMetrics)
    app.add_middleware(RequestIdMiddleware)
    for module in (enroll, sync, branches, ws, records, health, monitoring, admin_web):
        app.include_router(module.router)
    return app
