"""What the server answered to a push: drop, reject, keep for re-stamping, note losses.

``applied`` and ``duplicate`` both mean the server has the mutation, so it leaves the
outbox. ``rejected`` moves it to ``rejected`` and the queue keeps flowing, except for
``clock_skew``: that is the device's clock, not the data, so the mutation stays
queued for ``restamp_pending``. A pushed value that lost the merge on the server is
recorded as a conflict and the winning value is taken into the local row at once,
so the row does not wait for the pull to show the truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from desktop.cache import conflicts, rejected, rows
from desktop.cache.clock import WallClock, observe
from desktop.cache.counts import Counts, read_counts
from desktop.cache.outbox import OutboxEntry, remove
from protocol.errors import ErrorCode
from protocol.merge import DELETED, Row, merge
from protocol.messages import ErrorDetail, LostWire, MutationResult
from protocol.wire import lost_from_wire

__all__ = ["PushOutcome", "apply_push_results"]

_NO_REASON = ErrorDetail(code=ErrorCode.INTERNAL, message="the server refused this change without a reason")


@dataclass(frozen=True, slots=True)
class PushOutcome:
    """How one push answer changed the outbox."""

    done: int
    """Mutations the server has (applied or duplicate), now out of the outbox."""
    rejected: int
    """Mutations moved to ``rejected``."""
    conflicts: int
    """Pushed values that lost on the server."""
    clock_skew: int
    """Mutations refused for ``clock_skew``, still queued: re-measure the offset and re-stamp."""
    unanswered: int
    """Entries with no result in the answer, still queued."""
    counts: Counts
    """The queue sizes this answer left (read in the same transaction)."""


def apply_push_results(
    conn: Connection,
    wall_ms: WallClock,
    entries: Sequence[OutboxEntry],
    results: Sequence[MutationResult],
    server_hlc: str | None = None,
) -> PushOutcome:
    """Apply the server's answer to ``entries`` (the batch that was pushed)."""
    answers = {str(result.id): result for result in results}
    done: list[OutboxEntry] = []
    moved = skewed = lost_count = 0
    for entry in entries:
        answer = answers.get(entry.mutation_id)
        if answer is None:
            continue
        if answer.clock_skewed:
            skewed += 1
            continue
        if answer.status == "rejected":
            rejected.move(conn, entry.seq, answer.error or _NO_REASON)
            moved += 1
            continue
        done.append(entry)
        for lost in answer.lost:
            if lost.losing_hlc == entry.hlc:
                _adopt_winner(conn, entry, lost)
                lost_count += 1
    remove(conn, [entry.seq for entry in done])
    # What the server has taken counts as seen elsewhere: a re-stamp never goes below it.
    observe(conn, wall_ms, [*(entry.hlc for entry in done), *([server_hlc] if server_hlc else [])])
    unanswered = len(entries) - len(done) - moved - skewed
    return PushOutcome(len(done), moved, lost_count, skewed, unanswered, read_counts(conn))


def _adopt_winner(conn: Connection, entry: OutboxEntry, wire: LostWire) -> None:
    """Record the loss and merge the winning value into the local row."""
    conflicts.record(conn, entry.collection, entry.row_id, lost_from_wire(wire, "incoming"))
    collection = rows.collection_named(entry.collection)
    current = rows.load(conn, collection, entry.row_id)
    if current is None:
        return
    if wire.field == DELETED:
        winner = Row({}, {DELETED: wire.winning_hlc}, deleted=bool(wire.winning_value))
    elif wire.field in collection.field_names:
        winner = Row({wire.field: wire.winning_value}, {wire.field: wire.winning_hlc})
    else:
        return
    result = merge(current.row, winner)
    if result.changed:
        rows.save_many(conn, collection, [], [(current.id, result.row)])
