"""Applying changes pulled from the server (or pushed to us over the socket).

Every change is merged with ``protocol.merge``, so a field keeps a newer local value
whatever arrives (last write wins per field, by HLC). A local value of mine (written
on this device, or still queued) that loses is recorded as a conflict when it lost a
race: the winning write's base (``Change.bases``) shows its author had not seen my
value (``protocol.overwrote_unseen``). A value replaced by someone who had it is an
ordinary later edit, not a conflict. When the winner gave no base (an older server
or client), only a queued value counts, as nothing else tells a race apart.

The cursor moves in the same transaction as the rows, so a crash can only make the
engine pull a batch again, and merging is idempotent.

A change of a compacted tombstone carries ``protocol.CLEARED``: the merge then drops
every local value stamped at or before it, so this cache forgets a deleted row's old
values (and a queued edit stamped before the delete) when the server does.

Rows are loaded and written a batch at a time (one ``IN`` query, one multi-row
statement), which is what keeps a 100 000-row bootstrap quick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, exists, select

from desktop.cache import conflicts, epoch, rows
from desktop.cache.clock import CLOCK_KEYS, WallClock, observed_values
from desktop.cache.counts import Counts, read_counts
from desktop.cache.errors import EpochChanged
from desktop.cache.outbox import pending_hlcs
from desktop.cache.schema import outbox
from desktop.cache.state import Key, Value, read_values, write_values
from protocol.collections import COLLECTIONS, Collection
from protocol.concurrency import overwrote_unseen
from protocol.hlc import parse
from protocol.merge import CLEARED, DELETED, Lost, Row, merge
from protocol.messages import Change

__all__ = ["ApplyOutcome", "apply_changes", "pulled_row"]

# Read once per batch (a batch is often one change, off a socket frame): the epoch
# facts and the clock together, in one statement.
_STATE_KEYS = (Key.EPOCH, Key.EPOCH_RESET, *CLOCK_KEYS)
_ANYTHING_QUEUED = select(exists().where(outbox.c.seq.is_not(None)))
_REGISTERS = frozenset({DELETED, CLEARED})


@dataclass(frozen=True, slots=True)
class ApplyOutcome:
    """What one batch of remote changes did to the cache."""

    changed_rows: int
    """Rows whose stored state changed."""
    conflicts: int
    """Values of mine newly recorded as lost to a race."""
    skipped: int
    """Changes of collections this version does not know (a newer server)."""
    cursor: int
    counts: Counts
    """The queue sizes after this batch (new conflicts show here), read in the same transaction."""


def pulled_row(collection: Collection, change: Change) -> Row:
    """The server's row state in ``change``, keeping only the fields and registers this version knows."""
    names = rows.field_names(collection)
    fields = {k: v for k, v in change.fields.items() if k in names and v is not None}
    clocks = {k: v for k, v in change.clocks.items() if k in names or k in _REGISTERS}
    return Row(fields, clocks, change.deleted)


def apply_changes(
    conn: Connection, wall_ms: WallClock, changes: Sequence[Change], new_cursor: int, epoch_id: str | None
) -> ApplyOutcome:
    """Merge ``changes`` into the rows and move the cursor to ``new_cursor``.

    Args:
        epoch_id: the server history the changes belong to (None: not told, e.g. a
            socket frame). Adopted when the cache has none yet.

    Raises:
        EpochChanged: ``epoch_id`` differs from the cursor's; nothing applied.
        protocol.errors.InvalidTimestamp: a change carries a clock that is not an HLC.
    """
    state = read_values(conn, _STATE_KEYS)
    known_epoch = state.get(Key.EPOCH)
    if epoch_id is not None and known_epoch is not None and epoch_id != known_epoch:
        raise EpochChanged(
            f"the server's history changed (epoch {known_epoch} -> {epoch_id}); pull again from 0"
        )
    resetting = state.get(Key.EPOCH_RESET) == "1"
    my_nodes = frozenset(node for node in (state.get(Key.DEVICE_ID), state.get(Key.LOCAL_NODE)) if node)
    anything_queued = bool(conn.execute(_ANYTHING_QUEUED).scalar())

    by_collection: dict[str, list[Change]] = {}
    for change in changes:
        by_collection.setdefault(change.collection, []).append(change)
    changed = lost = skipped = 0
    top: list[str] = []
    for name, batch in by_collection.items():
        collection = COLLECTIONS.get(name)
        if collection is None:
            skipped += len(batch)
            continue
        counts = _apply_batch(conn, collection, batch, my_nodes, anything_queued, resetting)
        changed += counts[0]
        lost += counts[1]
        top.extend(max(change.clocks.values()) for change in batch if change.clocks)
    # nothing above writes the clock's keys, so ``state`` still holds them: one write for all
    values: dict[Key, Value] = {**observed_values(state, wall_ms, top), Key.CURSOR: new_cursor}
    if epoch_id is not None and known_epoch is None:
        values[Key.EPOCH] = epoch_id
    write_values(conn, values)
    return ApplyOutcome(changed, lost, skipped, new_cursor, read_counts(conn))


def _apply_batch(
    conn: Connection,
    collection: Collection,
    batch: list[Change],
    my_nodes: frozenset[str],
    anything_queued: bool,
    resetting: bool,
) -> tuple[int, int]:
    """Merge one collection's changes; returns (rows changed, conflicts recorded)."""
    ids = [str(change.row_id) for change in batch]
    stored = {row_id: record.row for row_id, record in rows.load_many(conn, collection, ids).items()}
    queued = pending_hlcs(conn, collection.name, ids) if anything_queued else {}
    current = dict(stored)
    pulled: dict[str, Row] = {}
    dirty: set[str] = set()
    lost = 0
    for row_id, change in zip(ids, batch, strict=True):
        incoming = pulled_row(collection, change)
        result = merge(current.get(row_id, Row()), incoming)
        pending = queued.get(row_id, set())
        for loss in result.lost:
            if _lost_a_race(loss, change, pending, my_nodes) and conflicts.record(
                conn, collection.name, row_id, loss
            ):
                lost += 1
        if result.changed:
            current[row_id] = result.row
            dirty.add(row_id)
        pulled[row_id] = incoming
    inserts = [(row_id, current[row_id]) for row_id in dirty if row_id not in stored]
    updates = [(row_id, current[row_id]) for row_id in dirty if row_id in stored]
    rows.save_many(conn, collection, inserts, updates)
    if resetting:
        epoch.track(conn, collection, {row_id: current.get(row_id, Row()) for row_id in pulled}, pulled)
    return len(dirty), lost


def _lost_a_race(loss: Lost, change: Change, pending: set[str], my_nodes: frozenset[str]) -> bool:
    """Whether ``loss`` is a value of mine that ``change``'s writer overwrote without having seen it."""
    if loss.loser != "current":
        return False  # the incoming value lost: its writer hears of it, not me
    queued = loss.losing_hlc in pending
    if not queued and parse(loss.losing_hlc).node not in my_nodes:
        return False  # someone else's value: theirs to see
    unseen = overwrote_unseen(loss.losing_hlc, change.bases, loss.field)
    return queued if unseen is None else unseen
