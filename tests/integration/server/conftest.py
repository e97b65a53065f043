"""Fixtures of the server tests that watch operations: a live server with fast heartbeats."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from server.settings import Settings
from tests.support.live_server import LiveServer, live_server


@pytest.fixture
def ops_settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings of a server on the test's database; heartbeats fast enough to watch."""
    return Settings(database_url=database_url, data_dir=tmp_path, presence_interval_s=0.2)


@pytest.fixture
def ops_server(ops_settings: Settings) -> Iterator[LiveServer]:
    with live_server(ops_settings) as running:
        yield running


@pytest.fixture
async def ops_http(ops_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=ops_server.url, timeout=30) as client:
        yield client
