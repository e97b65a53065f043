"""The old ids of imported records (``legacy_ids``): read by the importer, written in the
same transaction as the records an import batch writes, and listed for IT."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.ops_tables import legacy_ids

__all__ = ["LegacyId", "find_legacy_ids", "load_legacy_ids", "store_legacy_ids"]


@dataclass(frozen=True, slots=True)
class LegacyId:
    """One old id and the record it became, with what the imports wrote per field."""

    system: str
    collection: str
    legacy_id: str
    record_id: uuid.UUID
    fields: dict[str, Any]
    """Field -> ``{"value", "at", "source"}``: the value last imported, its source time and file."""
    first_imported_at: datetime | None = None
    imported_at: datetime | None = None


async def load_legacy_ids(conn: AsyncConnection, system: str) -> dict[tuple[str, str], LegacyId]:
    """Every old id of ``system``, by (collection, old id)."""
    rows = await conn.execute(
        select(
            legacy_ids.c.collection, legacy_ids.c.legacy_id, legacy_ids.c.record_id, legacy_ids.c.fields
        ).where(legacy_ids.c.system == system)
    )
    return {
        (collection, legacy_id): LegacyId(system, collection, legacy_id, record_id, fields)
        for collection, legacy_id, record_id, fields in rows
    }


_UPSERT = """
INSERT INTO legacy_ids (system, collection, legacy_id, record_id, fields)
SELECT $1, collection, legacy_id, record_id, fields::jsonb
FROM unnest($2::text[], $3::text[], $4::uuid[], $5::text[]) AS row(collection, legacy_id, record_id, fields)
ON CONFLICT (system, collection, legacy_id)
DO UPDATE SET record_id = EXCLUDED.record_id, fields = EXCLUDED.fields, imported_at = now()
"""


async def store_legacy_ids(conn: AsyncConnection, rows: Sequence[LegacyId]) -> None:
    """Insert or replace ``rows`` (all of one system) in the caller's transaction, in one statement."""
    if not rows:
        return
    driver = (await conn.get_raw_connection()).driver_connection  # one statement, no per-row binding
    assert driver is not None
    await driver.execute(
        _UPSERT,
        rows[0].system,
        [row.collection for row in rows],
        [row.legacy_id for row in rows],
        [row.record_id for row in rows],
        [json.dumps(row.fields, ensure_ascii=False, separators=(",", ":")) for row in rows],
    )


async def find_legacy_ids(
    conn: AsyncConnection,
    *,
    system: str | None = None,
    collection: str | None = None,
    legacy_id: str | None = None,
) -> list[LegacyId]:
    """The old ids matching every filter given, in a stable order (for ``legacy-ids``)."""
    query = select(legacy_ids).order_by(legacy_ids.c.system, legacy_ids.c.collection, legacy_ids.c.legacy_id)
    for column, wanted in (
        (legacy_ids.c.system, system),
        (legacy_ids.c.collection, collection),
        (legacy_ids.c.legacy_id, legacy_id),
    ):
        if wanted is not None:
            query = query.where(column == wanted)
    return [
        LegacyId(
            row.system,
            row.collection,
            row.legacy_id,
            row.record_id,
            row.fields,
            row.first_imported_at,
            row.imported_at,
        )
        for row in await conn.execute(query)
    ]
