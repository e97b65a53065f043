"""What the OpenAPI document says about error answers.

FastAPI documents its own 422 shape by default; ours is the contract's error body, so
routes list their error statuses with this instead.
"""

from __future__ import annotations

from typing import Any

from protocol.messages import ErrorBody

__all__ = ["error_responses"]

_MEANING = {
    401: "Missing, unknown or revoked device token",
    404: "No such row (or it is deleted)",
    409: "A row with this id already exists",
    413: "Body over 1 MiB or more than 500 mutations",
    422: "Invalid body or parameter; ``error.field`` names the field when there is one",
    429: "Too many requests from this device; see ``Retry-After``",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that may answer ``statuses`` with the JSON error body."""
    return {status: {"model": ErrorBody, "description": _MEANING[status]} for status in statuses}
