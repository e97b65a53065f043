"""Epoch reset: the server was restored from a backup, so its history restarted.

Writes newer than the backup survive only on the branches. The cache then (1) drops
the cursor to 0 and marks every local row as "maybe newer here"; (2) while the
engine pulls from 0, narrows each row to the keys whose local clock beats the
server's (``track``); (3) once caught up, queues those keys again with their
original stamps, ahead of the outbox (``finish_epoch_reset``). Merging is
idempotent, so pushing a value the server already has changes nothing.

The cache only stores that a reset is open (``Key.EPOCH_RESET``); deciding about one
is the sync core's alone: it adopts the new epoch, and it pushes nothing while the
reset is open, so the push-back goes first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, literal, null, select
from sqlalchemy.dialects.sqlite import insert

from desktop.cache import rows
from desktop.cache.counts import Counts, read_counts
from desktop.cache.outbox import Op, append, pending_hlcs
from desktop.cache.restamp import rename_row_stamp
from desktop.cache.schema import RECORD_TABLES, epoch_pending, outbox
from desktop.cache.state import Key, read_state, write_values
from protocol.collections import Collection
from protocol.hlc import Timestamp, parse
from protocol.merge import DELETED, Row

__all__ = [
    "EpochResetOutcome",
    "PushBack",
    "finish_epoch_reset",
    "own_stamp",
    "plan_push_back",
    "start_epoch_reset",
    "track",
]

PushBack = tuple[Op, dict[str, Any], str]
"""One mutation to queue again: (op, fields, original hlc)."""


@dataclass(frozen=True, slots=True)
class EpochResetOutcome:
    """What closing a reset did."""

    queued: int
    """Mutations queued ahead of the outbox to give the server back what it lost."""
    counts: Counts
    """The queue sizes afterwards (read in the same transaction)."""


def start_epoch_reset(conn: Connection, epoch: str) -> None:
    """Adopt ``epoch``, drop the cursor to 0 and mark every local row as maybe newer here."""
    write_values(conn, {Key.CURSOR: 0, Key.EPOCH: epoch, Key.EPOCH_RESET: True})
    conn.execute(delete(epoch_pending))
    for name, table in RECORD_TABLES.items():
        source = select(literal(name), table.c.id, null())
        conn.execute(epoch_pending.insert().from_select(["collection", "row_id", "keys"], source))


def track(
    conn: Connection, collection: Collection, merged: Mapping[str, Row], pulled: Mapping[str, Row]
) -> None:
    """Narrow each pulled row to the keys whose local clock is newer than the server's.

    Args:
        merged: row id -> the local row after merging what was pulled.
        pulled: row id -> the server's state of that row (its last change in the batch).
    """
    newer: list[dict[str, Any]] = []
    settled: list[str] = []
    for row_id, server in pulled.items():
        local = merged[row_id]
        keys = sorted(k for k, clock in local.clocks.items() if clock > server.clocks.get(k, ""))
        if keys:
            newer.append({"collection": collection.name, "row_id": row_id, "keys": keys})
        else:
            settled.append(row_id)
    if newer:
        statement = insert(epoch_pending)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[epoch_pending.c.collection, epoch_pending.c.row_id],
                set_={"keys": statement.excluded["keys"]},
            ),
            newer,
        )
    if settled:
        conn.execute(
            delete(epoch_pending).where(
                epoch_pending.c.collection == collection.name, epoch_pending.c.row_id.in_(settled)
            )
        )


def plan_push_back(
    collection: Collection, row: Row, keys: list[str] | None, queued: set[str]
) -> list[PushBack]:
    """The mutations that give the server back ``keys`` of ``row`` with their original stamps.

    Pure. One mutation per distinct stamp, oldest first; keys whose stamp is still
    queued in the outbox are left to it. ``keys`` None means the server has never
    seen the row: its first mutation then also carries the required fields (their
    own later stamps re-stamp them right after), so the server can create the row.
    """
    wanted = [k for k in (keys if keys is not None else list(row.clocks)) if k in row.clocks]
    by_stamp: dict[str, list[str]] = {}
    for key in wanted:
        stamp = row.clocks[key]
        if stamp not in queued:
            by_stamp.setdefault(stamp, []).append(key)
    plan: list[PushBack] = []
    for stamp in sorted(by_stamp):
        group = by_stamp[stamp]
        fields = {k: row.fields.get(k) for k in group if k != DELETED}
        if DELETED in group and row.deleted:
            plan.append(("delete", {}, stamp))
            if not fields:
                continue
        if keys is None and not plan:
            for spec in collection.fields:
                if spec.required and spec.name in row.fields:
                    fields.setdefault(spec.name, row.fields[spec.name])
        plan.append(("upsert", fields, stamp))
    return plan


def own_stamp(stamp: str, node: str) -> str:
    """``stamp`` with this device as its node, at the same wall time and counter.

    The server takes a pushed stamp only from the device it names (so no device wins
    conflicts in another's name), yet a push-back also gives back values other branches
    wrote after the backup: this branch relays them as its own, in the same order, so
    they return even if their author never comes back. Equal values never conflict, so
    the author's own push-back of the same value changes nothing.
    """
    parsed = parse(stamp)
    return stamp if parsed.node == node else str(Timestamp(parsed.wall_ms, parsed.counter, node))


def finish_epoch_reset(conn: Connection) -> EpochResetOutcome:
    """Queue the push-back ahead of the outbox and close the reset."""
    planned: list[tuple[str, str, PushBack]] = []
    marked = conn.execute(select(epoch_pending).order_by(epoch_pending.c.collection, epoch_pending.c.row_id))
    for name, row_id, keys in marked:
        collection = rows.collection_named(name)
        record = rows.load(conn, collection, row_id)
        if record is None:
            continue
        queued = pending_hlcs(conn, name, [row_id]).get(row_id, set())
        planned.extend((name, row_id, step) for step in plan_push_back(collection, record.row, keys, queued))
    node = read_state(conn).node
    first = conn.execute(select(func.min(outbox.c.seq))).scalar_one_or_none()
    seq = min(first or 1, 1) - len(planned)
    for name, row_id, (op, fields, stamp) in planned:
        own = own_stamp(stamp, node)
        if own != stamp:
            rename_row_stamp(conn, name, row_id, stamp, own)
        append(conn, name, row_id, op, fields, own, {}, seq=seq)
        seq += 1
    conn.execute(delete(epoch_pending))
    write_values(conn, {Key.EPOCH_RESET: False})
    return EpochResetOutcome(len(planned), read_counts(conn))
