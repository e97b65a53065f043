"""The server rides out its database: it waits for it at start, answers 503 while it is
down, and serves (sockets included) again once it is back, with no one restarting it
(issue 12). PostgreSQL here is a private cluster this test owns, never the shared one."""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import httpx
import pytest

from server.settings import Settings
from tests.support.desktop_engine import wait_until
from tests.support.devices import Device, enrolled_device
from tests.support.live_server import free_port, live_server
from tests.support.private_postgres import PrivateCluster, private_cluster
from tests.support.server_process import CLI, cli_env, stop_process
from tests.support.sync_client import mutation, stamper
from tests.support.sync_socket import open_socket

PUSH = "/api/v1/sync/push"


@contextmanager
def _serve(database_url: str, log: IO[str], **settings: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        env=cli_env(database_url, **settings),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield f"127.0.0.1:{port}", process
    finally:
        stop_process(process)


def _log_text(log: IO[str]) -> str:
    log.flush()
    log.seek(0)
    return log.read()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def stopped_cluster() -> Iterator[tuple[PrivateCluster, str]]:
    with private_cluster() as cluster:
        url = cluster.create_database("branchsync")
        cluster.stop()
        yield cluster, url


async def _push_one(http: httpx.AsyncClient, device: Device, name: str) -> httpx.Response:
    return await http.post(
        PUSH, json={"mutations": [mutation(stamper(device).now(), {"name": name})]}, headers=device.headers
    )


async def test_serve_waits_for_its_database_then_rides_out_a_restart(
    stopped_cluster: tuple[PrivateCluster, str],
) -> None:
    cluster, database_url = stopped_cluster
    with (
        tempfile.TemporaryFile("w+") as log,
        _serve(database_url, log, DB_START_WAIT_S="120") as (host, process),
    ):
        url = f"http://{host}"
        await asyncio.to_thread(
            wait_until, lambda: "waiting for PostgreSQL" in _log_text(log), 60, "a waiting line"
        )
        assert process.poll() is None, _log_text(log)

        await asyncio.to_thread(cluster.start)
        await asyncio.to_thread(wait_until, lambda: _ready(url), 60, "ready once PostgreSQL is up")
        assert "answered after" in _log_text(log)
        north = await enrolled_device(url, database_url, "North")
        south = await enrolled_device(url, database_url, "South")
        socket = await open_socket(f"ws://{host}", south)
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "hello"

        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            assert (await _push_one(http, north, "Before")).status_code == 200
            await asyncio.to_thread(cluster.stop, "fast")

            started = time.monotonic()
            refused = await _push_one(http, north, "During")
            took = time.monotonic() - started
            not_ready = await http.get("/readyz")

            assert refused.status_code == 503, refused.text
            assert refused.json()["error"]["code"] == "unavailable"
            assert int(refused.headers["Retry-After"]) > 0
            assert took < 10, f"a push during the outage took {took:.1f} s to be refused"
            assert not_ready.status_code == 503 and "unreachable" in not_ready.text

            await asyncio.to_thread(cluster.start)
            deadline = time.monotonic() + 60
            while (answer := await _push_one(http, north, "After")).status_code != 200:
                assert answer.status_code == 503, answer.text  # never a 500 on the way back
                assert time.monotonic() < deadline, "pushes did not recover after PostgreSQL came back"
                await asyncio.sleep(0.2)  # sleep-ok: retrying as Retry-After tells a client to
            after_seq = answer.json()["results"][0]["seq"]

        names: list[str] = []
        async with asyncio.timeout(30):  # the socket opened before the outage hears the new write
            while True:
                frame = json.loads(await socket.recv())
                if frame["type"] == "changes":
                    names += [change["fields"].get("name") for change in frame["changes"]]
                    if frame["to"] >= after_seq:
                        break
        await socket.close()
        assert "After" in names
        assert process.poll() is None


def test_serve_gives_up_after_its_wait_with_one_line(stopped_cluster: tuple[PrivateCluster, str]) -> None:
    _, database_url = stopped_cluster
    with tempfile.TemporaryFile("w+") as log, _serve(database_url, log, DB_START_WAIT_S="2") as (_, process):
        code = process.wait(timeout=60)
        text = _log_text(log)

    assert code == 1
    assert "cannot reach PostgreSQL at 127.0.0.1:" in text and "after waiting" in text
    assert "Traceback" not in text


def test_the_apps_own_start_waits_for_its_database(stopped_cluster: tuple[PrivateCluster, str]) -> None:
    """The lifespan's own reads (migrations, the epoch, the fan-out's head) ride out a database
    that drops while the server starts, as ``serve``'s check before it does (found by the chaos
    soak: a server restarted while PostgreSQL restarted exited with "Application startup failed")."""
    cluster, database_url = stopped_cluster
    comes_back = threading.Timer(2.0, cluster.start)  # the outage's length, not a synchronisation
    comes_back.start()
    try:
        settings = Settings(database_url=database_url, db_start_wait_s=60)
        with live_server(settings, startup_timeout=90) as server:
            assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
    finally:
        comes_back.join()
