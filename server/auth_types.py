"""Who is making a request: the authenticated device, as route handlers see it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

__all__ = ["AuthenticatedDevice", "Author"]


@dataclass(frozen=True, slots=True)
class AuthenticatedDevice:
    """A device whose bearer token checked out (enrolled, not revoked)."""

    id: uuid.UUID
    name: str
    branch_id: uuid.UUID
    branch_name: str


@dataclass(frozen=True, slots=True)
class Author:
    """Recorded on every change: which device and branch made it."""

    device_id: uuid.UUID | None
    branch_id: uuid.UUID | None
