"""Automatic backups while serving: they run on schedule, prune, and a failure shows
in the metrics (and so in the alert rules) instead of hiding in a log line."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest

from server.ops.backup_files import list_backups
from server.settings import Settings
from tests.support.live_server import live_server
from tests.support.scrape import value, wait_for_metric


async def test_automatic_backups_run_on_a_short_schedule(database_url: str, tmp_path: Path) -> None:
    settings = Settings(
        database_url=database_url,
        data_dir=tmp_path,
        backup_enabled=True,
        backup_interval_s=0.3,
        backup_keep=2,
    )
    started = time.time()
    with live_server(settings) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as client:
            samples = await wait_for_metric(
                client,
                lambda s: (value(s, "branchsync_backups_total", result="success") or 0) >= 3,
                timeout=60,
            )
    assert value(samples, "branchsync_backup_schedule_enabled") == 1
    assert (value(samples, "branchsync_backup_last_success_timestamp_seconds") or 0) >= started - 1
    assert value(samples, "branchsync_backups_total", result="failure") is None
    kept = list_backups(tmp_path / "backups")
    assert len(kept) == 2
    assert not list((tmp_path / "backups").glob(".*.partial"))


async def test_no_automatic_backups_for_an_external_database_by_default(
    ops_http: httpx.AsyncClient, ops_settings: Settings
) -> None:
    samples = await wait_for_metric(ops_http, lambda s: value(s, "branchsync_backup_schedule_enabled") == 0)
    assert value(samples, "branchsync_backups_total", result="success") is None
    assert not ops_settings.backups_dir.exists()


async def test_a_failed_backup_shows_in_metrics(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the backups should go")
    settings = Settings(database_url=database_url, data_dir=tmp_path, backup_enabled=True, backup_dir=blocked)
    with (
        caplog.at_level(logging.ERROR, logger="server.ops.backup_scheduler"),
        live_server(settings) as running,
    ):
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as client:
            samples = await wait_for_metric(
                client,
                lambda s: (
                    (value(s, "branchsync_backups_total", result="failure") or 0) >= 1
                    and (value(s, "branchsync_backup_last_failure_timestamp_seconds") or 0) > 0
                ),
            )
    assert (value(samples, "branchsync_backup_last_failure_timestamp_seconds") or 0) > time.time() - 60
    assert value(samples, "branchsync_backups_total", result="success") is None
    assert any(
        "automatic backup failed" in r.getMessage() and "not-a-folder" in r.getMessage()
        for r in caplog.records
    )
