"""Keeps the bookkeeping tables from growing forever.

``applied_mutations`` answers a replayed mutation id with its first answer, and ``rejections``
feeds the dashboard; both gain a row per write. Devices drop a mutation as soon as it is
answered, so an answer is only needed for the short time a replay can happen (a lost
response, a crash before the outbox was trimmed). Past ``record_keep_days`` the rows are
deleted in small batches so no sweep holds long locks. A replay after that is merged again:
its clocks are no newer than what is stored, so it changes nothing.

Deleted rows are never purged (no branch has a deadline to come back online), but once
one has been deleted and untouched for ``clear_after_days`` its values are cleared
(``server.sync.write_path.compact_tombstones``): it stays a small tombstone, and the
clearing reaches every branch's cache as an ordinary change. Before that, the values
are still there for a later edit (or a restore) to bring back.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Column, Table, delete, func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from server.background import cancel_and_wait, repeat
from server.observability.metrics import Metrics
from server.store.tables import RECORD_TABLES, applied_mutations, rejections
from server.sync.write_path import compact_tombstones

__all__ = ["Housekeeping", "SweepResult", "clear_tombstones", "sweep"]

log = logging.getLogger(__name__)

BATCH = 5000
"""Rows deleted per transaction."""
CLEAR_BATCH = 500
"""Tombstones cleared per transaction (each is a change every engine pulls)."""


@dataclass(frozen=True, slots=True)
class SweepResult:
    answers: int
    rejections: int
    tombstones: int = 0
    """Deleted rows whose values were cleared."""


async def sweep(engine: AsyncEngine, keep: timedelta, clear_after: timedelta | None = None) -> SweepResult:
    """Delete answers and rejections older than ``keep`` and clear the values of rows
    deleted longer than ``clear_after`` (None: not now); return how many of each."""
    answers = await _delete_older(engine, applied_mutations, applied_mutations.c.applied_at, keep)
    refused = await _delete_older(engine, rejections, rejections.c.at, keep)
    cleared = 0 if clear_after is None else await clear_tombstones(engine, clear_after)
    return SweepResult(answers=answers, rejections=refused, tombstones=cleared)


def _uncleared_sql(name: str) -> str:
    # ``_cleared`` equal to ``_deleted``: this deletion is cleared already (a row deleted
    # again after an earlier clearing and revival has a newer ``_deleted``).
    return (
        f"SELECT id FROM {name} WHERE deleted AND updated_at < now() - make_interval(secs => :after_s)"
        f" AND clocks->>'_cleared' IS DISTINCT FROM clocks->>'_deleted' ORDER BY id LIMIT :limit"
    )


_UNCLEARED = {name: text(_uncleared_sql(name)) for name in RECORD_TABLES}


async def clear_tombstones(engine: AsyncEngine, after: timedelta) -> int:
    """Clear the values of every row deleted (and untouched) longer than ``after``, in
    batches of ``CLEAR_BATCH``; returns how many. Resumable: a cleared row is not chosen again."""
    total = 0
    for name, query in _UNCLEARED.items():
        while True:
            async with engine.connect() as conn:
                params = {"after_s": after.total_seconds(), "limit": CLEAR_BATCH}
                ids: list[uuid.UUID] = list((await conn.execute(query, params)).scalars())
            done = await compact_tombstones(engine, [(name, row_id) for row_id in ids]) if ids else 0
            total += done
            if len(ids) < CLEAR_BATCH or done == 0:
                break
    return total


async def _delete_older(engine: AsyncEngine, table: Table, stamp: Column[object], keep: timedelta) -> int:
    key = tuple_(*table.primary_key.columns)  # the whole key: answers are kept per (device, id)
    total = 0
    while True:
        oldest = select(*table.primary_key.columns).where(stamp < func.now() - keep).limit(BATCH)
        async with engine.begin() as conn:
            deleted = (await conn.execute(delete(table).where(key.in_(oldest)))).rowcount
        total += deleted
        if deleted < BATCH:
            return total


class Housekeeping:
    """Runs ``sweep`` every ``housekeeping_interval_s`` while the server runs."""

    def __init__(
        self,
        engine: AsyncEngine,
        metrics: Metrics,
        *,
        keep_days: float,
        interval_s: float,
        clear_after_days: float | None = None,
    ) -> None:
        self._engine = engine
        self._metrics = metrics
        self._keep_days = keep_days
        self._clear_after_days = clear_after_days
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        interval = self._interval_s
        failure = "housekeeping could not delete old records"
        self._task = asyncio.create_task(repeat(self.run_once, interval, failure, log), name="housekeeping")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def run_once(self) -> SweepResult:
        after = None if self._clear_after_days is None else timedelta(days=self._clear_after_days)
        done = await sweep(self._engine, timedelta(days=self._keep_days), after)
        metrics = self._metrics
        metrics.records_swept.labels("applied_mutations").inc(done.answers)
        metrics.records_swept.labels("rejections").inc(done.rejections)
        if done.answers or done.rejections:
            log.info(
                "housekeeping deleted %d mutation answers and %d rejections older than %g days",
                done.answers,
                done.rejections,
                self._keep_days,
            )
        if done.tombstones:
            log.info(
                "housekeeping cleared the values of %d rows deleted more than %g days ago",
                done.tombstones,
                self._clear_after_days,
            )
        return done
