"""Database plumbing: URLs, the async engine and the change-notification channel."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = [
    "CHANGES_CHANNEL",
    "DEVICES_CHANNEL",
    "WRITE_LOCK_KEY",
    "asyncpg_url",
    "create_engine",
    "sqlalchemy_url",
]

CHANGES_CHANNEL = "branchsync_changes"
"""NOTIFY channel: its payload is the highest committed change number."""

DEVICES_CHANNEL = "branchsync_devices"
"""NOTIFY channel: its payload is the id of a device just revoked, so every server
process closes that device's open sockets at once."""

WRITE_LOCK_KEY = 0x6272616E6368
"""Transaction-level advisory lock taken before change numbers are assigned, so
that change numbers are handed out in commit order across every server process."""


def sqlalchemy_url(url: str) -> str:
    """A libpq ``postgresql://`` URL as SQLAlchemy's asyncpg dialect wants it."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('@')[-1]}")


def asyncpg_url(url: str) -> str:
    """A URL for plain ``asyncpg.connect`` (the dedicated LISTEN connection)."""
    return "postgresql://" + sqlalchemy_url(url)[len("postgresql+asyncpg://") :]


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int | None = None) -> AsyncEngine:
    """A connection pool to PostgreSQL: ``pool_size`` kept open, ``max_overflow`` (default
    as many again) opened when all are busy."""
    return create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_pre_ping=True,
    )
