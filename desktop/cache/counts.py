"""The queue sizes a status line shows, read inside whatever transaction is open.

Every cache call the engine makes returns these in its outcome, read in the same
transaction as the write, so the engine never has to count again (nor wonder
whether its numbers are older than its last write).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from desktop.cache import conflicts, outbox, rejected

__all__ = ["Counts", "read_counts"]


@dataclass(frozen=True, slots=True)
class Counts:
    """The numbers a status line shows."""

    pending: int
    rejected: int
    conflicts: int


def read_counts(conn: Connection) -> Counts:
    """Pending mutations, rejected mutations and undismissed conflicts, as ``conn`` sees them."""
    return Counts(outbox.pending_count(conn), rejected.count(conn), conflicts.count(conn))
