"""Every answer that is not 2xx is ``{"error": {"code", "message"}}``; anything not
foreseen becomes 500 ``internal`` with the traceback in the log, never on the wire.

A database that cannot serve the request *now* is not a bug: a pool with no free
connection in ``db_pool_timeout_s`` or PostgreSQL out of connections answers 503
``overloaded``, a database that cannot be reached (restarting, failing over) 503
``unavailable``, both with ``Retry-After`` so engines back off instead of hammering."""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Mapping

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from protocol.errors import ErrorCode
from protocol.wire import error_body
from server.errors import ApiError

__all__ = [
    "OVERLOADED_RETRY_AFTER_S",
    "UNAVAILABLE_RETRY_AFTER_S",
    "database_refusal",
    "database_unavailable",
    "error_response",
    "install_error_handlers",
]

log = logging.getLogger(__name__)


def error_response(
    status: int,
    code: ErrorCode | str,
    message: str,
    *,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The contract's error body with a fitting status."""
    return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)


OVERLOADED_RETRY_AFTER_S = 1
"""``Retry-After`` of a 503 ``overloaded``: the pool frees a connection within milliseconds
once the peak passes; engines add their own jitter."""
UNAVAILABLE_RETRY_AFTER_S = 3
"""``Retry-After`` of a 503 ``unavailable``: about what a PostgreSQL restart takes."""

_OVERLOADED_SQLSTATES = frozenset({"53300", "53000"})
"""too_many_connections, insufficient_resources."""
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "08000", "08001", "08003", "08006"})
"""admin/crash shutdown, cannot connect now (starting up), connection failures."""


def database_refusal(exc: BaseException) -> ApiError | None:
    """The 503 that a database failure stands for, or None when it is not one (a bug)."""
    if isinstance(exc, PoolTimeout):
        return _overloaded("every database connection is busy; retry shortly")
    causes = list(_chain(exc))
    states = {getattr(cause, "sqlstate", None) for cause in causes}
    if states & _OVERLOADED_SQLSTATES:
        return _overloaded("the database has no connection to spare; retry shortly")
    lost = isinstance(exc, DBAPIError) and exc.connection_invalidated
    if lost or states & _UNAVAILABLE_SQLSTATES or any(_is_connection_loss(cause) for cause in causes):
        return database_unavailable()
    return None


def database_unavailable() -> ApiError:
    """503 ``unavailable``: the database cannot be reached now."""
    headers = {"Retry-After": str(UNAVAILABLE_RETRY_AFTER_S)}
    return ApiError(
        503, ErrorCode.UNAVAILABLE, "the database cannot be reached; retry shortly", headers=headers
    )


def _overloaded(message: str) -> ApiError:
    return ApiError(
        503, ErrorCode.OVERLOADED, message, headers={"Retry-After": str(OVERLOADED_RETRY_AFTER_S)}
    )


_NETWORK_ERRNOS = frozenset(
    {errno.ECONNREFUSED, errno.ECONNRESET, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT}
)


def _is_connection_loss(exc: BaseException) -> bool:
    """A connection to PostgreSQL refused, reset or lost (not any ``OSError``: a full disk
    under a route is a bug to see, not a database to wait for)."""
    if isinstance(exc, asyncpg.ConnectionDoesNotExistError | asyncpg.CannotConnectNowError):
        return True
    if isinstance(exc, ConnectionError | socket.gaierror | TimeoutError):
        return True
    return isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS


def _chain(exc: BaseException) -> list[BaseException]:
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


_STATUS_CODES: dict[int, ErrorCode] = {
    401: ErrorCode.UNAUTHORIZED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.INVALID_BODY,
    413: ErrorCode.TOO_LARGE,
    422: ErrorCode.INVALID_BODY,
    426: ErrorCode.UPDATE_REQUIRED,
    429: ErrorCode.RATE_LIMITED,
}


_UNREADABLE_BODY = (
    "the body is not JSON this server can read: UTF-8 text, not nested too deep, numbers under 4,300 digits"
)
"""The contract answers every body it cannot read 422 ``invalid_body``, as it answers one
that is JSON but not the expected shape."""


def install_error_handlers(app: FastAPI) -> None:
    """Make every error, foreseen or not, answer with the JSON error body."""

    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message, field=exc.field, headers=exc.headers)

    async def on_invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = (
            f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid body"))
        )
        return error_response(422, ErrorCode.INVALID_BODY, message, field=where or None)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:  # FastAPI could not decode the body (not UTF-8, too deep, huge numbers)
            return error_response(422, ErrorCode.INVALID_BODY, _UNREADABLE_BODY)
        code = _STATUS_CODES.get(exc.status_code, ErrorCode.INVALID_BODY)
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, ErrorCode.INTERNAL, "internal server error")

    async def on_database(request: Request, exc: Exception) -> JSONResponse:
        refusal = database_refusal(exc)
        if refusal is None:
            return await on_unexpected(request, exc)
        log.warning("%s %s answered 503 %s: %s", request.method, request.url.path, refusal.code, exc)
        return await on_api_error(request, refusal)

    app.add_exception_handler(ApiError, on_api_error)
    for database_error in (SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        app.add_exception_handler(database_error, on_database)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
