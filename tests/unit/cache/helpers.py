"""Helpers for the cache tests: a wall clock the test drives, remote stamps and pulled changes."""

from __future__ import annotations

from typing import Any

from protocol.hlc import Timestamp
from protocol.messages import Change

START_MS = 1_760_000_000_000
"""A fixed, realistic wall time (Oct 2025) the tests start their clocks at."""


class FakeWall:
    """A wall clock in ms that only moves when the test says so."""

    def __init__(self, ms: int = START_MS) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms

    def advance(self, ms: int = 1) -> None:
        self.ms += ms


def stamp(wall_ms: int, node: str = "server", counter: int = 0) -> str:
    """An HLC in text form, as another device or the server would send it."""
    return str(Timestamp(wall_ms, counter, node))


def change(
    row_id: str,
    fields: dict[str, Any],
    hlc: str,
    *,
    collection: str = "clients",
    seq: int = 1,
    deleted: bool = False,
    clocks: dict[str, str] | None = None,
) -> Change:
    """A pulled change whose every field (and the deletion flag) carries ``hlc`` unless ``clocks`` says."""
    all_clocks = {name: hlc for name in fields} | {"_deleted": hlc} | (clocks or {})
    return Change.model_validate(
        {
            "seq": seq,
            "collection": collection,
            "row_id": row_id,
            "fields": fields,
            "clocks": all_clocks,
            "deleted": deleted,
        }
    )
