"""Loading a server snapshot (``protocol.snapshot``) into an empty cache, in bulk.

A new installation at a company with a million rows cannot merge them one change at a
time (``apply.py`` costs ~110 µs a row). An empty cache has nothing to merge with, so
the snapshot's rows go straight in with plain ``executemany``: its values are already in
the stored form. The search index's insert trigger is dropped for the load and the
index rebuilt once at the end, which is far cheaper than a trigger per row.

Everything happens in ONE write transaction, cursor included: a crash or a bad stream
half-way rolls it all back, so the cache is either empty at cursor 0 (the next start
tries again) or whole at the snapshot's change number, never half-loaded with a cursor
that would skip rows. The load refuses (``SnapshotRefused``, nothing changed) unless
the cache is blank — no rows, nothing queued or rejected, cursor 0 — so it can never
overwrite local work; and unless the snapshot belongs to the server history the cache
already follows (the engine adopts the epoch first, as for any pull from 0).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, exists, select

from desktop.cache.clock import CLOCK_KEYS, WallClock, observed_values
from desktop.cache.counts import Counts, read_counts
from desktop.cache.errors import SnapshotRefused
from desktop.cache.schema import RECORD_TABLES, epoch_pending, fts_ddl, fts_name, outbox, rejected
from desktop.cache.state import Key, Value, read_values, write_values
from protocol.collections import COLLECTIONS
from protocol.snapshot import NULL_MARKER, SnapshotDecoder, SnapshotError, SnapshotHeader

__all__ = ["SnapshotLoaded", "is_blank", "load_snapshot"]

_STATE_KEYS = (Key.CURSOR, Key.EPOCH, *CLOCK_KEYS)
_LOAD_CACHE_KIB = -262_144
"""SQLite's page cache during a load (256 MiB, negative: in KiB): the id index's pages stay in memory."""
_CACHE_KIB = -2_000
"""SQLite's default page cache, restored after the load."""


@dataclass(frozen=True, slots=True)
class SnapshotLoaded:
    """What loading a snapshot did."""

    header: SnapshotHeader
    rows: int
    """Rows stored (those of collections this version does not know are left out)."""
    counts: Counts


def is_blank(conn: Connection) -> bool:
    """Whether the cache holds nothing a snapshot could overwrite: no rows, no queue, cursor 0."""
    state = read_values(conn, (Key.CURSOR,))
    if int(state.get(Key.CURSOR) or 0) != 0:
        return False
    tables = (*RECORD_TABLES.values(), outbox, rejected, epoch_pending)
    return not any(conn.execute(select(exists().select_from(table))).scalar() for table in tables)


def load_snapshot(conn: Connection, wall_ms: WallClock, chunks: Iterable[bytes]) -> SnapshotLoaded:
    """Store every row of the gzip stream ``chunks`` and move the cursor to its change number.

    Args:
        conn: a write transaction; everything is rolled back with it if this raises.
        chunks: the stream as it arrives; an exception the iterator raises aborts the load
            (refused, like a bad stream).

    Raises:
        SnapshotRefused: the cache is not blank, the snapshot is of another history or
            has columns this version does not know, or the stream is cut, corrupt or broke off.
    """
    if not is_blank(conn):
        raise SnapshotRefused("the cache is not empty: a snapshot only fills a new installation")
    state = read_values(conn, _STATE_KEYS)
    dbapi = conn.connection.dbapi_connection
    assert isinstance(dbapi, sqlite3.Connection)
    cursor = dbapi.cursor()
    decoder = SnapshotDecoder()
    statements: dict[str, tuple[str, str]] = {}
    stored = 0
    cursor.execute(f"PRAGMA cache_size = {_LOAD_CACHE_KIB}")
    try:
        for chunk in _arriving(chunks):
            for piece in decoder.feed(chunk):
                if isinstance(piece, SnapshotHeader):
                    statements = _prepare(conn, cursor, piece, state.get(Key.EPOCH))
                elif piece.collection in statements:
                    exact, marked = statements[piece.collection]
                    cursor.executemany(exact if piece.null is None else marked, piece.rows)
                    stored += len(piece.rows)
        header = decoder.finish()
    except SnapshotError as exc:
        raise SnapshotRefused(f"the server's snapshot is unusable: {exc}") from exc
    finally:
        cursor.execute(f"PRAGMA cache_size = {_CACHE_KIB}")
    for name in statements:
        table = RECORD_TABLES[name]
        for index in table.indexes:
            index.create(conn)
        fts = fts_name(COLLECTIONS[name])
        cursor.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
        cursor.execute(_insert_trigger(name))
    values: dict[Key, Value] = {Key.CURSOR: header.seq}
    values |= observed_values(state, wall_ms, [header.top_hlc] if header.top_hlc else [])
    write_values(conn, values)
    return SnapshotLoaded(header, stored, read_counts(conn))


def _arriving(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks``, a failure of their source (the download) refused like a bad stream."""
    source = iter(chunks)
    while True:
        try:
            chunk = next(source)
        except StopIteration:
            return
        except Exception as exc:  # the network side's, whatever it is: not the disk's
            raise SnapshotRefused(f"the snapshot's download broke off: {exc}") from exc
        yield chunk


def _prepare(
    conn: Connection, cursor: sqlite3.Cursor, header: SnapshotHeader, epoch: str | None
) -> dict[str, tuple[str, str]]:
    """Check the header fits this cache; drop the search trigger and secondary indexes (built
    again at the end, at once: cheaper than per row); each known collection's two inserts, for
    rows with None and with ``NULL_MARKER`` for NULL."""
    if header.epoch != epoch:
        raise SnapshotRefused(f"the snapshot belongs to another server history ({header.epoch}, not {epoch})")
    statements: dict[str, tuple[str, str]] = {}
    for name, columns in header.collections.items():
        table = RECORD_TABLES.get(name)
        if table is None:
            continue  # a newer server's collection: a pull would skip its changes too
        unknown = [column for column in columns if column not in table.c or column == "pk"]
        if unknown:
            raise SnapshotRefused(f"the snapshot's {name} have columns this version does not know: {unknown}")
        names = ", ".join(f'"{column}"' for column in columns)
        insert = f'INSERT INTO "{name}" ({names}) VALUES '
        exact = ", ".join("?" * len(columns))
        marked = ", ".join(f"NULLIF(?, '{NULL_MARKER}')" for _ in columns)
        statements[name] = (f"{insert}({exact})", f"{insert}({marked})")
        cursor.execute(f"DROP TRIGGER {fts_name(COLLECTIONS[name])}_ai")
        for index in table.indexes:
            index.drop(conn)
    return statements


def _insert_trigger(name: str) -> str:
    """The statement creating ``name``'s search-index insert trigger (``schema.fts_ddl``'s own)."""
    prefix = f"CREATE TRIGGER {fts_name(COLLECTIONS[name])}_ai "
    return next(statement for statement in fts_ddl(COLLECTIONS[name]) if statement.startswith(prefix))
