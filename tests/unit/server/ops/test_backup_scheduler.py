"""When the next automatic backup is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.observability.fleet import BackupStatus
from server.ops.backup_scheduler import next_delay

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HOUR = 3600.0


def test_first_backup_at_once() -> None:
    assert next_delay(NOW, BackupStatus(), 6 * HOUR, 900) == 0


def test_interval_after_the_last_success() -> None:
    status = BackupStatus(last_success=NOW - timedelta(hours=2))
    assert next_delay(NOW, status, 6 * HOUR, 900) == 4 * HOUR
    assert next_delay(NOW, BackupStatus(last_success=NOW - timedelta(hours=7)), 6 * HOUR, 900) == 0


def test_retry_sooner_after_a_failure_but_never_later_than_the_interval() -> None:
    failing = BackupStatus(last_success=NOW - timedelta(hours=5), last_failure=NOW - timedelta(minutes=5))
    assert failing.failing
    assert next_delay(NOW, failing, 6 * HOUR, 900) == 600
    assert next_delay(NOW, failing, 60, 900) == 0
    recovered = BackupStatus(last_success=NOW, last_failure=NOW - timedelta(minutes=5))
    assert not recovered.failing and next_delay(NOW, recovered, 6 * HOUR, 900) == 6 * HOUR
