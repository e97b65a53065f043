"""The branch directory against a real server: a branch PC learns the other branches' names and
every branch's zone when it connects, and a server too old to list them changes nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from desktop.cache import Branch
from desktop.cli import main
from desktop.sync.http_client import SyncHttpClient
from protocol.messages import BranchInfo, DirectoryResponse
from protocol.wire import BRANCHES_PATH
from server.api.deps import CurrentDevice, RuntimeDep
from server.api.routes import branches as directory_routes
from server.app import create_app
from server.identity.branch_directory import read_directory
from server.settings import Settings
from tests.support.desktop_engine import Installation, enrolled_installation, wait_until
from tests.support.devices import enrolled_device, issue_code, set_branch_zones
from tests.support.live_server import LiveServer, live_server
from tests.support.scrape import scrape, value
from tests.support.server_rows import server_rows

SOUTH_ZONE = "America/Argentina/Buenos_Aires"


def test_a_branch_pc_sees_the_other_branchs_name_and_zone_after_connecting(
    north: Installation, south: Installation, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # IT sets the zones after both PCs enrolled, so only the directory can tell them
    asyncio.run(set_branch_zones(database_url, {"North": "Europe/Vienna", "South": SOUTH_ZONE}))
    north_id, south_id = north.cache.state().branch_id, south.cache.state().branch_id
    assert north_id and south_id
    assert north.cache.directory().branches == (Branch(north_id, "North", None),)  # what enrolment said

    north.start()
    wait_until(lambda: (s := north.status) is not None and s.directory_updates == 1, what="the directory")

    directory = north.cache.directory()
    assert directory.branches == (
        Branch(north_id, "North", "Europe/Vienna"),
        Branch(south_id, "South", SOUTH_ZONE),
    )
    assert directory.device_names() == {
        north.cache.state().device_id: "North PC",
        south.cache.state().device_id: "South PC",
    }
    north.wait_online()
    assert north.status is not None and north.status.last_error is None
    north.stop()
    assert main(["--data-dir", str(north.data_dir), "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["branch_timezone"] == "Europe/Vienna"


async def _not_found_answers(url: str) -> float:
    async with httpx.AsyncClient(base_url=url) as client:
        return value(await scrape(client), "branchsync_http_responses_total", status="404") or 0


def test_a_server_without_the_directory_is_synced_with_just_the_same(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url)
    older = create_app(settings)  # the real server, as it was before it listed branches
    routes = older.router.routes
    routes[:] = [r for r in routes if getattr(r, "original_router", None) is not directory_routes.router]
    assert len(routes) == len(create_app(settings).router.routes) - 1, "the directory router was not found"
    with (
        live_server(settings, app=older) as server,
        enrolled_installation(server.url, database_url, tmp_path / "pc") as pc,
    ):
        first = pc.cache.create("clients", {"name": "Ada"})
        pc.start()
        pc.wait_synced()
        wait_until(lambda: asyncio.run(_not_found_answers(server.url)) == 1, what="the directory asked once")

        second = pc.cache.create("clients", {"name": "Grace"})
        wait_until(lambda: set(server_rows(database_url)) == {first, second}, what="both rows on the server")
        pc.wait_synced()
        status = pc.status
        assert status is not None and status.last_error is None and status.directory_updates == 0
        assert asyncio.run(_not_found_answers(server.url)) == 1  # asked once per connection, not again
        branch_id = pc.cache.state().branch_id
        assert pc.cache.directory().branches == (Branch(str(branch_id), "North", None),)  # enrolment's


def test_enrolment_brings_the_branchs_zone_at_once(
    sync_server: LiveServer, database_url: str, tmp_path: Path
) -> None:
    asyncio.run(issue_code(database_url, "East"))  # IT makes the branch, then gives it a zone
    asyncio.run(set_branch_zones(database_url, {"East": "Asia/Tokyo"}))

    with enrolled_installation(sync_server.url, database_url, tmp_path / "east", "East") as pc:
        state = pc.cache.state()
        assert pc.cache.directory().branches == (Branch(str(state.branch_id), "East", "Asia/Tokyo"),)


async def _answers(url: str, status: str) -> float:
    async with httpx.AsyncClient(base_url=url) as client:
        return value(await scrape(client), "branchsync_http_responses_total", status=status) or 0


def test_a_reconnect_with_nothing_new_costs_a_304_and_a_change_is_fetched_whole(
    north: Installation, south: Installation, sync_server: LiveServer, database_url: str
) -> None:
    north.start()
    wait_until(lambda: (s := north.status) is not None and s.directory_updates == 1, what="the directory")
    first_tag, listed = north.cache.directory_etag(), north.cache.directory()
    north.stop()
    assert first_tag is not None and len(listed.branches) == 2

    north.statuses.clear()  # what the next engine reports, not the last one
    north.start()  # a reconnect: the same directory, so a 304 and the cache keeps its copy
    wait_until(lambda: asyncio.run(_answers(sync_server.url, "304")) == 1, what="a 304")
    north.wait_online()
    status = north.status
    assert status is not None and status.last_error is None and status.directory_updates == 0
    assert (north.cache.directory_etag(), north.cache.directory()) == (first_tag, listed)
    north.stop()

    asyncio.run(set_branch_zones(database_url, {"South": SOUTH_ZONE}))
    north.statuses.clear()
    north.start()
    wait_until(lambda: (s := north.status) is not None and s.directory_updates == 1, what="the new one")
    south_id = south.cache.state().branch_id
    assert north.cache.directory().branch(south_id) == Branch(str(south_id), "South", SOUTH_ZONE)
    assert north.cache.directory_etag() not in (None, first_tag)
    assert asyncio.run(_answers(sync_server.url, "304")) == 1
    north.stop()


def _untagged_directory_app(settings: Settings) -> FastAPI:
    """The real server with the directory route as it was before ETags: always the whole list."""
    older = create_app(settings)
    routes = older.router.routes
    routes[:] = [r for r in routes if getattr(r, "original_router", None) is not directory_routes.router]
    untagged = APIRouter()

    @untagged.get(BRANCHES_PATH, response_model=DirectoryResponse)
    async def branch_directory(device: CurrentDevice, runtime: RuntimeDep) -> DirectoryResponse:
        del device
        async with runtime.engine.connect() as conn:
            return await read_directory(conn)

    older.include_router(untagged)
    return older


def test_a_server_that_sends_no_etag_is_asked_in_full_every_time(database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url)
    with (
        live_server(settings, app=_untagged_directory_app(settings)) as server,
        enrolled_installation(server.url, database_url, tmp_path / "pc") as pc,
    ):
        branch_id = str(pc.cache.state().branch_id)
        # a tag from a newer server this PC talked to before a downgrade: sent, ignored, dropped
        stale = DirectoryResponse(
            branches=[BranchInfo(id=branch_id, name="North", timezone=None)], devices=[]
        )
        pc.cache.replace_directory(stale, '"gone.7"')
        for run in range(2):
            pc.statuses.clear()  # what this engine reports, not the last one
            pc.start()
            wait_until(lambda: (s := pc.status) is not None and s.directory_updates == 1, what=f"list {run}")
            assert pc.cache.directory_etag() is None
            assert set(pc.cache.directory().device_names()) == {pc.cache.state().device_id}
            pc.wait_online()
            status = pc.status
            assert status is not None and status.last_error is None
            pc.stop()
        assert asyncio.run(_answers(server.url, "304")) == 0


async def test_a_desktop_that_sends_no_if_none_match_gets_the_whole_list(
    sync_server: LiveServer, database_url: str
) -> None:
    device = await enrolled_device(sync_server.url, database_url, "North", "Till 1")
    async with SyncHttpClient(sync_server.url, device.token) as client:
        old_call = await client.directory()  # what a desktop before ETags asks, and all it reads
        untagged = await client.directory_if_changed(None)
        tagged = await client.directory_if_changed(untagged.etag)

    assert [d.name for d in old_call.devices] == ["Till 1"]
    assert untagged.directory == old_call and untagged.etag is not None
    assert (tagged.directory, tagged.etag) == (None, untagged.etag)
