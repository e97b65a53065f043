"""Schema versions of the cache file, kept in ``PRAGMA user_version``.

``STEPS[n]`` takes a file from version ``n`` to ``n + 1``; they run in order, in the
caller's write transaction (``user_version`` is transactional), so a crash mid-upgrade
leaves the old version intact. Append a step for every change to a bookkeeping
table, and never edit a released step (step 1 builds its tables from ``schema.py``:
when one of them changes, freeze its old shape in step 1 first; a new table is
created by its own step, so step 1 names the tables it makes).

Record tables follow ``protocol`` by themselves: ``reconcile`` adds a column for a
field the protocol gained, creates missing indexes and rebuilds a full-text index
whose searchable fields changed, so a new protocol field needs no step here.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

from sqlalchemy import Connection
from sqlalchemy.schema import CreateColumn

from desktop.cache.errors import StorageError, StorageProblem
from desktop.cache.schema import (
    RECORD_TABLES,
    branches,
    conflicts,
    devices,
    epoch_pending,
    fts_ddl,
    fts_drop_ddl,
    fts_name,
    metadata,
    outbox,
    rejected,
    sync_state,
)
from desktop.cache.state import Key, Value, read_values, write_values
from protocol.collections import COLLECTIONS, Collection

__all__ = ["SCHEMA_VERSION", "STEPS", "reconcile", "upgrade", "user_version"]


def _create_v1(conn: Connection) -> None:
    tables = [*RECORD_TABLES.values(), outbox, rejected, conflicts, sync_state, epoch_pending]
    metadata.create_all(conn, tables=tables)
    for collection in COLLECTIONS.values():
        for statement in fts_ddl(collection):
            conn.exec_driver_sql(statement)


def _add_directory(conn: Connection) -> None:
    """Version 2: the branch and device directory the server lists (names, time zones)."""
    metadata.create_all(conn, tables=[branches, devices])


STEPS: tuple[Callable[[Connection], None], ...] = (_create_v1, _add_directory)
SCHEMA_VERSION = len(STEPS)


def user_version(conn: Connection) -> int:
    return int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())


def upgrade(conn: Connection) -> None:
    """Bring the file to ``SCHEMA_VERSION``, follow the protocol, and seed ``sync_state``.

    Raises:
        StorageError: the file was written by a newer Branchsync (``TOO_NEW``).
    """
    version = user_version(conn)
    if version > SCHEMA_VERSION:
        raise StorageError(
            StorageProblem.TOO_NEW,
            f"the Branchsync data was written by a newer version (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); update Branchsync",
        )
    for step in STEPS[version:]:
        step(conn)
    if version != SCHEMA_VERSION:
        conn.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
    reconcile(conn)
    seeded = read_values(conn, [Key.LOCAL_NODE, Key.CURSOR])
    defaults: dict[Key, Value] = {Key.LOCAL_NODE: f"local-{uuid4()}", Key.CURSOR: 0}
    write_values(conn, {key: value for key, value in defaults.items() if key not in seeded})


def _columns(conn: Connection, table: str) -> list[str]:
    return [str(row[1]) for row in conn.exec_driver_sql(f"PRAGMA table_info({table})")]


def reconcile(conn: Connection) -> None:
    """Make every record table and its full-text index match ``protocol.COLLECTIONS``."""
    for name, collection in COLLECTIONS.items():
        table = RECORD_TABLES[name]
        present = set(_columns(conn, name))
        for col in table.columns:
            if col.name not in present:
                ddl = CreateColumn(col).compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {name} ADD COLUMN {ddl}")
        for index in table.indexes:
            index.create(conn, checkfirst=True)
        _reconcile_fts(conn, collection)


def _reconcile_fts(conn: Connection, collection: Collection) -> None:
    wanted = [f.name for f in collection.fields if f.searchable]
    if _columns(conn, fts_name(collection)) == wanted:
        return
    for statement in [*fts_drop_ddl(collection), *fts_ddl(collection)]:
        conn.exec_driver_sql(statement)
    fts = fts_name(collection)
    conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
