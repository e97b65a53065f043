"""Database plumbing: URLs, the async engine and the change-notification channel."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = [
    "API_APP_NAME",
    "BACKGROUND_APP_NAME",
    "CHANGES_CHANNEL",
    "DEVICES_CHANNEL",
    "MONITOR_APP_NAME",
    "asyncpg_url",
    "create_engine",
    "sqlalchemy_url",
]

CHANGES_CHANNEL = "branchsync_changes"
"""NOTIFY channel: its payload is the highest committed change number."""

DEVICES_CHANNEL = "branchsync_devices"
"""NOTIFY channel: its payload is the id of a device just revoked, so every server
process closes that device's open sockets at once."""

API_APP_NAME = "branchsync-api"
"""``application_name`` of the request pool's connections (see ``pg_stat_activity``)."""

BACKGROUND_APP_NAME = "branchsync-background"
"""``application_name`` of the background pool's connections."""

MONITOR_APP_NAME = "branchsync-monitor"
"""``application_name`` of the one connection that stores device status and presence."""


def sqlalchemy_url(url: str) -> str:
    """A libpq ``postgresql://`` URL as SQLAlchemy's asyncpg dialect wants it."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('@')[-1]}")


def asyncpg_url(url: str) -> str:
    """A URL for plain ``asyncpg.connect`` (the dedicated LISTEN connection)."""
    return "postgresql://" + sqlalchemy_url(url)[len("postgresql+asyncpg://") :]


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int | None = None,
    pool_timeout_s: float = 30.0,
    prepared_statements: bool = True,
    application_name: str = API_APP_NAME,
) -> AsyncEngine:
    """A connection pool to PostgreSQL: ``pool_size`` connections kept open, at most
    ``max_overflow`` more opened (and closed again) at a peak (None: ``pool_size``), and
    ``pool_timeout_s`` to wait for one before ``sqlalchemy.exc.TimeoutError``.

    ``prepared_statements=False`` is for a PgBouncer in transaction mode, where
    consecutive transactions may run on different server connections: no statement is
    cached, and each is prepared under a name of its own so two never collide.
    """
    connect_args: dict[str, object] = {"server_settings": {"application_name": application_name}}
    if not prepared_statements:
        connect_args |= {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": _unique_statement_name,
        }
    return create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_timeout=pool_timeout_s,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def _unique_statement_name() -> str:
    return f"__branchsync_{uuid.uuid4().hex}__"
