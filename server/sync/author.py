"""Who made a change: recorded on every row and answer the write path stores."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

__all__ = ["Author"]


@dataclass(frozen=True, slots=True)
class Author:
    """Recorded on every change: which device and branch made it."""

    device_id: uuid.UUID | None
    branch_id: uuid.UUID | None
