"""What can still be read from a damaged cache file: its queued writes and its identity.

The outbox is the one thing in the cache the server cannot give back, so a damaged
file is read for it as hard as is cheap: first through SQLite, row by row (a read
that fails skips ahead, further each time, so one broken page costs only its rows);
when that cannot read the whole queue, also straight from the pages
(``page_scan``), which needs neither the first page nor the schema. Every row must
look like an outbox entry (ids that are UUIDs, a known collection and op, JSON
fields, a valid stamp) or it is counted as unreadable, never guessed at. The same goes
for ``sync_state``'s text facts (device id, server, branch), the fallback when the
identity record is missing.

A row the page scan finds may be one SQLite had already deleted (sent and answered):
pushing it again is harmless, the server answers a replayed mutation id from its
record of answers (or merges it to the same result: same value, same stamp).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from desktop.cache import page_scan
from desktop.cache.outbox import OutboxEntry
from desktop.cache.state import Key
from protocol.collections import COLLECTIONS
from protocol.hlc import parse

__all__ = ["OUTBOX_COLUMNS", "Salvaged", "entry_from_values", "in_queue_order", "salvage", "salvage_bytes"]

OUTBOX_COLUMNS = ("seq", "mutation_id", "collection", "row_id", "op", "fields", "hlc", "before", "created_at")
"""The outbox's columns in table order (``schema.outbox``); ``seq`` is the rowid."""

_STATE_KEYS = frozenset(k.value for k in Key)
_MAX_SKIP = 1 << 40


@dataclass
class Salvaged:
    """What was read from a damaged file.

    Attributes:
        entries: the outbox entries found, in queue order, each once.
        state: ``sync_state`` facts found (key -> text).
        complete: SQLite read the whole outbox without an error (nothing was skipped).
        unreadable: rows that looked like outbox rows but did not decode as entries.
    """

    entries: list[OutboxEntry] = field(default_factory=list)
    state: dict[str, str] = field(default_factory=dict)
    complete: bool = False
    unreadable: int = 0


def entry_from_values(values: Sequence[Any]) -> OutboxEntry | None:
    """An outbox entry from one row's values in ``OUTBOX_COLUMNS`` order, or None if it is not one."""
    if len(values) != len(OUTBOX_COLUMNS):
        return None
    row = dict(zip(OUTBOX_COLUMNS, values, strict=True))
    try:
        fields = json.loads(row["fields"])
        before = json.loads(row["before"])
        created_at = datetime.fromisoformat(row["created_at"])
        mutation_id = str(uuid.UUID(row["mutation_id"]))
        row_id = str(uuid.UUID(row["row_id"]))
        parse(row["hlc"])
    except (TypeError, ValueError, AttributeError):
        return None
    if not isinstance(row["seq"], int) or row["collection"] not in COLLECTIONS:
        return None
    if row["op"] not in ("upsert", "delete") or not isinstance(fields, dict) or not isinstance(before, dict):
        return None
    if created_at.tzinfo is None or any(
        not isinstance(pair, list) or len(pair) != 2 for pair in before.values()
    ):
        return None
    return OutboxEntry(
        mutation_id=mutation_id,
        collection=row["collection"],
        row_id=row_id,
        op=row["op"],
        fields=fields,
        hlc=row["hlc"],
        created_at=created_at,
        before=before,
        seq=row["seq"],
    )


def _looks_like_outbox(values: Sequence[Any]) -> bool:
    return len(values) == len(OUTBOX_COLUMNS) and values[0] is None and values[4] in ("upsert", "delete")


def _from_cells(cells: Iterable[page_scan.Cell], found: Salvaged, entries: dict[str, OutboxEntry]) -> None:
    for rowid, values in cells:
        if _looks_like_outbox(values):
            entry = entry_from_values([rowid, *values[1:]])
            if entry is None:
                found.unreadable += 1
            else:
                entries.setdefault(entry.mutation_id, entry)
        elif len(values) == 2 and values[0] in _STATE_KEYS and isinstance(values[1], str):
            found.state.setdefault(values[0], values[1])


def salvage_bytes(main: bytes, wal: bytes = b"") -> Salvaged:
    """What the pages of a file (and its ``-wal``) hold, without SQLite: the pure half of ``salvage``."""
    found = Salvaged()
    entries: dict[str, OutboxEntry] = {}
    _from_cells(page_scan.scan_wal(wal), found, entries)  # the WAL's pages are the newer ones
    _from_cells(page_scan.scan(main), found, entries)
    found.entries = in_queue_order(entries.values())
    return found


def in_queue_order(entries: Iterable[OutboxEntry]) -> list[OutboxEntry]:
    """Sorted by queue position, one entry per position: the first found wins (SQLite's
    reading, then the WAL's newer pages), so an old row a freed page kept at a position
    used again never displaces the live one (the rebuilt outbox keeps positions unique)."""
    by_seq: dict[int, OutboxEntry] = {}
    for entry in entries:
        by_seq.setdefault(entry.seq, entry)
    return [by_seq[seq] for seq in sorted(by_seq)]


def _read_rows(conn: sqlite3.Connection, found: Salvaged) -> Iterator[OutboxEntry]:
    """Outbox entries one at a time, skipping ahead (further each time) past rows that fail."""
    columns = ", ".join(OUTBOX_COLUMNS)
    query = f"SELECT {columns} FROM outbox WHERE seq > ? ORDER BY seq LIMIT 1"
    after = -(1 << 62)  # positions may be below 1 (an epoch's push-back)
    skip = 1
    while True:
        try:
            row = conn.execute(query, (after,)).fetchone()
        except sqlite3.Error:
            found.complete = False
            if skip > _MAX_SKIP:
                return
            after += skip
            skip *= 2
            continue
        if row is None:
            return
        skip = 1
        after = int(row[0])
        entry = entry_from_values(row)
        if entry is None:
            found.unreadable += 1
        else:
            yield entry


def _read_sql(path: Path, found: Salvaged) -> dict[str, OutboxEntry]:
    entries: dict[str, OutboxEntry] = {}
    try:
        conn = sqlite3.connect(path)
    except sqlite3.Error:
        return entries
    try:
        try:
            conn.execute("SELECT 1 FROM outbox LIMIT 0")
        except sqlite3.Error:
            return entries  # no schema to read by: the page scan has to do it
        found.complete = True
        for entry in _read_rows(conn, found):
            entries[entry.mutation_id] = entry
        try:
            for key, value in conn.execute("SELECT key, value FROM sync_state"):
                if key in _STATE_KEYS and isinstance(value, str):
                    found.state[key] = value
        except sqlite3.Error:
            found.complete = False
    finally:
        conn.close()
    return entries


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def salvage(path: Path) -> Salvaged:
    """Read the outbox and ``sync_state`` facts of the (damaged) cache file at ``path``.

    Never raises for what it reads: a file that yields nothing gives an empty ``Salvaged``.
    """
    found = Salvaged()
    entries = _read_sql(path, found)
    if not found.complete:
        scanned = salvage_bytes(_read_bytes(path), _read_bytes(path.with_name(path.name + "-wal")))
        for entry in scanned.entries:
            entries.setdefault(entry.mutation_id, entry)
        for key, value in scanned.state.items():
            found.state.setdefault(key, value)
        found.unreadable += scanned.unreadable
    found.entries = in_queue_order(entries.values())
    return found
