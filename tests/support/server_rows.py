"""Reading the server's PostgreSQL directly, to check what really arrived there."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

__all__ = ["applied_seqs", "branch_status", "server_count", "server_rows"]


async def _fetch(database_url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


def server_rows(
    database_url: str, collection: str = "clients", *, include_deleted: bool = False
) -> dict[str, dict[str, Any]]:
    """Row id -> the server's live row (deleted rows left out unless asked); ``collection`` is trusted."""
    where = "" if include_deleted else " WHERE NOT deleted"
    rows = asyncio.run(_fetch(database_url, f"SELECT * FROM {collection}{where}"))
    return {str(row["id"]): dict(row) for row in rows}


def server_count(database_url: str, table: str) -> int:
    """How many rows ``table`` holds on the server; ``table`` is trusted."""
    return int(asyncio.run(_fetch(database_url, f"SELECT count(*) AS n FROM {table}"))[0]["n"])


def applied_seqs(database_url: str) -> dict[str, int]:
    """Mutation id -> the change number the server gave it (applied ones): its commit order."""
    query = (
        "SELECT id, (result->>'seq')::bigint AS seq FROM applied_mutations WHERE result->>'seq' IS NOT NULL"
    )
    return {str(row["id"]): int(row["seq"]) for row in asyncio.run(_fetch(database_url, query))}


def branch_status(database_url: str, branch: str) -> tuple[int | None, int | None]:
    """The status (cursor, pending) the server stores for the one device of ``branch`` (trusted)."""
    query = (
        "SELECT d.status_cursor, d.status_pending FROM devices d JOIN branches b ON b.id = d.branch_id"
        f" WHERE b.name = '{branch}'"
    )
    (row,) = asyncio.run(_fetch(database_url, query))
    return row["status_cursor"], row["status_pending"]
