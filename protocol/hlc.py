"""Hybrid logical clock (HLC).

Text form ``f"{wall_ms:015d}-{counter:06d}-{node}"``: fixed-width numbers, so plain
string comparison gives the total order (wall time, counter, node). ``node`` is the
device id (the server uses its own id).

The clock is pure: its wall input is a function passed in (the desktop passes the
local clock corrected by the measured server offset), so tests drive it directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from protocol.errors import InvalidTimestamp

__all__ = ["HybridLogicalClock", "Timestamp", "parse", "system_wall_ms"]

_MAX_COUNTER = 999_999
_WALL_DIGITS = 15
_COUNTER_DIGITS = 6
_MAX_NODE_LENGTH = 64


@dataclass(frozen=True, order=True, slots=True)
class Timestamp:
    """One HLC reading; ordering matches the ordering of the text form."""

    wall_ms: int
    counter: int
    node: str

    def __str__(self) -> str:
        return f"{self.wall_ms:015d}-{self.counter:06d}-{self.node}"

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        """Read the text form back.

        Raises:
            InvalidTimestamp: ``text`` is not in ``wall-counter-node`` form.
        """
        return parse(text)


def parse(text: str) -> Timestamp:
    """Parse an HLC in text form. Raises ``InvalidTimestamp`` when it is not one."""
    if not isinstance(text, str):
        raise InvalidTimestamp(f"HLC must be text, not {type(text).__name__}")
    parts = text.split("-", 2)
    if (
        len(parts) != 3
        or not _is_digits(parts[0], _WALL_DIGITS)
        or not _is_digits(parts[1], _COUNTER_DIGITS)
        or not _valid_node(parts[2])
    ):
        raise InvalidTimestamp(f"{text[:80]!r} is not an HLC (wall-counter-node)")
    return Timestamp(int(parts[0]), int(parts[1]), parts[2])


def _valid_node(node: str) -> bool:
    """Whether ``node`` can be the node part of an HLC.

    1-64 printable characters: no NUL or other control character, no lone surrogate,
    so a stamp survives JSON, UTF-8 and a PostgreSQL ``jsonb`` column unchanged.
    """
    return 0 < len(node) <= _MAX_NODE_LENGTH and node.isprintable()


def _is_digits(text: str, width: int) -> bool:
    """Exactly ``width`` ASCII digits (``str.isdigit`` also takes ``²`` and ``٣``)."""
    return len(text) == width and text.isascii() and text.isdigit()


def system_wall_ms() -> int:
    """This machine's wall clock in milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


class HybridLogicalClock:
    """Stamps local writes and absorbs remote stamps so causality is never inverted.

    Never goes backwards: each ``now()`` is greater than every stamp it has issued or
    observed, even when the wall input jumps back. Persist ``last`` and pass it back
    in after a restart to keep that promise across restarts.
    """

    def __init__(
        self,
        node: str,
        wall_ms: Callable[[], int] = system_wall_ms,
        last: Timestamp | str | None = None,
    ) -> None:
        if not _valid_node(node):
            raise ValueError(f"node must be 1-{_MAX_NODE_LENGTH} printable characters, not {node[:80]!r}")
        self.node = node
        self._wall_ms = wall_ms
        self._last = Timestamp(0, 0, node) if last is None else _as_timestamp(last)

    @property
    def last(self) -> Timestamp:
        """The greatest stamp issued or observed so far."""
        return self._last

    def wall_ms(self) -> int:
        """What this clock's wall input reads now: the machine's own time, apart from the
        stamps it absorbed (``last`` may run ahead of it by what other machines stamped)."""
        return self._wall_ms()

    def now(self) -> str:
        """A new stamp for a local event, greater than all before it."""
        wall = self._wall_ms()
        if wall > self._last.wall_ms:
            stamp = Timestamp(wall, 0, self.node)
        else:
            stamp = _successor(self._last.wall_ms, self._last.counter, self.node)
        self._last = stamp
        return str(stamp)

    def observe(self, remote: str | Timestamp) -> None:
        """Absorb a stamp received from elsewhere so later ``now()`` sorts after it.

        Raises:
            InvalidTimestamp: ``remote`` is not an HLC.
        """
        other = _as_timestamp(remote)
        if (other.wall_ms, other.counter) > (self._last.wall_ms, self._last.counter):
            self._last = Timestamp(other.wall_ms, other.counter, self.node)


def _as_timestamp(value: Timestamp | str) -> Timestamp:
    """A ``Timestamp`` as is, anything else through ``parse`` (so junk raises InvalidTimestamp)."""
    return value if isinstance(value, Timestamp) else parse(value)


def _successor(wall_ms: int, counter: int, node: str) -> Timestamp:
    """The next stamp after (wall, counter); carries into the wall when the counter is full."""
    if counter >= _MAX_COUNTER:
        return Timestamp(wall_ms + 1, 0, node)
    return Timestamp(wall_ms, counter + 1, node)
