"""Automatic backups while the server runs.

When the next backup is due is decided from the database's ``backup_runs`` (the
newest good and failed backup, whoever made them), not from this process's start,
so restarts neither skip nor repeat backups and several server processes sharing a
database back it up once: the run itself holds an advisory lock, and a process that
finds it taken leaves the job to the holder.

A failure is logged at ERROR, counted in ``branchsync_backups_total{result="failure"}``
and timestamped in ``branchsync_backup_last_failure_timestamp_seconds`` (an alert
rule in ``ops/`` fires on it), then retried sooner than the normal interval.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.background import cancel_and_wait
from server.errors import BackupError
from server.observability.fleet import BackupStatus, read_backup_status
from server.observability.metrics import Metrics
from server.ops.backup import BackupResult, create_backup
from server.settings import Settings

__all__ = ["BACKUP_LOCK_KEY", "BackupScheduler", "next_delay"]

log = logging.getLogger(__name__)

BACKUP_LOCK_KEY = 0x6261636B7570
"""Session advisory lock held while one process makes the automatic backup."""


def next_delay(now: datetime, status: BackupStatus, interval_s: float, retry_s: float) -> float:
    """Seconds until the next backup: at once when there was none, ``retry_s`` after a
    failure (at most ``interval_s``), else ``interval_s`` after the last success."""
    if status.last_success is None and status.last_failure is None:
        return 0.0
    if status.failing:
        assert status.last_failure is not None
        due = status.last_failure.timestamp() + min(interval_s, retry_s)
    else:
        assert status.last_success is not None
        due = status.last_success.timestamp() + interval_s
    return max(0.0, due - now.timestamp())


class BackupScheduler:
    """Runs ``create_backup`` every ``settings.backup_interval_s`` while started."""

    def __init__(self, settings: Settings, engine: AsyncEngine, database_url: str, metrics: Metrics) -> None:
        """``settings`` says when, where and how many (``backup_*``); ``database_url`` what."""
        self._settings = settings
        self._engine = engine
        self._database_url = database_url
        self._metrics = metrics
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self._settings.backups_on

    async def start(self) -> None:
        self._metrics.backup_schedule_enabled.set(1 if self.enabled else 0)
        if self.enabled:
            self._task = asyncio.create_task(self._loop(), name="backup-scheduler")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _loop(self) -> None:
        settings = self._settings
        while True:
            try:
                async with self._engine.connect() as conn:
                    now = (await conn.execute(text("SELECT now()"))).scalar_one()
                    status = await read_backup_status(conn)
                delay = next_delay(now, status, settings.backup_interval_s, settings.backup_retry_s)
            except (SQLAlchemyError, OSError) as exc:
                log.warning("cannot tell when the next backup is due (%s); asking again later", exc)
                delay = min(settings.backup_interval_s, settings.backup_retry_s)
            else:
                if delay <= 0:
                    if await self.run_once() is not None:
                        continue
                    delay = min(settings.backup_interval_s, settings.backup_retry_s)  # failed or busy
            await asyncio.sleep(delay)

    async def run_once(self) -> BackupResult | None:
        """Make one backup now; None when it failed or another process is making one."""
        settings = self._settings
        metrics = self._metrics
        try:
            async with self._engine.connect() as conn:
                locked = (
                    await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": BACKUP_LOCK_KEY})
                ).scalar_one()
                await conn.commit()
                if not locked:
                    log.info("another server process is making the backup")
                    return None
                try:
                    result = await create_backup(
                        self._database_url,
                        settings.backups_dir,
                        keep=settings.backup_keep,
                        pg_bin_dir=settings.pg_bin_dir,
                    )
                finally:
                    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": BACKUP_LOCK_KEY})
                    await conn.commit()
        except (BackupError, SQLAlchemyError, OSError) as exc:
            metrics.backups.labels("failure").inc()
            metrics.backup_last_failure.set(time.time())
            log.error("automatic backup failed: %s", exc)
            return None
        metrics.backups.labels("success").inc()
        metrics.backup_last_success.set(time.time())
        return result
