"""Every answer that is not 2xx is ``{"error": {"code", "message"}}``; anything not
foreseen becomes 500 ``internal`` with the traceback in the log, never on the wire."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from protocol.errors import ErrorCode
from protocol.wire import error_body
from server.errors import ApiError

__all__ = ["error_response", "install_error_handlers"]

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


_STATUS_CODES: dict[int, ErrorCode] = {
    401: ErrorCode.UNAUTHORIZED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.INVALID_BODY,
    413: ErrorCode.TOO_LARGE,
    422: ErrorCode.INVALID_BODY,
    426: ErrorCode.UPDATE_REQUIRED,
    429: ErrorCode.RATE_LIMITED,
}


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
        return error_response(422, ErrorCode.INVALID_BODY, message)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _STATUS_CODES.get(exc.status_code, ErrorCode.INVALID_BODY)
        return error_response(exc.status_code, code, str(exc.detail), headers=exc.headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, ErrorCode.INTERNAL, "internal server error")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
