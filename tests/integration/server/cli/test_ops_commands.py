"""``branchsync-server backup|restore|admin create-user`` as real subprocesses, on the
embedded PostgreSQL 18 (where ``serve`` makes automatic backups by default)."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import free_port
from tests.support.scrape import Samples, value, wait_for_metric
from tests.support.server_process import CLI, cli_env


def cli(
    *args: str, database_url: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=cli_env(database_url),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def cli_json(*args: str, database_url: str | None = None, stdin: str | None = None) -> object:
    done = cli(*args, "--json", database_url=database_url, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _backed_up_once(samples: Samples) -> bool:
    return (value(samples, "branchsync_backups_total", result="success") or 0) >= 1


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "server-data"
    assert not (tmp_path / "server-data" / "pgdata" / "postmaster.pid").exists(), (
        "embedded PostgreSQL left running"
    )


async def test_embedded_automatic_backup_then_backup_and_restore_by_hand(
    data_dir: Path, tmp_path: Path
) -> None:
    port = free_port()
    admin = ["--data-dir", str(data_dir)]
    with (tmp_path / "serve.log").open("w+") as log_file:  # a file, not a pipe: serve never blocks on it
        serve = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), *admin], env=cli_env(None), stderr=log_file
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                samples = await wait_for_metric(client, _backed_up_once, timeout=90)
            assert value(samples, "branchsync_backup_schedule_enabled") == 1
            automatic = sorted((data_dir / "backups").glob("branchsync-*.dump"))
            cli_json("branch", "create", "North", *admin)
            cli_json("branch", "create", "South", *admin)
            made = cli_json("backup", "--to", str(tmp_path / "by-hand"), *admin)
            cli_json("branch", "create", "East", *admin)
        finally:
            serve.send_signal(signal.SIGTERM)
            serve.wait(timeout=60)
        log_file.seek(0)
        log = log_file.read()
    assert serve.returncode == 0, log
    assert len(automatic) == 1 and automatic[0].with_name(automatic[0].name + ".json").is_file()
    lines = [json.loads(line) for line in log.splitlines()]  # not a terminal: JSON lines only
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any("Branchsync server on" in line["message"] for line in lines)

    assert isinstance(made, dict) and made["row_counts"]["branches"] == 2
    refused = cli("restore", made["file"], *admin)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "not empty" in refused.stderr and "--force" in refused.stderr
    restored = cli_json("restore", made["file"], "--force", *admin)
    assert isinstance(restored, dict) and restored["replaced"] is True and restored["epoch"] != made["epoch"]
    branches = cli_json("branch", "list", *admin)
    assert isinstance(branches, list) and [b["name"] for b in branches] == ["North", "South"]


def test_restore_of_a_missing_file_is_one_line(database_url: str, tmp_path: Path) -> None:
    done = cli("restore", str(tmp_path / "nope.dump"), database_url=database_url)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("branchsync-server: error: ") and "nope.dump.json is missing" in done.stderr


def test_admin_create_user_sets_and_resets_a_password(database_url: str) -> None:
    created = cli_json(
        "admin", "create-user", "alice", database_url=database_url, stdin="correct horse battery\n"
    )
    reset = cli_json(
        "admin", "create-user", "alice", database_url=database_url, stdin="another long secret\n"
    )
    short = cli("admin", "create-user", "bob", database_url=database_url, stdin="short\n")
    assert created == {"name": "alice", "created": True}
    assert reset == {"name": "alice", "created": False}
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
