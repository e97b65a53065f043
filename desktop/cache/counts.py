"""The queue sizes a status line shows, read inside whatever transaction is open.

Every cache call the engine makes returns these in its outcome, read in the same
transaction as the write, so the engine never has to count again (nor wonder
whether its numbers are older than its last write).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from desktop.cache.schema import conflicts, outbox, rejected

__all__ = ["Counts", "read_counts"]


@dataclass(frozen=True, slots=True)
class Counts:
    """The numbers a status line shows."""

    pending: int
    rejected: int
    conflicts: int


# One statement, built once: every engine call ends with it (per change applied, per push).
_COUNTS = select(
    select(func.count()).select_from(outbox).scalar_subquery(),
    select(func.count()).select_from(rejected).scalar_subquery(),
    select(func.count()).select_from(conflicts).where(conflicts.c.dismissed.is_(False)).scalar_subquery(),
)


def read_counts(conn: Connection) -> Counts:
    """Pending mutations, rejected mutations and undismissed conflicts, as ``conn`` sees them."""
    pending, refused, lost = conn.execute(_COUNTS).one()
    return Counts(int(pending), int(refused), int(lost))
