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
from functools import partial

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.api.error_handlers import install_error_handlers
from server.api.request_limits import RequestLimits
from server.api.routes import branches, enroll, health, monitoring, records, snapshot, sync, ws
from server.api.runtime import Runtime, new_server_clock
from server.observability.logs import RequestIdMiddleware
from server.observability.metrics import Metrics, RequestMetrics
from server.ops.admin_web import routes as admin_web
from server.ops.tasks import OpsTasks
from server.realtime.device_status import StatusFlusher, StatusTable
from server.realtime.listener import Fanout
from server.settings import Settings
from server.store import embedded_pg, migrate
from server.store.engine import API_APP_NAME, BACKGROUND_APP_NAME, MONITOR_APP_NAME, create_engine
from server.store.startup import database_where, wait_for_database
from server.store.tables import server_meta

__all__ = ["create_app"]

log = logging.getLogger(__name__)

BACKGROUND_POOL_TIMEOUT_S = 30.0
"""Background work is never in a hurry: it waits for its own pool's connections."""


def _engines(settings: Settings, url: str, direct_url: str) -> tuple[AsyncEngine, AsyncEngine, AsyncEngine]:
    """The requests' pool (``url``, perhaps a PgBouncer), the background work's own small
    pool (``direct_url``, the database itself), so no background job takes a push's
    connection, and the one connection that stores device status and presence: their
    multi-row updates of ``devices`` take turns on it (two at once could deadlock)."""
    requests = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout_s=settings.db_pool_timeout_s,
        prepared_statements=settings.db_prepared_statements,
        application_name=API_APP_NAME,
    )
    background = create_engine(
        direct_url,
        pool_size=settings.db_background_pool_size,
        max_overflow=0,
        pool_timeout_s=BACKGROUND_POOL_TIMEOUT_S,
        prepared_statements=settings.db_prepared_statements or settings.listen_database_url is not None,
        application_name=BACKGROUND_APP_NAME,
    )
    monitor = create_engine(
        direct_url,
        pool_size=1,
        max_overflow=0,
        pool_timeout_s=BACKGROUND_POOL_TIMEOUT_S,
        prepared_statements=settings.db_prepared_statements or settings.listen_database_url is not None,
        application_name=MONITOR_APP_NAME,
    )
    return requests, background, monitor


async def _prepare_database(engine: AsyncEngine, background: AsyncEngine) -> str:
    """Migrate, then read the epoch: the lifespan's first work on the database."""
    await migrate.upgrade(background)
    async with engine.connect() as conn:
        epoch: str = (
            await conn.execute(select(server_meta.c.value).where(server_meta.c.key == "epoch"))
        ).scalar_one()
    return epoch


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the server for ``settings`` (default: from the environment)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.database_url
        if url is None:  # the embedded cluster starts blocking (initdb, pg_ctl): off the loop
            url = await asyncio.to_thread(embedded_pg.start, settings.data_dir)
        direct_url = settings.listen_database_url or url
        engine, background, monitor = _engines(settings, url, direct_url)
        try:
            # a database that drops while we start (a restart, a failover) is waited for here
            # too, not only by ``serve``'s check before: it may go in between
            wait = partial(wait_for_database, limit_s=settings.db_start_wait_s, where=database_where(url))
            epoch = await wait(partial(_prepare_database, engine, background))
            clock = new_server_clock()
            metrics = Metrics()
            fanout = Fanout(
                background,
                direct_url,
                queue_frames=settings.ws_queue_frames,
                reconnects=metrics.listener_reconnects,
                sockets_per_device=settings.ws_sockets_per_device,
            )
            statuses = StatusTable()
            flusher = StatusFlusher(statuses, monitor, interval_s=settings.status_flush_interval_s)
            await flusher.start()
            try:
                await wait(fanout.start)
                try:
                    ops = OpsTasks(
                        settings,
                        background,
                        direct_url,
                        metrics,
                        fanout.hub,
                        node=clock.node,
                        monitor_engine=monitor,
                    )
                    await ops.start()
                    try:
                        app.state.branchsync = Runtime.build(
                            settings,
                            engine,
                            epoch,
                            clock,
                            metrics,
                            fanout,
                            statuses,
                            background_engine=background,
                        )
                        yield
                    finally:
                        await ops.stop()
                finally:
                    await fanout.stop()
            finally:
                await flusher.stop()  # after the sockets: their last status is written too
        finally:
            await engine.dispose()
            await background.dispose()
            await monitor.dispose()

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
    for module in (enroll, sync, snapshot, branches, ws, records, health, monitoring, admin_web):
        app.include_router(module.router)
    return app
