"""Every answer that is not 2xx is ``{"error": {"code", "message"}}``; anything not
foreseen becomes 500 ``internal`` with the traceback in the log, never on the wire.

A database that cannot serve the request *now* is not a bug: a pool with no free
connection in ``db_pool_timeout_s`` or PostgreSQL out of connections answers 503
``overloaded``, a database that cannot be reached (restarting, failing over) 503
``unavailable``, both with ``Retry-After`` so engines back off instead of hammering."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from protocol.errors import ErrorCode
from protocol.wire import error_body
from server.errors import ApiError
from server.store.db_failures import DatabaseFailure, classify

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


def database_refusal(exc: BaseException) -> ApiError | None:
    """The 503 that a database failure stands for, or None when it is not one (a bug)."""
    match classify(exc):
        case DatabaseFailure.POOL_BUSY:
            return _overloaded("every database connection is busy; retry shortly")
        case DatabaseFailure.OVERLOADED:
            return _overloaded("the database has no connection to spare; retry shortly")
        case DatabaseFailure.UNAVAILABLE:
            return database_unavailable()
        case None:
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


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method the path asked for has: each is a route of its own, and the router's 405
    names only those of the first route whose path matched (RFC 9110 wants them all)."""
    routes = request.app.router.routes
    allowed = (
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    )
    return ", ".join(allowed)


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

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:  # FastAPI could not decode the body (not UTF-8, too deep, huge numbers)
            return error_response(422, ErrorCode.INVALID_BODY, _UNREADABLE_BODY)
        code = _STATUS_CODES.get(exc.status_code, ErrorCode.INVALID_BODY)
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)

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
