"""The device's hybrid logical clock, persisted in ``sync_state``.

The clock is rebuilt from ``sync_state`` inside every write transaction and its
``last`` written back before commit. Because writes hold SQLite's write lock
(``BEGIN IMMEDIATE``), two processes sharing the file take turns and the clock never
goes backwards, across restarts too. Its wall input is the local clock plus the
offset to the server clock measured at the last connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import Connection

from desktop.cache.state import Key, read_values, write_values
from protocol.hlc import HybridLogicalClock, Timestamp

__all__ = ["WallClock", "load_clock", "observe", "reset_clock", "stamp"]

WallClock = Callable[[], int]
"""Local wall time in milliseconds since the epoch (injectable for tests)."""

_KEYS = (Key.DEVICE_ID, Key.LOCAL_NODE, Key.HLC_LAST, Key.HLC_OBSERVED, Key.CLOCK_OFFSET_MS)


def load_clock(conn: Connection, wall_ms: WallClock) -> tuple[HybridLogicalClock, str | None]:
    """The clock as persisted, and the greatest stamp ever received from elsewhere."""
    raw = read_values(conn, _KEYS)
    node = raw.get(Key.DEVICE_ID) or raw.get(Key.LOCAL_NODE)
    if not node:
        raise RuntimeError("sync_state has no node id; the cache was not initialised")
    offset = int(raw.get(Key.CLOCK_OFFSET_MS) or 0)
    clock = HybridLogicalClock(node, wall_ms=lambda: wall_ms() + offset, last=raw.get(Key.HLC_LAST))
    return clock, raw.get(Key.HLC_OBSERVED)


def stamp(conn: Connection, wall_ms: WallClock, count: int = 1) -> list[str]:
    """``count`` new increasing stamps; the clock's new ``last`` is saved in ``conn``'s transaction."""
    clock, _ = load_clock(conn, wall_ms)
    stamps = [clock.now() for _ in range(count)]
    write_values(conn, {Key.HLC_LAST: str(clock.last)})
    return stamps


def observe(conn: Connection, wall_ms: WallClock, stamps: Iterable[str]) -> None:
    """Absorb stamps received from the server so later local stamps sort after them.

    Raises:
        protocol.errors.InvalidTimestamp: a stamp is not an HLC.
    """
    top = max(stamps, default=None)
    if top is None:
        return
    clock, observed = load_clock(conn, wall_ms)
    clock.observe(top)
    values: dict[Key, str | None] = {Key.HLC_LAST: str(clock.last)}
    if observed is None or top > observed:
        values[Key.HLC_OBSERVED] = top
    write_values(conn, values)


def reset_clock(conn: Connection, floor: str | None) -> None:
    """Move the clock back to ``floor`` (None: to zero); only for re-stamping after ``clock_skew``.

    Stamps issued with a wrong wall clock are the only reason to go back; everything
    received from elsewhere stays below the new clock because callers pass at least
    the greatest observed stamp.
    """
    value = None if floor is None else str(Timestamp.parse(floor))
    write_values(conn, {Key.HLC_LAST: value})
