"""The server's logs: one JSON object per line when not on a terminal, request ids,
and secrets scrubbed.

Log collectors (journald, Docker, Loki) want one JSON object per line; a person at a
terminal wants text. Either way every line made while a request is handled carries
that request's id (taken from ``X-Request-ID`` when a proxy set a sane one, else
new, and echoed in the answer), so one request's lines can be found together.

Device tokens, enrolment codes and bearer headers never reach a log line: the
formatters scrub them from the final text, whatever logger or library wrote it
(tracebacks included).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "REQUEST_ID_HEADER",
    "JsonFormatter",
    "RequestIdMiddleware",
    "TextFormatter",
    "configure_logging",
    "current_request_id",
    "redact",
]

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RAW = REQUEST_ID_HEADER.lower().encode()
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

_request_id: ContextVar[str | None] = ContextVar("branchsync_request_id", default=None)

_SECRETS = (
    # device tokens (server.identity.credentials.TOKEN_PREFIX) and anything after "Bearer"
    (re.compile(r"bsd_[A-Za-z0-9_\-]{8,}"), "bsd_[redacted]"),
    (re.compile(r"(?i)(bearer\s+)[^\s'\",]+"), r"\1[redacted]"),
    # enrolment codes: four groups of five Crockford base32 characters
    (re.compile(r"(?i)\b[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}\b"), "[redacted code]"),
    # a code typed another way, as the value of a "code" key (error codes are short words)
    (re.compile(r"(?i)(['\"]code['\"]\s*:\s*['\"])[0-9A-Z \-]{16,}"), r"\1[redacted]"),
    # admin session cookies and passwords in reprs
    (re.compile(r"(?i)(branchsync_admin=)[^;\s'\"]+"), r"\1[redacted]"),
    (re.compile(r"(?i)(['\"]password['\"]\s*:\s*['\"])[^'\"]*"), r"\1[redacted]"),
)


def redact(text: str) -> str:
    """``text`` with every device token, enrolment code and credential blanked out."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def current_request_id() -> str | None:
    """The id of the request being handled in this context, if any."""
    return _request_id.get()


class TextFormatter(logging.Formatter):
    """Human-readable lines for a terminal, request id in brackets, secrets scrubbed."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = current_request_id()
        if request_id is not None:
            line = f"{line} [request {request_id}]"
        return redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, error."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = current_request_id()
        if request_id is not None:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(
    *, level: int = logging.INFO, json_lines: bool | None = None, stream: TextIO | None = None
) -> None:
    """Send every log record (uvicorn's included) to ``stream`` (default stderr).

    ``json_lines`` None means: JSON unless ``stream`` is a terminal. Run uvicorn with
    ``log_config=None`` afterwards so it keeps this set-up.
    """
    stream = stream or sys.stderr
    if json_lines is None:
        json_lines = not stream.isatty()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lib = logging.getLogger(name)
        lib.handlers.clear()
        lib.propagate = True


class RequestIdMiddleware:
    """Gives each HTTP request and socket an id for its log lines, echoed in the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = next((bytes(v) for k, v in scope["headers"] if k == _REQUEST_ID_RAW), b"").decode("latin-1")
        request_id = given if _SANE_REQUEST_ID.match(given) else uuid.uuid4().hex
        token = _request_id.set(request_id)

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (_REQUEST_ID_RAW, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, with_header)
        finally:
            _request_id.reset(token)
