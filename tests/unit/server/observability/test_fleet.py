"""Assembling the fleet snapshot from rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from server.observability.fleet import BackupStatus, build_fleet, overlay_statuses
from server.realtime.device_status import DeviceStatus

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NORTH, SOUTH, EMPTY = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def device(
    branch: uuid.UUID, *, seen_ago: float | None, cursor: int | None, pending: int | None
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "name": "desk",
        "branch_id": branch,
        "last_seen": None if seen_ago is None else NOW - timedelta(seconds=seen_ago),
        "cursor": cursor,
        "pending": pending,
        "rejected": 1,
        "app_version": None,
    }


def test_branch_figures_come_from_their_devices() -> None:
    online = device(NORTH, seen_ago=500, cursor=90, pending=2)
    behind = device(NORTH, seen_ago=60, cursor=40, pending=None)
    quiet = device(SOUTH, seen_ago=1200, cursor=None, pending=None)
    fleet = build_fleet(
        NOW,
        "epoch",
        100,
        [{"id": NORTH, "name": "North"}, {"id": SOUTH, "name": "South"}, {"id": EMPTY, "name": "Empty"}],
        [online, behind, quiet],
        {online["id"]},
        BackupStatus(),
    )
    north, south, empty = fleet.branches
    assert (north.online, north.cursor_lag, north.pending, north.last_seen_age_s) == (1, 60, 2, 0.0)
    assert [d.behind for d in north.devices] == [10, 60]
    assert [d.last_seen_age_s for d in north.devices] == [0.0, 60.0]
    assert (south.online, south.cursor_lag, south.pending, south.last_seen_age_s) == (0, 0, 0, 1200.0)
    assert (empty.devices, empty.last_seen_age_s) == ((), None)


def test_a_device_never_seen_has_no_age_and_a_cursor_past_head_is_not_negative() -> None:
    ahead = device(NORTH, seen_ago=None, cursor=120, pending=0)
    fleet = build_fleet(NOW, "e", 100, [{"id": NORTH, "name": "North"}], [ahead], set(), BackupStatus())
    (only,) = fleet.branches[0].devices
    assert only.last_seen_age_s is None and only.behind == 0
    assert fleet.branches[0].last_seen_age_s is None


def test_a_status_not_yet_stored_shows_when_it_is_newer_than_the_row() -> None:
    stored = {
        **device(NORTH, seen_ago=60, cursor=3, pending=1),
        "app_version": "1.0.0",
        "status_at": NOW - timedelta(seconds=60),
    }
    fresh = DeviceStatus(cursor=9, pending=0, app_version=None, at=NOW - timedelta(seconds=1))
    (row,) = overlay_statuses([stored], {stored["id"]: fresh})
    assert (row["cursor"], row["pending"], row["app_version"]) == (9, 0, "1.0.0")
    assert row["last_seen"] == fresh.at and row["status_at"] == fresh.at
    assert stored["cursor"] == 3, "the rows read are not changed"


def test_a_status_older_than_the_row_or_of_another_device_changes_nothing() -> None:
    stored = {**device(NORTH, seen_ago=5, cursor=3, pending=1), "status_at": NOW - timedelta(seconds=5)}
    stale = DeviceStatus(cursor=1, pending=7, app_version="0.9", at=NOW - timedelta(seconds=30))
    assert overlay_statuses([stored], {stored["id"]: stale}) == [stored]
    assert overlay_statuses([stored], {uuid.uuid4(): stale}) == [stored]


def test_a_first_status_fills_a_device_never_heard_from() -> None:
    never = {**device(SOUTH, seen_ago=None, cursor=None, pending=None), "status_at": None}
    first = DeviceStatus(cursor=2, pending=4, app_version="1.1.0", at=NOW)
    (row,) = overlay_statuses([never], {never["id"]: first})
    assert (row["cursor"], row["pending"], row["app_version"], row["last_seen"]) == (2, 4, "1.1.0", NOW)
