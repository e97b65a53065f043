"""GET /api/v1/branches is conditional: a strong ETag, 304 with no body to a matching
If-None-Match, a new tag on every change to what it lists (and only then), the same tag in
every server process; a request without If-None-Match gets the full answer as before."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.api.routes.branches import etag_matches
from server.ops import admin
from server.settings import Settings
from tests.support.devices import Device, enrolled_device, enrolled_device_sync
from tests.support.live_server import LiveServer, live_server

DIRECTORY = "/api/v1/branches"


async def _tag(http: httpx.AsyncClient, device: Device) -> str:
    answer = await http.get(DIRECTORY, headers=device.headers)
    assert answer.status_code == 200, answer.text
    return answer.headers["ETag"]


async def test_a_matching_if_none_match_is_304_without_a_body(
    sync_server: LiveServer, database_url: str, http: httpx.AsyncClient
) -> None:
    device = await enrolled_device(sync_server.url, database_url, "North", "Till 1")
    full = await http.get(DIRECTORY, headers=device.headers)
    etag = full.headers["ETag"]

    unchanged = await http.get(DIRECTORY, headers=device.headers | {"If-None-Match": etag})
    weak_in_a_list = await http.get(
        DIRECTORY, headers=device.headers | {"If-None-Match": f'"other", W/{etag}'}
    )
    other = await http.get(DIRECTORY, headers=device.headers | {"If-None-Match": '"not-this-one"'})

    assert full.status_code == 200 and etag.startswith('"') and etag.endswith('"')
    assert full.headers["Cache-Control"] == "private, no-cache"
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["ETag"] == etag
    assert weak_in_a_list.status_code == 304
    assert (other.status_code, other.json(), other.headers["ETag"]) == (200, full.json(), etag)


async def test_every_change_to_the_listing_gives_a_new_tag_and_presence_does_not(
    sync_server: LiveServer, database_url: str, http: httpx.AsyncClient, db_engine: AsyncEngine
) -> None:
    device = await enrolled_device(sync_server.url, database_url, "North", "Till 1")
    seen = [await _tag(http, device)]

    async def changed_by(sql: str | None = None, **params: object) -> str:
        if sql is not None:
            async with db_engine.begin() as conn:
                await conn.execute(text(sql), params)
        tag = await _tag(http, device)
        assert tag not in seen, f"{sql!r} did not change the tag"
        seen.append(tag)
        return tag

    async with db_engine.begin() as conn:
        await admin.create_branch(conn, "South")
    await changed_by()
    async with db_engine.begin() as conn:
        await admin.update_branch(conn, "South", timezone="Europe/Vienna")
    await changed_by()
    async with db_engine.begin() as conn:
        await admin.update_branch(conn, "South", new_name="South East")
    await changed_by()
    other = await enrolled_device(sync_server.url, database_url, "South East", "Reception")
    await changed_by()
    await changed_by("UPDATE devices SET name = 'Till 2' WHERE id = :id", id=device.id)
    await changed_by(
        "UPDATE devices SET branch_id = (SELECT id FROM branches WHERE name = 'North') WHERE id = :id",
        id=other.id,
    )
    async with db_engine.begin() as conn:
        await admin.revoke_device(conn, other.id)
    await changed_by()
    await changed_by("UPDATE server_meta SET value = 'a-restored-epoch' WHERE key = 'epoch'")

    # what the server writes all day about devices is not in the directory: the tag stays
    async with db_engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE devices SET last_seen = now(), status_cursor = 7, status_pending = 1,"
                " status_at = now(), app_version = 'x'"
            )
        )
        await conn.execute(text("UPDATE branches SET name = name, timezone = timezone"))
    assert await _tag(http, device) == seen[-1]


def test_two_server_processes_on_one_database_agree_on_the_tag(database_url: str) -> None:
    settings = Settings(database_url=database_url)
    with live_server(settings) as first, live_server(settings) as second:
        device = enrolled_device_sync(first.url, database_url)
        with httpx.Client(timeout=30) as http:

            def tags() -> tuple[str, str]:
                return tuple(  # type: ignore[return-value]
                    http.get(f"{s.url}{DIRECTORY}", headers=device.headers).headers["ETag"]
                    for s in (first, second)
                )

            before = tags()
            enrolled_device_sync(second.url, database_url, "South", "Reception")  # through the other one
            after = tags()
            answer = http.get(f"{first.url}{DIRECTORY}", headers=device.headers | {"If-None-Match": after[1]})

    assert before[0] == before[1] and after[0] == after[1] and before != after
    assert answer.status_code == 304


def test_if_none_match_is_compared_as_rfc_9110_says() -> None:
    assert etag_matches('"a.1"', '"a.1"')
    assert etag_matches('W/"a.1"', '"a.1"')
    assert etag_matches(' "x" ,  "a.1" ', '"a.1"')
    assert etag_matches("*", '"a.1"')
    assert not etag_matches(None, '"a.1"')
    assert not etag_matches("", '"a.1"')
    assert not etag_matches('"a.2"', '"a.1"')
    assert not etag_matches("a.1", '"a.1"')  # unquoted is not the same tag
