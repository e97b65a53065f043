"""Field bases on a real server: stored with each winning write, pulled with every change.

A base says what the author of a value had seen (``protocol.concurrency``); the
server keeps the winner's per field and hands it out so branches can tell a race
from a later edit. The last test runs two desktop caches through the real server.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from desktop.cache import Cache
from protocol.hlc import system_wall_ms
from protocol.messages import PullResponse, PushResponse
from server.store import migrate
from tests.support.devices import Device, enrolled_device
from tests.support.live_server import LiveServer
from tests.support.sync_client import mutation, pull_all, push, stamper

CLIENTS = "/api/v1/clients"


def _based(hlc: str, fields: dict[str, Any], base: dict[str, str | None] | None, **options: Any) -> Any:
    return mutation(hlc, fields, **options) | ({} if base is None else {"base": base})


async def _bases(http: httpx.AsyncClient, device: Device, row_id: uuid.UUID | str) -> Any:
    changes, _ = await pull_all(http, device)
    [found] = [c for c in changes if c["row_id"] == str(row_id)]
    return found["bases"]


async def test_each_winning_write_leaves_its_base_and_a_losing_one_changes_nothing(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    clock = stamper(north_device)
    row_id = uuid.uuid4()
    stale, created, edited = clock.now(), clock.now(), clock.now()
    await push(
        http,
        north_device,
        [_based(created, {"name": "Ann"}, {"name": None, "_deleted": None}, row_id=row_id)],
    )
    after_create = await _bases(http, north_device, row_id)
    answer = await push(
        http,
        north_device,
        [
            _based(edited, {"phone": "555 0100"}, {"phone": None, "_deleted": created}, row_id=row_id),
            _based(stale, {"phone": "555 0199"}, {"phone": None, "_deleted": None}, row_id=row_id),
        ],
    )

    assert after_create == {"name": None, "_deleted": None}
    assert [lost["field"] for lost in answer["results"][1]["lost"]] == ["phone"]  # the stale edit lost
    assert await _bases(http, north_device, row_id) == {"name": None, "phone": None, "_deleted": created}


async def test_a_write_without_a_base_leaves_the_keys_it_took_unknown(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    clock = stamper(north_device)
    row_id = uuid.uuid4()
    await push(
        http,
        north_device,
        [_based(clock.now(), {"name": "Ann", "phone": "555 0100"}, {"name": None}, row_id=row_id)],
    )
    await push(http, north_device, [_based(clock.now(), {"phone": "555 0199"}, None, row_id=row_id)])

    assert await _bases(http, north_device, row_id) == {"name": None}


async def test_rest_writes_are_based_on_the_row_as_stored(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    answer = await http.post(CLIENTS, json={"name": "Web Booking"}, headers=north_device.headers)
    row_id = answer.json()["id"]
    [created] = (await pull_all(http, north_device))[0]
    patched = await http.patch(
        f"{CLIENTS}/{row_id}", json={"name": "Web B.", "phone": "555 0100"}, headers=north_device.headers
    )

    assert (answer.status_code, patched.status_code) == (201, 200)
    assert created["bases"] == {"name": None, "_deleted": None}
    assert await _bases(http, north_device, row_id) == {
        "name": created["clocks"]["name"],
        "phone": None,
        "_deleted": created["clocks"]["_deleted"],
    }
    assert "bases" not in patched.json()  # the REST resource does not show sync metadata


async def test_a_bad_base_refuses_its_mutation_and_the_rest_flow(
    http: httpx.AsyncClient, north_device: Device
) -> None:
    clock = stamper(north_device)
    body = await push(
        http,
        north_device,
        [
            _based(clock.now(), {"name": "Ann"}, {"phone": None}),
            _based(clock.now(), {"name": "Bob"}, {"name": "last tuesday"}),
            _based(clock.now(), {"name": "Cy"}, {"name": None}),
        ],
    )
    wrong_shape = await http.post(
        "/api/v1/sync/push",
        json={"mutations": [_based(clock.now(), {"name": "Di"}, {"name": 5})]},  # type: ignore[dict-item]
        headers=north_device.headers,
    )

    results = [
        (r["status"], (r.get("error") or {}).get("code"), (r.get("error") or {}).get("field"))
        for r in body["results"]
    ]
    assert results == [
        ("rejected", "invalid_mutation", "phone"),
        ("rejected", "invalid_hlc", "name"),
        ("applied", None, None),
    ]
    assert (wrong_shape.status_code, wrong_shape.json()["error"]["code"]) == (422, "invalid_body")
    changes, _ = await pull_all(http, north_device)
    assert [c["fields"]["name"] for c in changes] == ["Cy"]


async def test_rows_written_before_the_upgrade_have_no_bases(
    database_url: str, db_engine: AsyncEngine
) -> None:
    def upgrade_to(revision: str) -> Callable[[Connection], None]:
        def run(conn: Connection) -> None:
            config = Config()
            config.set_main_option("script_location", str(Path(migrate.__file__).parent / "migrations"))
            config.attributes["connection"] = conn
            command.upgrade(config, revision)

        return run

    async with db_engine.begin() as conn:
        await conn.run_sync(upgrade_to("0002"))
        await conn.execute(
            text("INSERT INTO clients (id, name, clocks, seq) VALUES (:id, 'Old', '{}', 1)"),
            {"id": uuid.uuid4()},
        )
    await migrate.upgrade(db_engine)

    async with db_engine.connect() as conn:
        stored = (await conn.execute(text("SELECT bases FROM clients"))).scalar_one()
    assert stored == {} and await migrate.current_revision(db_engine) == migrate.head_revision()


# ---- two branches' desktop caches through the real server ------------------------------


class Branch:
    """A desktop cache synced by hand over HTTP, as the engine would: push the outbox, then pull."""

    def __init__(
        self, data_dir: Path, device: Device, http: httpx.AsyncClient, wall_ms: Callable[[], int]
    ) -> None:
        self.cache = Cache(data_dir, wall_ms=wall_ms)
        self.cache.set_enrollment(
            device_id=device.id, branch_id=device.branch_id, branch_name=device.branch, server_url="test"
        )
        self.device, self.http = device, http

    async def sync(self) -> None:
        entries = self.cache.pending_batch()
        if entries:
            body = {"mutations": [entry.to_wire() for entry in entries]}
            answer = await self.http.post("/api/v1/sync/push", json=body, headers=self.device.headers)
            pushed = PushResponse.model_validate(answer.json())
            self.cache.apply_push_results(entries, pushed.results, pushed.server_hlc)
        params = {"since": self.cache.state().cursor}
        answer = await self.http.get("/api/v1/sync/pull", params=params, headers=self.device.headers)
        pulled = PullResponse.model_validate(answer.json())
        self.cache.apply_changes(pulled.changes, pulled.cursor, pulled.epoch)


@pytest.mark.parametrize("first", ["north", "south"])
async def test_the_branch_that_lost_a_race_sees_it_once_through_the_real_server(
    tmp_path: Path,
    http: httpx.AsyncClient,
    north_device: Device,
    sync_server: LiveServer,
    database_url: str,
    first: str,
) -> None:
    south_device = await enrolled_device(sync_server.url, database_url, "South")
    north = Branch(tmp_path / "north", north_device, http, system_wall_ms)
    south = Branch(tmp_path / "south", south_device, http, lambda: system_wall_ms() + 1_000)  # edits later
    try:
        row_id = north.cache.create("clients", {"name": "Ada", "phone": "555 0100"})
        await north.sync()
        await south.sync()
        north.cache.update("clients", row_id, {"phone": "555 0111"})
        south.cache.update("clients", row_id, {"phone": "555 0122"})

        order = [north, south] if first == "north" else [south, north]
        for branch in [*order, *order]:
            await branch.sync()

        for branch in (north, south):
            record = branch.cache.get("clients", row_id)
            assert record is not None and record.fields["phone"] == "555 0122"
        lost = [(c.field, c.my_value, c.winning_value, c.winning_device) for c in north.cache.conflicts()]
        assert lost == [("phone", "555 0111", "555 0122", south_device.id)]
        assert south.cache.conflicts() == []
    finally:
        north.cache.close()
        south.cache.close()
