"""The branch directory: known at enrolment, replaced wholesale (in one transaction) by each new list."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from desktop.cache import Branch, Cache, Device, Directory
from protocol.messages import BranchInfo, DeviceInfo, DirectoryResponse

NORTH, SOUTH, EAST = "b-north", "b-south", "b-east"


def _listed(
    branches: list[tuple[str, str, str | None]], devices: list[tuple[str, str, str]]
) -> DirectoryResponse:
    return DirectoryResponse(
        branches=[BranchInfo(id=i, name=n, timezone=z) for i, n, z in branches],
        devices=[DeviceInfo(id=i, name=n, branch_id=b) for i, n, b in devices],
    )


def _enrol(cache: Cache, timezone: str | None = "Europe/Vienna") -> None:
    cache.set_enrollment(
        device_id="pc-1",
        branch_id=NORTH,
        branch_name="North",
        server_url="https://sync.example",
        branch_timezone=timezone,
    )


def test_a_new_installation_knows_no_branch(cache: Cache) -> None:
    assert cache.directory() == Directory()


def test_enrolment_records_the_own_branch_with_its_zone(cache: Cache) -> None:
    _enrol(cache)

    directory = cache.directory()
    assert directory.branches == (Branch(NORTH, "North", "Europe/Vienna"),)
    assert directory.branch(NORTH) == Branch(NORTH, "North", "Europe/Vienna")
    assert directory.branch("elsewhere") is None and directory.branch(None) is None


def test_a_new_list_replaces_the_old_one_wholesale(cache: Cache) -> None:
    _enrol(cache, timezone=None)
    cache.replace_directory(
        _listed(
            [(NORTH, "North", "Europe/Vienna"), (SOUTH, "South", None), (EAST, "East", "Asia/Tokyo")],
            [("pc-1", "Front desk", NORTH), ("pc-2", "Reception", SOUTH)],
        )
    )
    cache.replace_directory(
        _listed(
            [(SOUTH, "South Side", "Europe/Berlin"), (NORTH, "North Hill", "Europe/Vienna")],
            [("pc-3", "Back office", SOUTH)],
        )
    )

    directory = cache.directory()
    assert directory.branches == (  # sorted by name; East is gone
        Branch(NORTH, "North Hill", "Europe/Vienna"),
        Branch(SOUTH, "South Side", "Europe/Berlin"),
    )
    assert directory.devices == (Device("pc-3", "Back office", SOUTH),)
    assert directory.branch_names() == {NORTH: "North Hill", SOUTH: "South Side"}
    assert directory.device_names() == {"pc-3": "Back office"}
    assert directory.device_labels() == {"pc-3": "Back office (South Side)"}
    assert cache.state().branch_name == "North Hill"  # the window title follows a rename


def test_a_list_naming_an_id_twice_keeps_the_last(cache: Cache) -> None:
    cache.replace_directory(
        _listed([(SOUTH, "Old", None), (SOUTH, "South", None)], [("pc-2", "A", SOUTH)] * 2)
    )

    assert cache.directory().branch_names() == {SOUTH: "South"}
    assert cache.directory().device_names() == {"pc-2": "A"}


def test_a_list_that_fails_half_way_leaves_the_old_one(cache: Cache) -> None:
    cache.replace_directory(_listed([(NORTH, "North", None)], [("pc-1", "Front desk", NORTH)]))
    conn = sqlite3.connect(cache.path)  # the file refuses one device, after the branches went in
    conn.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON devices WHEN NEW.name = 'boom' "
        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    conn.close()

    with pytest.raises(sa_exc.IntegrityError, match="refused"):
        cache.replace_directory(_listed([(SOUTH, "South", None)], [("pc-9", "boom", SOUTH)]), '"e.2"')

    assert cache.directory() == Directory(
        (Branch(NORTH, "North", None),), (Device("pc-1", "Front desk", NORTH),)
    )
    assert cache.directory_etag() is None  # the tag did not go in without its list


def test_the_servers_tag_is_kept_with_its_list_and_forgotten_when_the_list_changes_here(
    cache: Cache,
) -> None:
    assert cache.directory_etag() is None
    cache.replace_directory(_listed([(NORTH, "North", None)], []), '"e.1"')
    assert cache.directory_etag() == '"e.1"'

    cache.replace_directory(_listed([(NORTH, "North", None)], []))  # a server that sends no tag
    assert cache.directory_etag() is None

    cache.replace_directory(_listed([(NORTH, "North", None)], []), '"e.2"')
    reopened = Cache(cache.data_dir)
    try:
        assert reopened.directory_etag() == '"e.2"'
    finally:
        reopened.close()
    _enrol(cache)  # enrolment writes its own branch in: no longer the list the tag named
    assert cache.directory_etag() is None


def test_a_device_of_a_branch_not_listed_is_named_alone() -> None:
    directory = Directory(
        branches=(Branch(NORTH, "North", None),), devices=(Device("pc-9", "Kiosk", "b-gone"),)
    )

    assert directory.device_labels() == {"pc-9": "Kiosk"}
