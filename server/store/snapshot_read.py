"""Reading every row at one change number, in bulk, for ``GET /api/v1/sync/snapshot``.

First the change number (``change_log.head_seq``: the newest committed number below
the readers' horizon), in a transaction of its own; then one ``REPEATABLE READ``
read-only transaction holds the rest of the read: the greatest clock, then one
``COPY … TO STDOUT`` per record table of the rows numbered up to that head. The order
matters: the horizon is read from live state (``pg_locks``), so taken inside a snapshot
begun earlier it could vouch for a commit that snapshot does not see; taken before,
everything at or below it has committed before the snapshot begins. PostgreSQL
formats every value (see ``protocol.snapshot``) and the bytes go out as they come, so
memory stays bounded whatever the table size.

What this relies on: every change numbered at or below the head that this snapshot
sees has committed before it (``head_seq``'s promise, the one a pull's cursor relies
on too), so a device that loads the snapshot and then pulls from its ``seq`` misses
nothing; a row changed after the snapshot carries a higher ``seq`` and comes with that
pull (whole, as every change is). Rows numbered above the head are left out rather
than sent twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from protocol.collections import COLLECTIONS, FieldKind
from protocol.snapshot import snapshot_columns
from server.store.change_log import head_seq
from server.store.tables import RECORD_TABLES

__all__ = ["SnapshotRead", "copy_sql", "read_snapshot"]

_QUEUED_CHUNKS = 8
"""``COPY`` chunks buffered between PostgreSQL and the response: the memory bound."""

_UTC = "(\"{c}\" AT TIME ZONE 'UTC')"
_VALUE_SQL: dict[FieldKind, str] = {
    FieldKind.UUID: '"{c}"::text',
    FieldKind.TAGS: 'array_to_json("{c}")::text',
    # as Python's ``datetime.isoformat`` writes UTC (``protocol.validate``'s canonical form):
    # microseconds only when there are any
    FieldKind.DATETIME: (
        f"to_char({_UTC}, 'YYYY-MM-DD\"T\"HH24:MI:SS') "
        f"|| CASE WHEN date_trunc('second', \"{{c}}\") = \"{{c}}\" THEN '' ELSE to_char({_UTC}, '.US') END "
        "|| '+00:00'"
    ),
}


def copy_sql(collection: str, head: int) -> str:
    """The query whose ``COPY`` sends one collection's rows up to ``head``, in ``snapshot_columns`` order.

    In id order: the cache's unique index on ``id`` then grows at its end rather than at
    random pages (a third less time for a million rows there; the primary key gives the
    order here).
    """
    spec = COLLECTIONS[collection]
    fields = [_VALUE_SQL.get(f.kind, '"{c}"').format(c=f.name) for f in spec.fields]
    columns = ", ".join(["id::text", *fields, "clocks::text", "deleted::int"])
    return f'SELECT {columns} FROM "{collection}" WHERE seq <= {int(head)} ORDER BY id'


_TOP_HLC = text(
    "SELECT max(top) FROM ("
    + " UNION ALL ".join(
        f'SELECT max(e.value) AS top FROM "{name}" t, jsonb_each_text(t.clocks) e WHERE t.seq <= :head'
        for name in RECORD_TABLES
    )
    + ") tops"
)


@dataclass(frozen=True, slots=True)
class SnapshotRead:
    """The facts the header needs, read in the snapshot's transaction."""

    seq: int
    top_hlc: str | None
    columns: dict[str, tuple[str, ...]]
    """Collection -> its columns, in the order ``chunks`` sends the sections."""


async def read_snapshot(
    conn: AsyncConnection,
) -> tuple[SnapshotRead, Callable[[], AsyncIterator[tuple[str, bytes | None]]]]:
    """Start the snapshot on ``conn`` (no transaction open yet); returns its facts and its rows.

    The rows come as ``(collection, chunk)`` pairs, each chunk whole ``COPY`` text
    lines, and ``(collection, None)`` when a collection's rows are over. The caller
    keeps ``conn`` open until the iterator is exhausted.
    """
    seq = await head_seq(conn)  # before the snapshot begins: see the module's docstring
    await conn.rollback()
    await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    await conn.begin()
    top = (await conn.execute(_TOP_HLC, {"head": seq})).scalar_one()
    facts = SnapshotRead(seq, top, {name: snapshot_columns(COLLECTIONS[name]) for name in RECORD_TABLES})
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None

    async def chunks() -> AsyncIterator[tuple[str, bytes | None]]:
        for name in RECORD_TABLES:
            async for chunk in _copy(driver.copy_from_query, copy_sql(name, seq)):
                yield name, chunk
            yield name, None

    return facts, chunks


async def _copy(copy: Callable[..., Awaitable[Any]], sql: str) -> AsyncIterator[bytes]:
    """The output of one ``COPY``, chunk by chunk, PostgreSQL held back while the reader is slow."""
    queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(_QUEUED_CHUNKS)

    async def run() -> None:
        try:
            await copy(sql, output=queue.put)
        except Exception as exc:  # handed to the reader, which raises it
            await queue.put(exc)
        else:
            await queue.put(None)

    task = asyncio.create_task(run(), name="branchsync-snapshot-copy")
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
