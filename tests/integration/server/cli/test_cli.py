"""``branchsync-server`` run as real subprocesses, as IT and scripts run it.

Covers both database paths: ``DATABASE_URL`` (the test PostgreSQL) and the embedded
PostgreSQL under ``--data-dir``, with admin commands run while ``serve`` holds it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path

import httpx
import pytest

from server.settings import Settings
from server.store import migrate
from tests.support.devices import protocol_headers
from tests.support.live_server import free_port, live_server
from tests.support.server_process import CLI, cli_env, run_cli


def ok_json(*args: str, database_url: str | None) -> object:
    done = run_cli(*args, "--json", database_url=database_url)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def assert_one_line_error(done: subprocess.CompletedProcess[str], *, contains: str) -> None:
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("branchsync-server: error: ")
    assert contains in done.stderr


def enrol(server_url: str, code: str, name: str) -> dict[str, str]:
    answer = httpx.post(
        f"{server_url}/api/v1/enroll", json={"code": code, "device_name": name}, headers=protocol_headers()
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, str] = answer.json()
    return body


def test_the_console_script_is_this_cli() -> None:
    (script,) = entry_points(group="console_scripts", name="branchsync-server")

    assert script.value == "server.cli:main"


def test_branches_and_codes_with_database_url(database_url: str) -> None:
    assert ok_json("migrate", database_url=database_url) == {"revision": migrate.head_revision()}

    made = ok_json("branch", "create", "North", database_url=database_url)
    again = run_cli("branch", "create", " North ", database_url=database_url)
    ok_json("branch", "create", "South", database_url=database_url)
    listed = ok_json("branch", "list", database_url=database_url)
    codes = ok_json(
        "enroll-code", "--branch", "North", "--count", "3", "--ttl-hours", "2", database_url=database_url
    )

    assert isinstance(made, dict) and made["name"] == "North" and uuid.UUID(made["id"])
    assert_one_line_error(again, contains="branch 'North' already exists")
    assert listed == [made, {"id": listed[1]["id"], "name": "South", "timezone": None}]  # type: ignore[index]
    assert isinstance(codes, list) and len({c["code"] for c in codes}) == 3
    for code in codes:
        assert code["branch"] == "North"
        expires = datetime.fromisoformat(code["expires_at"])
        assert abs(expires - (datetime.now(UTC) + timedelta(hours=2))) < timedelta(minutes=1)


def test_branches_get_time_zones_and_new_names(database_url: str) -> None:
    made = ok_json("branch", "create", "North", "--timezone", "europe/vienna", database_url=database_url)
    ok_json("branch", "create", "South", database_url=database_url)
    zoned = ok_json("branch", "update", "South", "--timezone", "America/New_York", database_url=database_url)
    renamed = run_cli("branch", "update", "North", "--rename", "North East", database_url=database_url)
    taken = run_cli("branch", "update", "North East", "--rename", "South", database_url=database_url)
    table = run_cli("branch", "list", database_url=database_url)
    cleared = ok_json("branch", "update", "South", "--timezone", "", database_url=database_url)
    listed = ok_json("branch", "list", database_url=database_url)

    assert isinstance(made, dict) and made["timezone"] == "Europe/Vienna"
    assert isinstance(zoned, dict) and zoned["name"] == "South" and zoned["timezone"] == "America/New_York"
    assert renamed.returncode == 0, renamed.stderr
    assert renamed.stdout == f"updated branch North East ({made['id']}), time zone Europe/Vienna\n"
    assert_one_line_error(taken, contains="branch 'South' already exists")
    assert table.stdout.splitlines()[0].split() == ["ID", "NAME", "TIMEZONE"]
    assert table.stdout.splitlines()[1].split()[1:] == ["North", "East", "Europe/Vienna"]
    assert table.stdout.splitlines()[2].split()[1:] == ["South", "America/New_York"]
    assert isinstance(cleared, dict) and cleared["timezone"] is None
    assert listed == [
        {"id": made["id"], "name": "North East", "timezone": "Europe/Vienna"},
        {"id": zoned["id"], "name": "South", "timezone": None},
    ]


def test_devices_are_listed_and_revoked(database_url: str) -> None:
    with live_server(Settings(database_url=database_url)) as server:
        ok_json("branch", "create", "North", database_url=database_url)
        codes = ok_json("enroll-code", "--branch", "North", "--count", "2", database_url=database_url)
        assert isinstance(codes, list)
        till = enrol(server.url, codes[0]["code"], "Till 1")
        enrol(server.url, codes[1]["code"], "Till 2")

        revoked = run_cli("device", "revoke", till["device_id"], database_url=database_url)
        listed = ok_json("device", "list", database_url=database_url)
        with httpx.Client(base_url=server.url) as client:
            health = client.get("/healthz")

    assert revoked.returncode == 0, revoked.stderr
    assert till["device_id"] in revoked.stdout
    assert health.status_code == 200
    assert isinstance(listed, list)
    by_name = {d["name"]: d for d in listed}
    assert set(by_name) == {"Till 1", "Till 2"}
    assert by_name["Till 1"]["revoked"] is True and by_name["Till 2"]["revoked"] is False
    assert set(by_name["Till 1"]) == {"id", "name", "branch", "enrolled_at", "last_seen", "revoked"}
    assert by_name["Till 1"]["id"] == till["device_id"] and by_name["Till 1"]["branch"] == "North"


@pytest.mark.parametrize(
    ("args", "url", "message"),
    [
        (["branch", "list"], "postgresql://postgres@127.0.0.1:1/nowhere", "cannot reach PostgreSQL"),
        (["migrate"], "postgresql://postgres@127.0.0.1:1/nowhere", "cannot reach PostgreSQL"),
        (["branch", "list"], "mysql://root@127.0.0.1/x", "DATABASE_URL must be a postgresql:// URL"),
        (["device", "revoke", "not-a-uuid"], None, "is not a device id"),
        (["device", "revoke", str(uuid.UUID(int=7))], None, "no device 00000000-0000-0000-0000-000000000007"),
        (["enroll-code", "--branch", "Nowhere"], None, "no branch named 'Nowhere'"),
        (["enroll-code", "--branch", "North", "--count", "0"], None, "count must be between 1 and 1000"),
        (["branch", "create", "   "], None, "must not be empty"),
        (
            ["branch", "create", "North", "--timezone", "Europe/Vienn"],
            None,
            "unknown time zone 'Europe/Vienn'; use an IANA name such as Europe/Vienna",
        ),
        (["branch", "update", "Nowhere", "--timezone", "UTC"], None, "no branch named 'Nowhere'"),
        (["branch", "update", "Nowhere"], None, "nothing to change: give a time zone (--timezone)"),
    ],
)
def test_failures_are_one_line_and_exit_1(
    database_url: str, args: list[str], url: str | None, message: str
) -> None:
    done = run_cli(*args, database_url=url or database_url)

    assert_one_line_error(done, contains=message)


def test_serve_fails_in_one_line_when_postgres_is_unreachable_and_it_may_not_wait() -> None:
    done = run_cli(
        "serve",
        "--port",
        str(free_port()),
        database_url="postgresql://postgres@127.0.0.1:1/x",
        DB_START_WAIT_S="0",
    )

    assert_one_line_error(done, contains="cannot reach PostgreSQL at 127.0.0.1:1/x")


def test_a_malformed_command_line_exits_2_with_usage() -> None:
    done = run_cli("branch", database_url=None)

    assert done.returncode == 2
    assert "usage: branchsync-server branch" in done.stderr and "Traceback" not in done.stderr


# ---- the embedded PostgreSQL ------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "server-data"
    postmaster = tmp_path / "server-data" / "pgdata" / "postmaster.pid"
    assert not postmaster.exists(), "the embedded PostgreSQL was left running"


def _wait_healthy(url: str, serve: subprocess.Popen[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert serve.poll() is None, f"serve exited early: {serve.communicate()[1]}"
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # sleep-ok: polling a condition with a deadline
    raise TimeoutError("serve did not become healthy")


def test_embedded_serve_and_admin_commands_share_the_data_dir(data_dir: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    admin = ["--data-dir", str(data_dir)]
    serve = subprocess.Popen(
        [*CLI, "serve", "--port", str(port), *admin],
        env=cli_env(None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_healthy(url, serve)
        made = ok_json("branch", "create", "North", *admin, database_url=None)
        codes = ok_json("enroll-code", "--branch", "North", *admin, database_url=None)
        assert isinstance(codes, list)
        device = enrol(url, codes[0]["code"], "Front desk")
        listed = ok_json("device", "list", *admin, database_url=None)
        revoked = run_cli("device", "revoke", device["device_id"], *admin, database_url=None)
    finally:
        serve.send_signal(signal.SIGTERM)
        _, log = serve.communicate(timeout=60)

    assert serve.returncode == 0, log
    assert f"Branchsync server on http://127.0.0.1:{port}" in log and str(data_dir) in log
    assert "Traceback" not in log
    assert isinstance(made, dict)
    assert device["branch"] == {"id": made["id"], "name": "North", "timezone": None}  # type: ignore[comparison-overlap]
    assert isinstance(listed, list) and [d["name"] for d in listed] == ["Front desk"]
    assert revoked.returncode == 0, revoked.stderr
    # the server is gone: an admin command starts the cluster alone, finds the data, stops it again
    assert ok_json("branch", "list", *admin, database_url=None) == [made]
