"""The device's hybrid logical clock, persisted in ``sync_state``.

The clock is rebuilt from ``sync_state`` inside every write transaction and its
``last`` written back before commit. Because writes hold SQLite's write lock
(``BEGIN IMMEDIATE``), two processes sharing the file take turns and the clock never
goes backwards, across restarts too. Its wall input is the local clock plus the
offset to the server clock measured at the last connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from sqlalchemy import Connection

from desktop.cache.state import Key, Value, read_values, write_values
from protocol.hlc import HybridLogicalClock, Timestamp

__all__ = ["CLOCK_KEYS", "WallClock", "load_clock", "observe", "observed_values", "reset_clock", "stamp"]

WallClock = Callable[[], int]
"""Local wall time in milliseconds since the epoch (injectable for tests)."""

CLOCK_KEYS = (Key.DEVICE_ID, Key.LOCAL_NODE, Key.HLC_LAST, Key.HLC_OBSERVED, Key.CLOCK_OFFSET_MS)
"""The ``sync_state`` keys the clock is made of."""


def load_clock(conn: Connection, wall_ms: WallClock) -> tuple[HybridLogicalClock, str | None]:
    """The clock as persisted, and the greatest stamp ever received from elsewhere."""
    return _clock_from(read_values(conn, CLOCK_KEYS), wall_ms)


def _clock_from(raw: Mapping[Key, str | None], wall_ms: WallClock) -> tuple[HybridLogicalClock, str | None]:
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
    if (top := max(stamps, default=None)) is not None:
        write_values(conn, observed_values(read_values(conn, CLOCK_KEYS), wall_ms, [top]))


def observed_values(
    raw: Mapping[Key, str | None], wall_ms: WallClock, stamps: Iterable[str]
) -> dict[Key, Value]:
    """What ``observe`` writes, from ``raw`` (``CLOCK_KEYS`` as read in this transaction).

    For a caller that reads and writes ``sync_state`` anyway and saves two statements.

    Raises:
        protocol.errors.InvalidTimestamp: a stamp is not an HLC.
    """
    top = max(stamps, default=None)
    if top is None:
        return {}
    clock, observed = _clock_from(raw, wall_ms)
    clock.observe(top)
    values: dict[Key, Value] = {Key.HLC_LAST: str(clock.last)}
    if observed is None or top > observed:
        values[Key.HLC_OBSERVED] = top
    return values


def reset_clock(conn: Connection, floor: str | None) -> None:
    """Move the clock back to ``floor`` (None: to zero); only for re-stamping after ``clock_skew``.

    Stamps issued with a wrong wall clock are the only reason to go back; everything
    received from elsewhere stays below the new clock because callers pass at least
    the greatest observed stamp.
    """
    value = None if floor is None else str(Timestamp.parse(floor))
    write_values(conn, {Key.HLC_LAST: value})
