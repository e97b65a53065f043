"""Fixtures for the sync and REST tests: a live server, an enrolled device, an HTTP client.

Registered for the whole suite through ``pytest_plugins`` in ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from server.api.runtime import new_server_clock
from server.observability.metrics import Metrics
from server.settings import Settings
from server.store import migrate
from server.store.engine import create_engine
from server.sync.write_path import Writer
from tests.support.devices import Device, enrolled_device
from tests.support.live_server import LiveServer, live_server

__all__ = ["db_engine", "http", "north_device", "sync_server", "writer"]


@pytest.fixture
def sync_server(database_url: str) -> Iterator[LiveServer]:
    """A real server on a fresh database."""
    with live_server(Settings(database_url=database_url)) as running:
        yield running


@pytest.fixture
async def north_device(sync_server: LiveServer, database_url: str) -> Device:
    """A device enrolled in branch North."""
    return await enrolled_device(sync_server.url, database_url, "North")


@pytest.fixture
async def http(sync_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client pointed at ``sync_server``."""
    async with httpx.AsyncClient(base_url=sync_server.url, timeout=30) as client:
        yield client


@pytest.fixture
async def db_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A connection pool of the test's database, for checks in plain SQL."""
    engine = create_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def writer(database_url: str) -> AsyncIterator[Writer]:
    """A migrated database and what the write path needs, with no HTTP server."""
    engine = create_engine(database_url, pool_size=4)
    await migrate.upgrade(engine)
    yield Writer(engine, new_server_clock(), Settings(database_url=database_url).max_clock_skew_s, Metrics())
    await engine.dispose()
