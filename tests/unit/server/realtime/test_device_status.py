"""The status table: the newest status per device, handed to the flusher batch by batch."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from protocol.messages import StatusFrame
from server.realtime.device_status import FLUSH_SQL, DeviceStatus, StatusTable

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
A, B = uuid.UUID(int=1), uuid.UUID(int=2)


def heard(cursor: int, seconds: float = 0.0, pending: int = 0, version: str | None = None) -> DeviceStatus:
    return DeviceStatus(cursor, pending, version, T0 + timedelta(seconds=seconds))


def test_a_frame_becomes_a_status_heard_at_a_time() -> None:
    frame = StatusFrame(type="status", cursor=7, pending=3, app_version="1.2.0")
    assert DeviceStatus.of(frame, T0) == DeviceStatus(7, 3, "1.2.0", T0)


def test_only_the_newest_status_of_a_device_is_kept() -> None:
    table = StatusTable()
    for n in range(100):  # an old desktop: one frame per change
        table.record(A, heard(n, n))
    table.record(B, heard(5))
    assert len(table) == 2
    assert table.take() == {A: heard(99, 99), B: heard(5)}


def test_a_taken_batch_is_still_seen_until_it_is_done() -> None:
    table = StatusTable()
    table.record(A, heard(1))
    batch = table.take()
    assert batch == {A: heard(1)} and len(table) == 0
    assert table.unflushed() == {A: heard(1)}, "readers see it while it is being written"
    table.record(A, heard(2, 1))  # newer, during the write
    assert table.unflushed() == {A: heard(2, 1)}
    table.done()
    assert table.unflushed() == {A: heard(2, 1)}
    assert (table.stats.flushes, table.stats.rows_written) == (1, 1)


def test_a_failed_batch_is_kept_for_the_next_round_without_undoing_newer_statuses() -> None:
    table = StatusTable()
    table.record(A, heard(1))
    table.record(B, heard(1))
    table.take()
    table.record(A, heard(2, 1))
    table.failed()
    assert table.take() == {A: heard(2, 1), B: heard(1)}
    assert (table.stats.failures, table.stats.flushes) == (1, 0)


def test_the_flush_is_one_statement_that_never_overwrites_a_newer_row() -> None:
    sql = " ".join(str(FLUSH_SQL).split())
    assert sql.count("UPDATE") == 1 and "unnest(" in sql
    assert "d.status_at IS NULL OR d.status_at <= v.at" in sql
    assert "COALESCE(v.app_version, d.app_version)" in sql
