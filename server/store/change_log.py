"""Reading committed changes in change-number order: the pull and the fan-out share it.

A change is a row's full current state (with the bases of its values, see
``protocol.concurrency``), numbered by the row's last ``seq``. Both record tables are
read in ONE statement (a ``UNION ALL`` ordered by ``seq``), so the reader sees one
snapshot: with two statements a commit landing between them could show a later
change and hide an earlier one, and the cursor would skip it.

Commits may land out of change-number order (``server.store.change_numbers``), so every
read first asks for the horizon, in a statement of its own, and reads only up to it: a
change numbered below one still in flight is never shown before it, so no cursor moves
past a change that commits late.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    BigInteger,
    CompoundSelect,
    Select,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from protocol.collections import COLLECTIONS
from protocol.merge import wire_clocks
from protocol.messages import Change
from server.store.change_numbers import horizon
from server.store.row_codec import wire_fields
from server.store.tables import RECORD_TABLES

__all__ = ["head_seq", "read_changes"]


def _prefix(collection: str) -> str:
    return f"{collection}__"


def _part(name: str) -> Select[Any]:
    """One table's part of the union: its own field columns, typed NULLs for the others'."""
    table = RECORD_TABLES[name]
    columns: list[Any] = []
    for other, other_table in RECORD_TABLES.items():
        for spec in COLLECTIONS[other].fields:
            column = other_table.c[spec.name]
            source = column if other == name else cast(null(), column.type)
            columns.append(source.label(_prefix(other) + spec.name))
    return select(
        table.c.seq,
        literal_column(f"'{name}'").label("collection"),
        table.c.id,
        table.c.clocks,
        table.c.bases,
        table.c.deleted,
        *columns,
    ).where(
        table.c.seq > bindparam("since", type_=BigInteger()),
        table.c.seq <= bindparam("upto", type_=BigInteger()),
    )


_CHANGES: CompoundSelect[Any] = (
    union_all(*(_part(name) for name in RECORD_TABLES))
    .order_by("seq")
    .limit(bindparam("limit", type_=BigInteger()))
)

_COMPILED = _CHANGES.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
_CHANGES_SQL = _COMPILED.string
_CHANGES_PARAMS = tuple(_COMPILED.positiontup or ())

_HEAD = select(
    func.greatest(
        *(
            select(func.max(t.c.seq))
            .where(t.c.seq <= bindparam("upto", type_=BigInteger()))
            .scalar_subquery()
            for t in RECORD_TABLES.values()
        )
    )
)


async def read_changes(conn: AsyncConnection, since: int, limit: int) -> tuple[list[Change], int, bool]:
    """The changes committed after ``since`` and up to the horizon, oldest first.

    Args:
        conn: any connection not inside a REPEATABLE READ snapshot: the horizon and the
            changes are two statements, the changes one snapshot taken after the horizon.
        since: the reader's cursor (the last ``seq`` it has applied; 0 for all).
        limit: at most this many changes (>= 1).

    Returns:
        ``(changes, cursor, has_more)``: ``cursor`` is the last change's ``seq``
        (``since`` when there is none); ``has_more`` says another read would find more
        below the horizon (changes above it come once the numbers below have committed,
        with their ``NOTIFY``).
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    # Straight to asyncpg: this runs after every commit for the fan-out, and per row
    # SQLAlchemy's result processing would cost more than the query.
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    upto = await horizon(driver)
    if upto <= since:
        return [], since, False
    params = {"since": since, "upto": upto, "limit": limit + 1}
    rows = await driver.fetch(_CHANGES_SQL, *(params[name] for name in _CHANGES_PARAMS))
    changes = [
        Change.model_construct(
            seq=row["seq"],
            collection=row["collection"],
            row_id=row["id"],
            fields=wire_fields(COLLECTIONS[row["collection"]], row, prefix=_prefix(row["collection"])),
            clocks=wire_clocks(_json(row["clocks"]), COLLECTIONS[row["collection"]].field_names),
            deleted=row["deleted"],
            bases=_json(row["bases"]),
        )
        for row in rows[:limit]
    ]
    cursor = changes[-1].seq if changes else since
    return changes, cursor, len(rows) > limit


def _json(value: Any) -> Any:
    """A ``jsonb`` value: decoded already by SQLAlchemy's codec, else JSON text."""
    return json.loads(value) if isinstance(value, str) else value


async def head_seq(conn: AsyncConnection) -> int:
    """The newest committed change number below the horizon (0 on an empty database): a
    cursor no reader can overtake a late commit with.

    Read from the rows, not the sequence: the sequence may already have handed out a
    number whose transaction has not committed, and a client whose cursor jumped past
    it would never see that change. For "every change up to a known number in one
    snapshot" (a bulk copy), call this first, then begin the REPEATABLE READ
    transaction and read the rows with ``seq`` at most this number.
    """
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    upto = await horizon(driver)
    head = (await conn.execute(_HEAD, {"upto": upto})).scalar_one()
    return int(head or 0)
