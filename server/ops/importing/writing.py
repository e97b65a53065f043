"""Writing planned records through the server's write path, in short batches.

Each batch of ``BATCH`` records is one transaction of ``server.sync.write_path``
(validation, merge, change numbers, ``NOTIFY``) that also stores the batch's old ids, so
connected branches see the records arrive live and a push waits at most one batch. A crash
loses at most the batches in flight, which were never committed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from protocol.messages import Mutation, MutationResult
from protocol.version import MAX_MUTATIONS_PER_PUSH
from server.errors import AdminError
from server.ops.importing.plan import RecordPlan
from server.store.legacy_ids import store_legacy_ids
from server.store.ops_tables import legacy_ids
from server.store.tables import RECORD_TABLES, applied_mutations
from server.sync.write_path import Author, Writer, apply_mutations

__all__ = ["BATCH", "WRITERS", "NotCounted", "Progress", "Silent", "write_plans"]

BATCH = MAX_MUTATIONS_PER_PUSH
"""Records per write transaction: short enough that a push waits at most one batch."""
WRITERS = 2
"""Batches written at once, each on its own connection: the engine needs this many."""
_IMPORT_AUTHOR = Author(device_id=None, branch_id=None)


class Progress(Protocol):
    """Where a run reports how far it is (a progress bar on a terminal, or nothing)."""

    def start(self, phase: str, total: int) -> None: ...

    def advance(self, done: int) -> None: ...


class Silent:
    def start(self, phase: str, total: int) -> None:
        pass

    def advance(self, done: int) -> None:
        pass


class NotCounted:
    """The import runs outside the server: its answers are not the server's metrics."""

    def observe_results(self, results: Any) -> None:
        pass


async def write_plans(writer: Writer, system: str, pending: Sequence[RecordPlan], progress: Progress) -> int:
    """Write ``pending`` (created or updated records), ``WRITERS`` batches at a time: while
    PostgreSQL works on one, this process prepares the next (each is its own transaction;
    any order is safe). Returns how many were written and committed (``progress`` counts them)."""
    written = 0
    in_flight: set[asyncio.Task[int]] = set()

    async def settle(until: int) -> None:
        nonlocal in_flight, written
        while len(in_flight) > until:
            done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                written += task.result()  # a failed batch stops the run here
            progress.advance(written)

    try:
        for number, start in enumerate(range(0, len(pending), BATCH), start=1):
            await settle(WRITERS - 1)
            batch = pending[start : start + BATCH]
            in_flight.add(asyncio.create_task(_write_batch(writer, system, batch)))
            if number in _ANALYZE_AFTER:
                await settle(0)
                await _refresh_statistics(writer.engine)
        await settle(0)
    finally:
        # Interrupted (Ctrl+C cancels this task) or a batch failed: the other batch in flight
        # finishes, committed or rolled back, before the run stops. It is never cancelled:
        # asyncpg cancelled halfway through an executemany leaves PostgreSQL waiting for
        # the rest of it, with the batch's locks held, and this wait would never end.
        await asyncio.gather(*in_flight, return_exceptions=True)
    return written


_ANALYZE_AFTER = frozenset(4**n for n in range(1, 12))
"""The batches after which the tables the import grows are analysed: each time they have
grown fourfold."""
_GROWN_TABLES = (*RECORD_TABLES, applied_mutations.name, legacy_ids.name)


async def _refresh_statistics(engine: AsyncEngine) -> None:
    """``ANALYZE`` the tables the import fills, as a bulk load should.

    An import can grow them from nothing faster than autovacuum looks. Until then the
    planner's plans of the write path's prepared statements are made for tiny tables, and
    a lookup of 500 mutation ids by index becomes a scan of every row: each batch slower
    than the last. A new ``ANALYZE`` makes PostgreSQL plan them again.
    """
    async with engine.connect() as conn:
        await conn.execute(text(f"ANALYZE {', '.join(_GROWN_TABLES)}"))
        await conn.commit()


async def _write_batch(writer: Writer, system: str, batch: Sequence[RecordPlan]) -> int:
    mutations = [
        Mutation.model_construct(
            id=uuid.uuid4(),
            collection=plan.collection,
            row_id=plan.record_id,
            op="upsert",
            fields=plan.write,
            hlc="",
            base=None,
        )
        for plan in batch
    ]

    async def keep_old_ids(conn: AsyncConnection, results: list[MutationResult]) -> None:
        refused = [(p, r) for p, r in zip(batch, results, strict=True) if r.status == "rejected"]
        if refused:  # validated before, so a refusal here is a bug: write nothing of the batch
            plan, answer = refused[0]
            message = answer.error.message if answer.error else "refused"
            raise AdminError(
                f"the server refused {plan.collection} {plan.legacy_id!r} ({plan.where}): {message}"
            )
        await store_legacy_ids(conn, [plan.legacy_row(system) for plan in batch])

    await apply_mutations(writer, _IMPORT_AUTHOR, mutations, stamp_with_server_clock=True, then=keep_old_ids)
    return len(batch)
