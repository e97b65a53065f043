"""Re-stamping queued mutations after the server answered ``clock_skew``.

A device whose clock ran ahead has stamped writes in the future, and the server
refuses them. Once the engine has measured the real offset, every queued mutation
stamped after the corrected "now" gets a new stamp from the corrected clock, and the
row clocks that still carry the old stamp follow, so the row and the mutation agree.
Mutations stamped in the past keep their stamps (their order is still true). A queued
edit made on top of a re-stamped one has its ``before`` clocks (its base) follow, so
it still names the value its author saw.

This is the one place the clock goes back, and only when something is stamped in the
future: it restarts from the greatest of the stamps received from elsewhere, the
stamps the server accepted from us (``hlc_observed``) and the stamps kept, so no new
edit sorts before one the world has already seen.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from desktop.cache import rows
from desktop.cache.clock import WallClock, reset_clock, stamp
from desktop.cache.outbox import OutboxEntry, entry_from_mapping
from desktop.cache.schema import outbox
from desktop.cache.state import Key, read_values, write_values
from protocol.hlc import Timestamp, parse
from protocol.merge import Row

__all__ = ["adopt_device_node", "rename_row_stamp", "restamp_pending"]


def restamp_pending(
    conn: Connection, wall_ms: WallClock, clock_offset_ms: int, server_hlc: str | None
) -> int:
    """Save the new offset and re-stamp the queued mutations stamped in the future.

    Args:
        clock_offset_ms: server clock minus local clock, as just measured.
        server_hlc: the server's clock from its last answer, a floor for the new stamps.

    Returns:
        How many mutations got a new stamp.
    """
    write_values(conn, {Key.CLOCK_OFFSET_MS: clock_offset_ms})
    now = wall_ms() + clock_offset_ms
    entries = [entry_from_mapping(m) for m in conn.execute(select(outbox).order_by(outbox.c.seq)).mappings()]
    future = [e for e in entries if parse(e.hlc).wall_ms > now]
    if not future:
        return 0
    floors = [e.hlc for e in entries if parse(e.hlc).wall_ms <= now]
    observed = read_values(conn, [Key.HLC_OBSERVED]).get(Key.HLC_OBSERVED)
    floors.extend(s for s in (observed, server_hlc) if s)
    reset_clock(conn, max(floors, default=None))
    old_stamps = list(dict.fromkeys(e.hlc for e in future))
    renamed = dict(zip(old_stamps, stamp(conn, wall_ms, len(old_stamps)), strict=True))
    _rename_stamps(conn, entries, renamed)
    return len(future)


def adopt_device_node(conn: Connection, device_id: str) -> int:
    """Move the queued writes stamped by another node (the local node before the first
    enrolment, the old device id before a re-enrolment) to ``device_id``.

    The server accepts a pushed stamp only from the device it names, and a conflict
    record then names the device that really made the write. Only the node changes:
    wall time and counter, and so the writes' order, stay as they were.

    Returns:
        How many queued mutations were re-stamped.
    """
    entries = [entry_from_mapping(m) for m in conn.execute(select(outbox).order_by(outbox.c.seq)).mappings()]
    renamed = {}
    for entry in entries:
        old = parse(entry.hlc)
        if old.node != device_id:
            renamed[entry.hlc] = str(Timestamp(old.wall_ms, old.counter, device_id))
    _rename_stamps(conn, entries, renamed)
    return sum(entry.hlc in renamed for entry in entries)


def _rename_stamps(conn: Connection, entries: list[OutboxEntry], renamed: dict[str, str]) -> None:
    """Give queued mutations new stamps (old -> new in ``renamed``); the bases of the
    entries that name an old stamp, and the row clocks that still carry one, follow."""
    if not renamed:
        return
    for entry in entries:
        values: dict[str, Any] = {"hlc": renamed[entry.hlc]} if entry.hlc in renamed else {}
        before = {key: [value, renamed.get(clock, clock)] for key, (value, clock) in entry.before.items()}
        if before != entry.before:
            values["before"] = before
        if values:
            conn.execute(update(outbox).where(outbox.c.seq == entry.seq).values(values))
    for entry in entries:
        if entry.hlc in renamed:
            rename_row_stamp(conn, entry.collection, entry.row_id, entry.hlc, renamed[entry.hlc])


def rename_row_stamp(conn: Connection, name: str, row_id: str, old: str, new: str) -> None:
    """The keys of a local row stamped ``old`` take ``new``, so it agrees with its queued write."""
    collection = rows.collection_named(name)
    current = rows.load(conn, collection, row_id)
    if current is None:
        return
    clocks = {key: (new if clock == old else clock) for key, clock in current.clocks.items()}
    if clocks != current.clocks:
        rows.save_many(conn, collection, [], [(current.id, Row(current.fields, clocks, current.deleted))])
