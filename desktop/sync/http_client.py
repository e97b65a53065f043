"""The engine's HTTP side (httpx): enrol, push, pull, the branch directory; every error translated
here, once.

Each request carries ``Branchsync-Protocol: 1`` and, once enrolled, the device's
bearer token. Answers are parsed with the shared wire models; anything that does not
fit them is a ``BadAnswer``, never a half-read value. Push and pull answers come
with the local wall-clock readings around the request (``Timing``) so the core can
measure the clock offset from them.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from desktop import __version__
from desktop.config.tls import default_client_context
from desktop.sync.errors import BadAnswer, ServerUnreachable, error_for_status
from desktop.sync.events import Timing
from protocol.errors import InvalidTimestamp
from protocol.hlc import parse, system_wall_ms
from protocol.messages import (
    DirectoryResponse,
    EnrollRequest,
    EnrollResponse,
    Mutation,
    PullResponse,
    PushResponse,
)
from protocol.snapshot import SNAPSHOT_MEDIA_TYPE
from protocol.version import DEFAULT_PULL_LIMIT, PROTOCOL_HEADER, PROTOCOL_VERSION
from protocol.wire import BRANCHES_PATH, ENROLL_PATH, PULL_PATH, PUSH_PATH, SNAPSHOT_PATH, push_body

__all__ = ["DEFAULT_TIMEOUT", "DirectoryAnswer", "SyncHttpClient", "base_headers"]

DEFAULT_TIMEOUT = 30.0
"""Seconds a request may take before the server counts as unreachable."""

_Answer = TypeVar("_Answer", bound=BaseModel)

_ETAG = re.compile(r'(W/)?"[\x21\x23-\x7e]{0,200}"')
"""An entity tag as RFC 9110 §8.8.3 spells it (and not too long to keep and send back)."""


@dataclass(frozen=True, slots=True)
class DirectoryAnswer:
    """The branch directory, or None when the server said it is unchanged (304)."""

    directory: DirectoryResponse | None
    etag: str | None
    """The server's tag of that directory (None from a server that sends none)."""


def base_headers(token: str | None = None) -> dict[str, str]:
    """The headers every request and the socket carry."""
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION), "User-Agent": f"branchsync/{__version__}"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


class SyncHttpClient:
    """One connection pool to one server, for one device.

    Args:
        server_url: the server's base URL (``https://sync.example.com``).
        token: the device token (None before enrolment).
        verify: the TLS context (``desktop.config.client_ssl_context``); None: the process's
            shared default (``desktop.config.default_client_context``).
        timeout: seconds per request.
        wall_ms: the local wall clock, the same one the cache stamps with.
        transport: an httpx transport to use instead of the network one.
    """

    def __init__(
        self,
        server_url: str,
        token: str | None = None,
        *,
        verify: ssl.SSLContext | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        wall_ms: Callable[[], int] = system_wall_ms,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._wall_ms = wall_ms
        self._client = httpx.AsyncClient(
            base_url=server_url.rstrip("/"),
            headers=base_headers(token),
            timeout=timeout,
            verify=verify or default_client_context(),
            transport=transport,
        )

    async def __aenter__(self) -> SyncHttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def enroll(self, code: str, device_name: str) -> tuple[EnrollResponse, Timing]:
        """Trade an enrolment code for a device id and token.

        Raises:
            EnrollmentRefused: the code is unknown, used or expired.
            TransportError: any other failure (see ``desktop.sync.errors``).
        """
        body = EnrollRequest(code=code, device_name=device_name, app_version=__version__)
        return await self._request(
            "POST", ENROLL_PATH, EnrollResponse, json=body.model_dump(exclude_none=True)
        )

    async def push(self, mutations: Sequence[Mutation]) -> tuple[PushResponse, Timing]:
        """Send one batch of mutations (in outbox order)."""
        return await self._request("POST", PUSH_PATH, PushResponse, json=push_body(mutations))

    async def push_encoded(self, body: bytes) -> tuple[PushResponse, Timing]:
        """Send one batch already encoded as a push body (``CachePort.next_push`` builds it once)."""
        headers = {"Content-Type": "application/json"}
        return await self._request("POST", PUSH_PATH, PushResponse, content=body, headers=headers)

    async def pull(self, since: int, limit: int = DEFAULT_PULL_LIMIT) -> tuple[PullResponse, Timing]:
        """The changes after ``since`` (at most ``limit``)."""
        return await self._request("GET", PULL_PATH, PullResponse, params={"since": since, "limit": limit})

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncIterator[bytes]]:
        """The server's snapshot (``protocol.snapshot``) as its gzip bytes arrive.

        Raises:
            Refused: a 404 from a server without snapshots (older, or turned off), like any refusal.
            BadAnswer: the answer is not a snapshot.
            TransportError: any other failure, also while the bytes are read.
        """
        try:
            async with self._client.stream("GET", SNAPSHOT_PATH) as answer:
                if not answer.is_success:
                    await answer.aread()
                    retry_after = answer.headers.get("Retry-After")
                    raise error_for_status(answer.status_code, answer.content, retry_after)
                if answer.headers.get("Content-Type", "").split(";")[0].strip() != SNAPSHOT_MEDIA_TYPE:
                    raise BadAnswer(f"GET {SNAPSHOT_PATH}: the answer is not a snapshot")
                yield self._raw(answer)
        except httpx.TransportError as exc:
            raise ServerUnreachable(_reason(exc, self._client.base_url)) from exc

    async def _raw(self, answer: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in answer.aiter_raw():
                yield chunk
        except httpx.TransportError as exc:
            raise ServerUnreachable(_reason(exc, self._client.base_url)) from exc

    async def directory(self) -> DirectoryResponse:
        """Every branch (name, time zone) and device (name) the server knows.

        Raises:
            Refused: a 404 from a server older than the directory, like any refusal.
            TransportError: any other failure (see ``desktop.sync.errors``).
        """
        answer, _ = await self._request("GET", BRANCHES_PATH, DirectoryResponse)
        return answer

    async def directory_if_changed(self, etag: str | None) -> DirectoryAnswer:
        """The directory unless it is still the one tagged ``etag`` (``If-None-Match``).

        A server older than the tag ignores the header and answers in full, with no tag.

        Raises:
            Refused: a 404 from a server older than the directory, like any refusal.
            TransportError: any other failure (see ``desktop.sync.errors``).
        """
        headers = {"If-None-Match": etag} if etag is not None else {}
        answer = await self._send("GET", BRANCHES_PATH, headers=headers)
        tag = answer.headers.get("ETag")
        tag = tag if tag is not None and _ETAG.fullmatch(tag) else None
        if answer.status_code == 304 and etag is not None:
            return DirectoryAnswer(None, tag or etag)
        directory = self._parse("GET", BRANCHES_PATH, DirectoryResponse, answer)
        return DirectoryAnswer(directory, tag)

    async def _request(
        self, method: str, path: str, model: type[_Answer], **kwargs: Any
    ) -> tuple[_Answer, Timing]:
        sent = self._wall_ms()
        answer = await self._send(method, path, **kwargs)
        timing = Timing(sent, self._wall_ms())
        return self._parse(method, path, model, answer), timing

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ServerUnreachable(_reason(exc, self._client.base_url)) from exc

    def _parse(self, method: str, path: str, model: type[_Answer], answer: httpx.Response) -> _Answer:
        if not answer.is_success:
            raise error_for_status(answer.status_code, answer.content, answer.headers.get("Retry-After"))
        try:
            parsed = model.model_validate_json(answer.content)
            stamp = getattr(parsed, "server_hlc", None)
            if stamp is not None:  # enrol, push and pull answers carry the server's clock
                parse(stamp)
        except (ValidationError, InvalidTimestamp) as exc:
            raise BadAnswer(f"{method} {path}: the server's answer does not follow protocol v1") from exc
        return parsed


def _reason(exc: httpx.TransportError, base_url: httpx.URL) -> str:
    """One line saying why the server could not be reached."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        detail = "no answer in time"
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
        # it was reached: the connection went while the request was out (a restart, a cut link)
        return f"lost the connection to the server at {base_url} ({detail})"
    return f"cannot reach the server at {base_url}: {detail}"
