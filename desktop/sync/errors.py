"""Exceptions of the sync engine; transport errors are translated into these once, at the boundary.

Exception tree::

    SyncError                    root of everything desktop.sync raises on purpose
     ├── EngineMisuse            the core was driven out of order: a bug in our own caller
     ├── NotEnrolled             this data dir has no device (or no token): run ``enroll`` first
     ├── AlreadyEnrolled         this data dir belongs to another server: use another data dir
     └── TransportError          a request got no usable answer (``failure`` says which kind)
          ├── ServerUnreachable  no answer at all: refused, reset, timed out, DNS
          │    └── ServerRestarting  the socket closed with 1012: the server is restarting
          ├── ServerFailed       5xx from the server or a proxy in front of it
          │    └── ServerBusy    503 with ``Retry-After``: overloaded or restarting; wait and retry
          ├── BadAnswer          an answer that breaks the wire contract (the peer misbehaved)
          └── Refused            a 4xx with the contract's ``{error: {code, message}}``
               ├── Unauthorized      401: token unknown or revoked
               ├── UpdateRequired    426: the server needs a newer app
               ├── RateLimited       429: ``retry_after`` seconds
               └── EnrollmentRefused the code is invalid, used or expired

Users act on ``NotEnrolled``, ``AlreadyEnrolled`` and the ``TransportError`` family (the message says how);
``EngineMisuse`` and anything else are bugs.
"""

from __future__ import annotations

from pydantic import ValidationError

from desktop.sync.events import Failure
from protocol.errors import ErrorCode
from protocol.messages import ErrorBody

__all__ = [
    "AlreadyEnrolled",
    "BadAnswer",
    "EngineMisuse",
    "EnrollmentRefused",
    "NotEnrolled",
    "RateLimited",
    "Refused",
    "ServerBusy",
    "ServerFailed",
    "ServerRestarting",
    "ServerUnreachable",
    "SyncError",
    "TransportError",
    "Unauthorized",
    "UpdateRequired",
    "error_for_status",
]


class SyncError(Exception):
    """Root of desktop.sync's own exceptions."""


class EngineMisuse(SyncError, RuntimeError):
    """An event the core cannot take in its current state (e.g. ``Start`` twice)."""


class NotEnrolled(SyncError):
    """No device id, server or token for this data dir."""


class AlreadyEnrolled(SyncError):
    """The data dir holds another server's records; enrolling it elsewhere would mix them."""


class TransportError(SyncError):
    """A request to the server got no usable answer.

    Attributes:
        failure: the kind, as the engine's core reasons about it.
    """

    failure: Failure = Failure.NETWORK


class ServerUnreachable(TransportError):
    failure = Failure.NETWORK


class ServerRestarting(ServerUnreachable):
    """The server closed the socket with 1012: it is going down to come straight back."""

    failure = Failure.RESTARTING


class ServerFailed(TransportError):
    failure = Failure.SERVER


class ServerBusy(ServerFailed):
    """503 with ``Retry-After`` (in seconds): the server cannot take the request now
    (``overloaded``, or its database ``unavailable``) and says when to come back."""

    failure = Failure.OVERLOADED

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BadAnswer(TransportError):
    failure = Failure.PROTOCOL


class Refused(TransportError):
    """The server answered 4xx with a stable error ``code``.

    Attributes:
        status: the HTTP status.
        code: the contract's ``error.code`` (see ``protocol.errors.ErrorCode``).
    """

    failure = Failure.REFUSED

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class Unauthorized(Refused):
    failure = Failure.UNAUTHORIZED


class UpdateRequired(Refused):
    failure = Failure.UPDATE_REQUIRED


class RateLimited(Refused):
    """429; ``retry_after`` is the server's ``Retry-After`` in seconds (None if absent)."""

    failure = Failure.RATE_LIMITED

    def __init__(self, status: int, code: str, message: str, retry_after: float | None) -> None:
        super().__init__(status, code, message)
        self.retry_after = retry_after


class EnrollmentRefused(Refused):
    """The enrolment code is invalid, already used or expired (``code`` says which)."""


def error_for_status(status: int, body: bytes, retry_after: str | None = None) -> TransportError:
    """The exception a non-2xx answer stands for (HTTP or a refused socket handshake).

    Args:
        status: the HTTP status.
        body: the answer's body; the contract's ``{error: {code, message}}`` when the
            server itself answered, anything at all when a proxy did.
        retry_after: the ``Retry-After`` header, if any.
    """
    try:
        detail = ErrorBody.model_validate_json(body).error
        code, message = detail.code, detail.message
    except ValidationError:
        code, message = f"http_{status}", body[:200].decode("utf-8", "replace").strip() or f"HTTP {status}"
    seconds = _seconds(retry_after)
    if status == 503 and seconds is not None:
        return ServerBusy(f"the server answered 503: {message}", seconds)
    if status >= 500:
        return ServerFailed(f"the server answered {status}: {message}")
    if status == 401:
        return Unauthorized(status, code, message)
    if status == 426:
        return UpdateRequired(status, code, message)
    if status == 429:
        return RateLimited(status, code, message, seconds)
    if code in _ENROLL_CODES:
        return EnrollmentRefused(status, code, message)
    return Refused(status, code, message)


_ENROLL_CODES = frozenset(
    {ErrorCode.ENROLL_CODE_INVALID, ErrorCode.ENROLL_CODE_USED, ErrorCode.ENROLL_CODE_EXPIRED}
)


def _seconds(header: str | None) -> float | None:
    """``Retry-After`` in seconds (the delta form; a date or garbage counts as absent)."""
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None
