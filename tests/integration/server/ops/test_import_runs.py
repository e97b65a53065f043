"""``branchsync-server import`` as IT runs it, where the write path matters: a run killed
halfway and run again ends where one uninterrupted run does, and a connected branch sees
the records arrive while the import is still writing."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from server.settings import Settings
from server.store.engine import asyncpg_url
from tests.support import postgres
from tests.support.devices import enrolled_device
from tests.support.live_server import live_server
from tests.support.server_process import CLI, cli_env, run_cli
from tests.support.sync_socket import next_frame, open_socket

MAPPING = """
system: bench
country: GB
branch: North
records:
  clients:
    from: clients
    legacy_id: id
    updated_at: updatedAt
    fields:
      name: fullName
      phone: tel
      tags: {from: labels, split: ","}
  appointments:
    from: appointments
    legacy_id: id
    fields:
      client_id: {from: clientId, link: clients}
      branch_id: {from: salon, link: branches}
      starts_at: start
      duration_min: mins
"""


def write_sources(folder: Path, clients: int, appointments: int = 0) -> tuple[Path, Path]:
    """A cloud-folder style JSON file of ``clients`` clients and ``appointments`` bookings."""
    data = {
        "clients": [
            {
                "id": f"c-{n}",
                "fullName": f"Client {n}",
                "tel": f"+44 20 7{n % 1000:03d} {n % 10000:04d}",
                "labels": "vip, colour" if n % 3 == 0 else "",
                "updatedAt": 1_795_000_000_000 + n,
            }
            for n in range(clients)
        ],
        "appointments": [
            {
                "id": f"a-{n}",
                "clientId": f"c-{n % clients}",
                "start": f"2026-12-{1 + n % 28:02d}T{9 + n % 8:02d}:00:00",
                "mins": 30 + n % 4 * 15,
            }
            for n in range(appointments)
        ],
    }
    source, mapping = folder / "bookings.json", folder / "mapping.yaml"
    source.write_text(json.dumps(data), encoding="utf-8")
    mapping.write_text(MAPPING, encoding="utf-8")
    return source, mapping


def import_args(source: Path, mapping: Path) -> list[str]:
    return ["import", str(source), "--mapping", str(mapping), "--json"]


def prepare(database_url: str) -> None:
    done = run_cli("migrate", database_url=database_url)
    assert done.returncode == 0, done.stderr
    done = run_cli("branch", "create", "North", "--timezone", "Europe/London", database_url=database_url)
    assert done.returncode == 0, done.stderr


async def count(database_url: str, sql: str) -> int:
    conn = await asyncpg.connect(asyncpg_url(database_url))
    try:
        value: int = await conn.fetchval(sql)
        return value
    finally:
        await conn.close()


async def contents(database_url: str) -> dict[str, Any]:
    """What an import leaves: the records' fields by id and the old ids (not times or seqs),
    with each branch named rather than by its id, which differs from one database to the next."""
    conn = await asyncpg.connect(asyncpg_url(database_url))
    try:
        branch_names = {
            str(row["id"]): row["name"] for row in await conn.fetch("SELECT id, name FROM branches")
        }
        clients = await conn.fetch("SELECT id, name, phone, tags, deleted FROM clients ORDER BY id")
        bookings = await conn.fetch(
            "SELECT id, client_id, branch_id, starts_at, duration_min FROM appointments ORDER BY id"
        )
        old_ids = await conn.fetch(
            "SELECT system, collection, legacy_id, record_id, fields FROM legacy_ids ORDER BY 1, 2, 3"
        )

        def named(text: str) -> str:
            for branch_id, name in branch_names.items():
                text = text.replace(branch_id, name)
            return text

        return {
            "clients": [tuple(row) for row in clients],
            "appointments": [(*row[:2], branch_names[str(row[2])], *row[3:]) for row in bookings],
            "legacy_ids": [(*row[:4], named(row[4])) for row in old_ids],
        }
    finally:
        await conn.close()


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)  # sleep-ok: polling a condition with a deadline


@pytest.mark.timeout(240)
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_killed_then_interrupted_run_ends_where_one_uninterrupted_run_does(
    workers: str, database_url: str, pg_admin_url: str, tmp_path: Path
) -> None:
    total = 12_000
    source, mapping = write_sources(tmp_path, clients=total, appointments=3_000)
    prepare(database_url)
    env = cli_env(database_url)
    imported = "SELECT count(*) FROM legacy_ids WHERE system = 'bench'"
    writers = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )

    def written() -> int:
        return asyncio.run(count(database_url, imported))

    run = [*CLI, *import_args(source, mapping), "--workers", workers]
    killed = subprocess.Popen(run, env=env, stdout=subprocess.DEVNULL)
    wait_for(lambda: written() >= 1_000 or killed.poll() is not None, 120, "the first batches")
    killed.kill()  # kill -9 halfway (the parent only): the batches in flight were never committed
    killed.wait(timeout=30)
    # its worker processes go with it, and with them their connections: nothing writes on
    wait_for(
        lambda: asyncio.run(count(database_url, writers)) == 0, 30, "the killed run's connections to close"
    )
    after_kill = written()
    interrupted = subprocess.Popen(
        run,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: written() >= after_kill + 1_000 or interrupted.poll() is not None, 120, "more batches")
    interrupted.send_signal(signal.SIGINT)  # Ctrl+C
    _, interrupted_err = interrupted.communicate(timeout=60)
    after_interrupt = written()
    finished = run_cli(*import_args(source, mapping), database_url=database_url, timeout=180)

    other = asyncio.run(postgres.create_database(pg_admin_url))
    try:
        prepare(other)
        straight = run_cli(*import_args(source, mapping), database_url=other, timeout=180)
        assert straight.returncode == 0, straight.stderr
        expected = asyncio.run(contents(other))
    finally:
        asyncio.run(postgres.drop_database(pg_admin_url, other))

    assert killed.returncode == -signal.SIGKILL
    assert 0 < after_kill < total + 3_000, "the kill landed after the import had finished"
    assert interrupted.returncode == 130
    assert "interrupted" in interrupted_err and "run the same command again" in interrupted_err
    assert after_kill < after_interrupt < total + 3_000
    assert finished.returncode == 0, finished.stderr
    summary = json.loads(finished.stdout)
    assert summary["by_type"]["clients"]["unchanged"] + summary["by_type"]["clients"]["created"] == total
    assert summary["written"] == total + 3_000 - after_interrupt
    assert asyncio.run(contents(database_url)) == expected
    assert len(expected["clients"]) == total and len(expected["appointments"]) == 3_000


@pytest.mark.timeout(120)
async def test_a_connected_branch_sees_the_records_arrive_while_the_import_writes(
    database_url: str, tmp_path: Path
) -> None:
    source, mapping = write_sources(tmp_path, clients=6_000)
    with live_server(Settings(database_url=database_url)) as server:
        device = await enrolled_device(server.url, database_url)
        socket = await open_socket(server.ws_url, device)
        try:
            hello = await next_frame(socket)
            assert hello["type"] == "hello"
            process = await asyncio.create_subprocess_exec(
                *CLI, *import_args(source, mapping), env=cli_env(database_url), stdout=asyncio.subprocess.PIPE
            )
            received: set[str] = set()
            first_frame_while_running: bool | None = None
            async with asyncio.timeout(90):
                while len(received) < 6_000:
                    frame = await next_frame(socket, timeout=60)
                    if frame["type"] != "changes":
                        continue
                    if first_frame_while_running is None:
                        first_frame_while_running = process.returncode is None
                    received |= {c["row_id"] for c in frame["changes"] if c["collection"] == "clients"}
                output, _ = await process.communicate()
        finally:
            await socket.close()

    assert process.returncode == 0
    assert json.loads(output)["by_type"]["clients"]["created"] == 6_000
    assert len(received) == 6_000
    assert first_frame_while_running, "no change reached the branch before the import had finished"
