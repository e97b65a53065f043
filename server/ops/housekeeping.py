"""Keeps the bookkeeping tables from growing forever.

``applied_mutations`` answers a replayed mutation id with its first answer, and ``rejections``
feeds the dashboard; both gain a row per write. Devices drop a mutation as soon as it is
answered, so an answer is only needed for the short time a replay can happen (a lost
response, a crash before the outbox was trimmed). Past ``record_keep_days`` the rows are
deleted in small batches so no sweep holds long locks. A replay after that is merged again:
its clocks are no newer than what is stored, so it changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Column, Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.background import cancel_and_wait, repeat
from server.observability.metrics import Metrics
from server.store.tables import applied_mutations, rejections

__all__ = ["Housekeeping", "SweepResult", "sweep"]

log = logging.getLogger(__name__)

BATCH = 5000
"""Rows deleted per transaction."""


@dataclass(frozen=True, slots=True)
class SweepResult:
    answers: int
    rejections: int


async def sweep(engine: AsyncEngine, keep: timedelta) -> SweepResult:
    """Delete answers and rejections older than ``keep``; return how many went."""
    answers = await _delete_older(engine, applied_mutations, applied_mutations.c.applied_at, keep)
    refused = await _delete_older(engine, rejections, rejections.c.at, keep)
    return SweepResult(answers=answers, rejections=refused)


async def _delete_older(engine: AsyncEngine, table: Table, stamp: Column[object], keep: timedelta) -> int:
    key = next(iter(table.primary_key.columns))
    total = 0
    while True:
        oldest = select(key).where(stamp < func.now() - keep).limit(BATCH).scalar_subquery()
        async with engine.begin() as conn:
            deleted = (await conn.execute(delete(table).where(key.in_(oldest)))).rowcount
        total += deleted
        if deleted < BATCH:
            return total


class Housekeeping:
    """Runs ``sweep`` every ``housekeeping_interval_s`` while the server runs."""

    def __init__(self, engine: AsyncEngine, metrics: Metrics, *, keep_days: float, interval_s: float) -> None:
        self._engine = engine
        self._metrics = metrics
        self._keep_days = keep_days
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
        done = await sweep(self._engine, timedelta(days=self._keep_days))
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
        return done
