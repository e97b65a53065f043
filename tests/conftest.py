"""Fixtures shared by the whole suite: a real PostgreSQL and a fresh database per test."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from tests.support import postgres

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = ["tests.support.sync_fixtures"]


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """Superuser URL of the PostgreSQL the suite runs against."""
    with postgres.admin_url() as url:
        yield url


@pytest.fixture
def database_url(pg_admin_url: str) -> Iterator[str]:
    """A new, empty database for one test (libpq URL); dropped afterwards."""
    url = asyncio.run(postgres.create_database(pg_admin_url))
    yield url
    asyncio.run(postgres.drop_database(pg_admin_url, url))
