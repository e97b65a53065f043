"""Which database failures mean "not now" rather than "a bug", decided in one place.

The API answers them 503 (``server.api.error_handlers.database_refusal``) and ``serve``
waits through them at start (``server.store.startup``); anything else is a bug to see,
or a refusal (wrong password, no such database) for the operator to fix.
"""

from __future__ import annotations

import enum
import errno
import socket

import asyncpg
from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout

__all__ = ["DatabaseFailure", "classify", "exception_chain"]


class DatabaseFailure(enum.Enum):
    """A database that cannot serve now."""

    POOL_BUSY = "pool_busy"
    """Every pooled connection stayed busy for the pool timeout."""
    OVERLOADED = "overloaded"
    """PostgreSQL has no connection (or resources) to spare."""
    UNAVAILABLE = "unavailable"
    """PostgreSQL cannot be reached: restarting, failing over, starting up, or gone."""


_OVERLOADED_SQLSTATES = frozenset({"53300", "53000"})
"""too_many_connections, insufficient_resources."""
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "08000", "08001", "08003", "08006"})
"""admin/crash shutdown, cannot connect now (starting up), connection failures."""
_INVALIDATED_TRANSACTION = "8s2b"
"""SQLAlchemy's code for "Can't reconnect until invalid transaction is rolled back": the
connection under an open transaction was found lost (a database restarting mid-migration)."""
_NETWORK_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT}
)


def classify(exc: BaseException) -> DatabaseFailure | None:
    """What ``exc`` (or what it wraps) says about the database, or None when it is not a
    failure to wait through."""
    if isinstance(exc, PoolTimeout):
        return DatabaseFailure.POOL_BUSY
    causes = exception_chain(exc)
    states = {getattr(cause, "sqlstate", None) for cause in causes}
    if states & _OVERLOADED_SQLSTATES:
        return DatabaseFailure.OVERLOADED
    lost = isinstance(exc, DBAPIError) and exc.connection_invalidated
    if lost or states & _UNAVAILABLE_SQLSTATES or any(_is_connection_loss(cause) for cause in causes):
        return DatabaseFailure.UNAVAILABLE
    return None


def exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc``, what SQLAlchemy wrapped (``orig``) and the causes behind them."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(seen) < 8:
        current = todo.pop()
        if current is None or any(current is known for known in seen):
            continue
        seen.append(current)
        orig = getattr(current, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None, current.__cause__, current.__context__]
    return seen


def _is_connection_loss(exc: BaseException) -> bool:
    """A connection to PostgreSQL refused, reset or lost (not any ``OSError``: a full disk
    under a route is a bug to see, not a database to wait for)."""
    if isinstance(exc, asyncpg.ConnectionDoesNotExistError | asyncpg.CannotConnectNowError):
        return True
    if isinstance(exc, PendingRollbackError) and exc.code == _INVALIDATED_TRANSACTION:
        return True
    if isinstance(exc, ConnectionError | socket.gaierror | TimeoutError):
        return True
    return isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS
