"""Which database failures are a 503 (come back later) and which are a bug (500)."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, PendingRollbackError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from protocol.errors import ErrorCode
from server.api.error_handlers import database_refusal


def _wrapped(orig: BaseException) -> DBAPIError:
    return DBAPIError("SELECT 1", None, orig)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (PoolTimeout("QueuePool limit of size 1 overflow 0 reached"), ErrorCode.OVERLOADED),
        (asyncpg.TooManyConnectionsError("sorry, too many clients already"), ErrorCode.OVERLOADED),
        (_wrapped(asyncpg.TooManyConnectionsError("too many")), ErrorCode.OVERLOADED),
        (asyncpg.CannotConnectNowError("the database system is starting up"), ErrorCode.UNAVAILABLE),
        (_wrapped(asyncpg.AdminShutdownError("terminating connection")), ErrorCode.UNAVAILABLE),
        (ConnectionRefusedError(111, "Connect call failed"), ErrorCode.UNAVAILABLE),
        (OSError(113, "Connect call failed: no route to host"), ErrorCode.UNAVAILABLE),
        (_wrapped(asyncpg.ConnectionDoesNotExistError("connection was closed")), ErrorCode.UNAVAILABLE),
        # the chaos soak: a database restarting under serve's migration (issue 12)
        (
            PendingRollbackError("Can't reconnect until invalid transaction is rolled back", code="8s2b"),
            ErrorCode.UNAVAILABLE,
        ),
    ],
)
def test_a_busy_or_unreachable_database_is_503_with_retry_after(exc: BaseException, code: ErrorCode) -> None:
    refusal = database_refusal(exc)
    assert refusal is not None
    assert (refusal.status, refusal.code) == (503, code)
    assert refusal.headers is not None and float(refusal.headers["Retry-After"]) > 0


def test_a_cause_further_down_the_chain_counts() -> None:
    try:
        try:
            raise asyncpg.TooManyConnectionsError("too many")
        except asyncpg.PostgresError as inner:
            raise RuntimeError("while checking out a connection") from inner
    except RuntimeError as outer:
        refusal = database_refusal(outer)
    assert refusal is not None and refusal.code is ErrorCode.OVERLOADED


@pytest.mark.parametrize(
    "exc",
    [
        IntegrityError("INSERT", None, asyncpg.UniqueViolationError("duplicate key")),
        asyncpg.UndefinedColumnError("column x does not exist"),
        ValueError("a bug"),
        OSError(28, "No space left on device"),
        FileNotFoundError(2, "No such file or directory"),
        PendingRollbackError("This Session's transaction has been rolled back", code="7s2a"),
    ],
)
def test_anything_else_is_not_a_refusal(exc: BaseException) -> None:
    assert database_refusal(exc) is None
