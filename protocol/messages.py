"""Wire messages of protocol v1 (JSON), as pydantic models both ends parse with.

Requests the server receives are strict (unknown keys refused) so a client bug shows
up as a 422 rather than silently dropped data; frames and answers a client receives
ignore unknown keys so a newer server can add to them.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

from protocol.errors import ErrorCode
from protocol.validate import NOT_BLANK_PATTERN
from protocol.validate import UNSTORABLE as _UNSTORABLE
from protocol.version import MAX_MUTATIONS_PER_PUSH

__all__ = [
    "STORABLE",
    "BranchInfo",
    "Change",
    "ChangesFrame",
    "DeviceInfo",
    "DirectoryResponse",
    "EnrollRequest",
    "EnrollResponse",
    "ErrorBody",
    "ErrorDetail",
    "HelloFrame",
    "Mutation",
    "MutationResult",
    "PullResponse",
    "PushRequest",
    "PushResponse",
    "ResyncFrame",
    "ServerFrame",
    "StatusFrame",
    "parse_server_frame",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


# ---- errors ----------------------------------------------------------------------


class ErrorDetail(_Lenient):
    code: str
    message: str
    field: str | None = None


class ErrorBody(_Lenient):
    """Every non-2xx answer: ``{"error": {"code", "message"}}``."""

    error: ErrorDetail


# ---- enrolment -------------------------------------------------------------------


def _storable(value: Any) -> Any:
    if isinstance(value, str) and _UNSTORABLE.search(value):
        raise ValueError("contains a NUL or an unpaired surrogate")
    return value


STORABLE = BeforeValidator(_storable)
"""For text a request gives the server to keep: PostgreSQL cannot store a NUL, nor UTF-8 a
lone surrogate. It runs before the type and length checks, which keep their own messages."""


class EnrollRequest(_Strict):
    code: Annotated[str, Field(min_length=1, max_length=100), STORABLE]
    # the server refuses a blank name (422); the pattern says so in the OpenAPI document
    device_name: Annotated[
        str, Field(min_length=1, max_length=200, json_schema_extra={"pattern": NOT_BLANK_PATTERN}), STORABLE
    ]
    app_version: Annotated[str | None, Field(max_length=50), STORABLE] = None


class BranchInfo(_Lenient):
    """A branch as devices see it. ``timezone`` (IANA name, e.g. ``Europe/Vienna``) is an
    additive extension: None means "not set", and the app then uses the PC's own zone."""

    id: str
    name: str
    timezone: str | None = None


class DeviceInfo(_Lenient):
    """A device's public face: enough to say who won a conflict ("Reception PC, North")."""

    id: str
    name: str
    branch_id: str


class DirectoryResponse(_Lenient):
    """``GET /api/v1/branches`` (extension): every branch and every device that ever
    enrolled (revoked ones too, because old conflict records still name them).

    Sent with an ``ETag``; asked again with ``If-None-Match``, an unchanged one is a 304."""

    branches: list[BranchInfo]
    devices: list[DeviceInfo] = Field(default_factory=list)


class EnrollResponse(_Lenient):
    device_id: str
    token: str
    branch: BranchInfo
    server_hlc: str
    epoch: str
    server_wall_ms: int | None = None
    """The server's own clock (see ``PushResponse.server_wall_ms``)."""


# ---- push ------------------------------------------------------------------------


class Mutation(_Strict):
    """One local write: made once on a device, applied at most once by the server."""

    id: uuid.UUID
    collection: str
    row_id: uuid.UUID
    op: Literal["upsert", "delete"]
    fields: dict[str, Any] = Field(default_factory=dict)
    hlc: str
    base: dict[str, str | None] | None = None
    """Per key written, the HLC of the value the author's device held when the edit was
    made (None: no value yet); absent when unknown (an older client, a re-sent value).
    Lets receivers tell a race from a later edit (``protocol.concurrency``)."""


class PushRequest(_Strict):
    mutations: Annotated[list[Mutation], Field(max_length=MAX_MUTATIONS_PER_PUSH)]


class LostWire(_Lenient):
    field: str
    losing_value: Any = None
    losing_hlc: str
    winning_value: Any = None
    winning_hlc: str
    winner_device: str


class MutationResult(_Lenient):
    id: uuid.UUID
    status: Literal["applied", "duplicate", "rejected"]
    seq: int | None = None
    lost: list[LostWire] = Field(default_factory=list)
    error: ErrorDetail | None = None

    @property
    def clock_skewed(self) -> bool:
        """Refused for ``clock_skew``: the device's clock is wrong, not the data, so it stays queued."""
        error = self.error
        return self.status == "rejected" and error is not None and error.code == ErrorCode.CLOCK_SKEW


class PushResponse(_Lenient):
    results: list[MutationResult]
    server_hlc: str
    server_wall_ms: int | None = None
    """The server's own clock when it answered (ms since the epoch), apart from
    ``server_hlc``, which absorbs the stamps devices push and so runs ahead of it by as
    much as the fastest device's clock: offsets are measured against this. Absent from
    servers before issue 12: then the wall part of ``server_hlc`` is the reading."""


# ---- pull ------------------------------------------------------------------------


class Change(_Lenient):
    """A row's full current state after change ``seq``."""

    seq: int
    collection: str
    row_id: uuid.UUID
    fields: dict[str, Any]
    clocks: dict[str, str]
    deleted: bool
    bases: dict[str, str | None] = Field(default_factory=dict)
    """Per key, the ``base`` of the write that set its current value; a key left out is
    unknown (an older server, or a write that gave none)."""


class PullResponse(_Lenient):
    changes: list[Change]
    cursor: int
    has_more: bool
    server_hlc: str
    epoch: str
    server_wall_ms: int | None = None
    """The server's own clock (see ``PushResponse.server_wall_ms``)."""


# ---- WebSocket frames ------------------------------------------------------------


class HelloFrame(_Lenient):
    type: Literal["hello"]
    server_hlc: str
    head: int
    epoch: str
    server_wall_ms: int | None = None
    """The server's own clock (see ``PushResponse.server_wall_ms``)."""


class ChangesFrame(_Lenient):
    type: Literal["changes"]
    from_: int = Field(validation_alias="from", serialization_alias="from")
    """``from`` on the wire; separate aliases keep ``from_=`` as the constructor keyword for mypy."""
    to: int
    changes: list[Change]

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class ResyncFrame(_Lenient):
    """The server dropped this socket's backlog: pull, then reconnect."""

    type: Literal["resync"]


class StatusFrame(_Strict):
    """Client -> server, for monitoring: where this device is."""

    type: Literal["status"]
    cursor: int
    pending: int
    app_version: Annotated[str | None, STORABLE] = None


ServerFrame = Annotated[HelloFrame | ChangesFrame | ResyncFrame, Field(discriminator="type")]
_SERVER_FRAME: TypeAdapter[HelloFrame | ChangesFrame | ResyncFrame] = TypeAdapter(ServerFrame)


def parse_server_frame(text: str | bytes) -> HelloFrame | ChangesFrame | ResyncFrame:
    """Parse a frame the server sent.

    Raises:
        pydantic.ValidationError: not JSON, or not a frame this version knows.
    """
    return _SERVER_FRAME.validate_json(text)
