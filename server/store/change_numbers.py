"""Change numbers that commits may take in any order, and the horizon readers stay below.

Theory of operation. A writer takes its change numbers from ``change_seq`` and commits
whenever it is done, so a change numbered N+1 may commit before N. What keeps a reader
from moving its cursor past N is an *in-flight mark*: before a writer takes its first
number it reads the sequence's next value ``lb`` and takes a shared transaction-level
advisory lock on ``MARK_BASE + lb``. PostgreSQL keeps that lock until the transaction has
ended and its commit is visible to new snapshots, and every number the writer then takes
is at least ``lb``.

A reader asks for the *horizon* first, in a statement of its own: the last number
handed out (read first), capped below the lowest mark still held (read second, from
``pg_locks``). Every number at or below the horizon was handed out before the marks were
read, and its mark was placed before its number was, so its transaction was over by then:
committed (visible to any snapshot taken after this statement) or rolled back (a gap).
The reader's next statement then reads the changes up to the horizon.

Only the one statement that takes the numbers is ordered; nothing is serialised across
writers, so commits overlap and PostgreSQL can flush them together.

Every server process on one database must use these marks: stop processes that took the
old global write lock (``pg_advisory_xact_lock(0x6272616E6368)`` through commit) before
starting these.
"""

from __future__ import annotations

from typing import Any

from server.store.tables import CHANGE_SEQ

__all__ = ["MARK_BASE", "horizon", "take_numbers"]

MARK_BASE = 0x6273 << 48
"""Advisory lock keys ``MARK_BASE + n`` are in-flight marks (in ``pg_locks``: ``classid``
``0x6273xxxx``, ``objsubid`` 1); change numbers stay below 2**48."""

_MARK_CLASS = MARK_BASE >> 32

_TAKE_NUMBERS = f"""
SELECT nextval('{CHANGE_SEQ.name}')
FROM (
    SELECT pg_advisory_xact_lock_shared(
        $1::bigint + (SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END
                      FROM {CHANGE_SEQ.name})
    )
) AS in_flight_mark, generate_series(1, $2)
"""
"""The mark, then the numbers: a number is computed per output row, and there is no row
before the mark is held (the subquery is volatile, so it is never pulled up or repeated)."""

_HORIZON = f"""
SELECT least(handed.last, marks.lowest - 1)
FROM (
    SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS last FROM {CHANGE_SEQ.name}
) AS handed,
LATERAL (
    SELECT min(((classid::bigint << 32) | objid::bigint) - {MARK_BASE}) AS lowest
    FROM pg_locks
    WHERE handed.last IS NOT NULL
      AND locktype = 'advisory' AND objsubid = 1 AND granted
      AND classid::bigint >= {_MARK_CLASS} AND classid::bigint < {_MARK_CLASS + 0x10000}
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
) AS marks
"""
"""The sequence is read before the marks: the lateral subquery needs ``handed.last``, so it
cannot run first. ``least`` ignores a NULL ``lowest`` (no mark held)."""


async def take_numbers(driver: Any, count: int) -> list[int]:
    """Mark this transaction in flight and take ``count`` new change numbers, ascending.

    ``driver`` is the asyncpg connection of an open transaction; the mark is held until it
    ends, so call this as late as possible but before the numbers are needed.
    """
    return sorted(row[0] for row in await driver.fetch(_TAKE_NUMBERS, MARK_BASE, count))


async def horizon(driver: Any) -> int:
    """The newest change number at or below which every change is committed or never will be.

    A snapshot taken after this returns (the next statement under READ COMMITTED, or a
    REPEATABLE READ transaction begun afterwards) sees every change up to it. Never call it
    inside a snapshot that is already taken: a change committing meanwhile would be missed.
    """
    value = await driver.fetchval(_HORIZON)
    return int(value or 0)
