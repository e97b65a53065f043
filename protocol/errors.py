"""Stable error codes of the wire contract and the one exception root of ``protocol``.

Exception tree::

    ProtocolError            bad input reached the protocol layer (the peer misbehaved)
     ├── InvalidTimestamp    a clock value that is not an HLC in text form
     └── UnknownTimeZone     a branch time zone that is not an IANA name this tz database knows

Error *codes* are part of the public wire contract: clients switch on them, so they
are never renamed, only added.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ErrorCode", "FieldError", "InvalidTimestamp", "ProtocolError", "UnknownTimeZone"]


class ErrorCode(StrEnum):
    """Every ``error.code`` the server may answer with."""

    # field validation (carry ``field``)
    REQUIRED = "required"
    TOO_LONG = "too_long"
    INVALID_TYPE = "invalid_type"
    INVALID_EMAIL = "invalid_email"
    INVALID_PHONE = "invalid_phone"
    INVALID_DATETIME = "invalid_datetime"
    INVALID_UUID = "invalid_uuid"
    INVALID_CHOICE = "invalid_choice"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_FIELD = "unknown_field"
    # mutation level
    UNKNOWN_COLLECTION = "unknown_collection"
    INVALID_MUTATION = "invalid_mutation"
    INVALID_HLC = "invalid_hlc"
    CLOCK_SKEW = "clock_skew"
    # request level
    INVALID_BODY = "invalid_body"
    TOO_LARGE = "too_large"
    UNAUTHORIZED = "unauthorized"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    UPDATE_REQUIRED = "update_required"
    ENROLL_CODE_INVALID = "enroll_code_invalid"
    ENROLL_CODE_USED = "enroll_code_used"
    ENROLL_CODE_EXPIRED = "enroll_code_expired"
    INTERNAL = "internal"
    OVERLOADED = "overloaded"
    """503: every database connection is busy; retry after ``Retry-After`` seconds."""
    UNAVAILABLE = "unavailable"
    """503: the database cannot be reached (restarting?); retry after ``Retry-After`` seconds."""
    REQUEST_TIMEOUT = "request_timeout"
    """408: the request's line and headers did not all arrive in time (the connection closes)."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """Why one field of one mutation was refused."""

    code: ErrorCode
    field: str
    message: str


class ProtocolError(Exception):
    """Root of the exceptions raised by ``protocol``: the input broke the contract."""


class InvalidTimestamp(ProtocolError, ValueError):
    """A string that is not an HLC in ``wall-counter-node`` text form."""


class UnknownTimeZone(ProtocolError, ValueError):
    """A time zone name the IANA tz database (as installed here) does not know."""
