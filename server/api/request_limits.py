"""ASGI middleware for the limits every request shares: protocol version and body size.

It sits in front of routing so that neither rule depends on a route remembering it:

* ``Branchsync-Protocol`` other than this server's version -> 426 ``update_required``
  (HTTP and WebSocket alike; an absent header is accepted, for integrations).
* A body over ``MAX_PUSH_BYTES`` -> 413 ``too_large``, whether announced by
  ``Content-Length`` or sent chunked. The body is read (at most the limit) before the
  app sees it, so an oversized chunked body is refused before any handler runs.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from protocol.errors import ErrorCode
from protocol.version import MAX_PUSH_BYTES, PROTOCOL_HEADER, PROTOCOL_VERSION
from protocol.wire import CloseCode
from server.api.error_handlers import error_response

__all__ = ["DRAIN_LIMIT", "RequestLimits"]

DRAIN_LIMIT = 16 * MAX_PUSH_BYTES
"""An oversized body is read and thrown away up to this size before the 413 is sent:
a client still sending when the server answers and closes often sees a reset instead
of the answer. Beyond it the client is not worth the bandwidth."""

_HEADER = PROTOCOL_HEADER.lower().encode()
_VERSION = str(PROTOCOL_VERSION).encode()


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class RequestLimits:
    """Refuses requests of another protocol version or with too large a body."""

    def __init__(self, app: ASGIApp, *, max_body: int = MAX_PUSH_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        version = _header(scope, _HEADER)
        if version is not None and version.strip() != _VERSION:
            await _update_required(version, scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        body = await self._read_body(scope, receive)
        if body is None:
            await self._too_large(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, scope: Scope, receive: Receive) -> Message | None:
        """The whole request body as one message, or None when it is over the limit."""
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            if int(declared) <= DRAIN_LIMIT:
                await _drain(receive, DRAIN_LIMIT)
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away: let the app see it
                return message
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                if message.get("more_body", False):
                    await _drain(receive, DRAIN_LIMIT - size)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = error_response(
            413,
            ErrorCode.TOO_LARGE,
            f"request body over {self.max_body} bytes",
            headers={"Connection": "close"},
        )
        await answer(scope, receive, send)


async def _update_required(version: bytes, scope: Scope, receive: Receive, send: Send) -> None:
    theirs = version[:20].decode(errors="replace")
    answer = error_response(
        426,
        ErrorCode.UPDATE_REQUIRED,
        f"this server speaks protocol {PROTOCOL_VERSION}, not {theirs!r}; update the app",
        headers={PROTOCOL_HEADER: str(PROTOCOL_VERSION)},
    )
    if scope["type"] == "websocket" and "websocket.http.response" not in scope.get("extensions", {}):
        code = CloseCode.PROTOCOL_ERROR
        await send({"type": "websocket.close", "code": code, "reason": code.reason})
    else:
        await answer(scope, receive, send)


async def _drain(receive: Receive, budget: int) -> None:
    """Read and drop what the client still sends, up to ``budget`` bytes."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _replay(first: Message, receive: Receive) -> Receive:
    """A ``receive`` that hands out the buffered body once, then the real channel."""
    pending: list[Message] = [first]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay
