"""``branchsync enroll``, ``sync --once`` and ``run`` as IT scripts use them, against a real server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from desktop.cache import Cache
from desktop.cli import main
from desktop.config.credentials import TOKEN_FILENAME
from desktop.demo.link_proxy import LinkProxy
from tests.support.desktop_engine import wait_until
from tests.support.devices import issue_code
from tests.support.live_server import LiveServer, free_port
from tests.support.server_rows import server_rows

CLI = [sys.executable, "-m", "desktop.cli"]


def _code(database_url: str, branch: str = "North") -> str:
    return asyncio.run(issue_code(database_url, branch))


def _enroll(data_dir: Path, server_url: str, code: str, *extra: str) -> int:
    return main(["--data-dir", str(data_dir), "enroll", "--server", server_url, "--code", code, *extra])


def test_enroll_then_sync_once(
    sync_server: LiveServer, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "pc"
    assert _enroll(data_dir, sync_server.url, _code(database_url), "--name", "Front desk") == 0
    assert "branch North" in capsys.readouterr().out
    token_file = data_dir / TOKEN_FILENAME
    assert token_file.stat().st_mode & 0o777 == 0o600
    token = token_file.read_text()
    assert token.encode() not in (data_dir / "branchsync.sqlite3").read_bytes()  # never in the cache

    with Cache(data_dir) as cache:
        row_id = cache.create("clients", {"name": "Ada"})
    assert main(["--data-dir", str(data_dir), "sync", "--once", "--timeout", "30"]) == 0
    assert "0 pending" in capsys.readouterr().out
    assert set(server_rows(database_url)) == {row_id}
    assert main(["--data-dir", str(data_dir), "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["branch"], status["pending"], status["cursor"]) == ("North", 0, 1)
    assert status["last_sync"] is not None and status["online"] is False


@pytest.fixture
def pc_behind_proxy(proxy: LinkProxy, database_url: str, tmp_path: Path) -> Path:
    """The data dir of a PC enrolled (by the command line) through the proxy."""
    data_dir = tmp_path / "pc"
    assert _enroll(data_dir, proxy.url, _code(database_url)) == 0
    return data_dir


def test_sync_once_against_an_unreachable_server_exits_3_and_keeps_the_changes(
    pc_behind_proxy: Path, proxy: LinkProxy, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with Cache(pc_behind_proxy) as cache:
        for n in range(3):
            cache.create("clients", {"name": f"client {n}"})
    proxy.cut()
    assert main(["--data-dir", str(pc_behind_proxy), "sync", "--once"]) == 3
    assert "3 change(s) pending" in capsys.readouterr().err
    proxy.restore()
    assert main(["--data-dir", str(pc_behind_proxy), "sync", "--once"]) == 0
    assert len(server_rows(database_url)) == 3


def test_sync_once_that_cannot_finish_in_time_exits_3(
    pc_behind_proxy: Path, proxy: LinkProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    with Cache(pc_behind_proxy) as cache:
        cache.create("clients", {"name": "Stuck"})
    proxy.stall()
    assert main(["--data-dir", str(pc_behind_proxy), "sync", "--once", "--timeout", "0.5"]) == 3
    assert "not done after 0.5 s" in capsys.readouterr().err


def test_sync_before_enrolling_says_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path / "new"), "sync", "--once"]) == 2
    assert "branchsync enroll" in capsys.readouterr().err


@pytest.mark.parametrize("problem", ["invalid", "used", "expired"])
def test_enroll_with_a_bad_code_is_refused_clearly(
    problem: str,
    sync_server: LiveServer,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = "NOT-A-CODE" if problem == "invalid" else _code(database_url)
    if problem == "used":
        assert _enroll(tmp_path / "first", sync_server.url, code) == 0
    if problem == "expired":

        async def expire() -> None:
            conn = await asyncpg.connect(database_url)
            try:
                await conn.execute("UPDATE enroll_codes SET expires_at = now() - interval '1 hour'")
            finally:
                await conn.close()

        asyncio.run(expire())
    capsys.readouterr()
    assert _enroll(tmp_path / "pc", sync_server.url, code) == 1
    err = capsys.readouterr().err
    assert f"enroll_code_{problem}" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    with Cache(tmp_path / "pc") as cache:
        assert not cache.state().enrolled


def test_enroll_against_an_unreachable_server_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _enroll(tmp_path / "pc", f"http://127.0.0.1:{free_port()}", "ABC") == 3
    assert "cannot reach the server" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["ftp://example.com", "sync.example.com", "https://"])
def test_enroll_with_a_bad_server_url_exits_2(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _enroll(tmp_path / "pc", url, "ABC") == 2
    assert "server URL" in capsys.readouterr().err


def test_enrolling_a_data_dir_with_another_server_is_refused(
    sync_server: LiveServer, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _enroll(tmp_path / "pc", sync_server.url, _code(database_url)) == 0
    assert _enroll(tmp_path / "pc", "http://127.0.0.1:9", _code(database_url)) == 2
    assert "another data folder" in capsys.readouterr().err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_stays_connected_until_a_signal_then_exits_cleanly(
    signum: signal.Signals, sync_server: LiveServer, database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "pc"
    assert _enroll(data_dir, sync_server.url, _code(database_url)) == 0
    engine = subprocess.Popen(
        [*CLI, "--data-dir", str(data_dir), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        with Cache(data_dir) as cache:
            wait_until(lambda: cache.state().online, 30, "the engine online")
            row_id = cache.create("clients", {"name": "Written while running"})
            wait_until(lambda: row_id in server_rows(database_url), 5, "the row on the server")
            # "online" is printed once the engine has its own write back; the row on the
            # server alone may come while it still syncs (and a signal then ends it syncing)
            wait_until(
                lambda: cache.state().cursor == 1 and cache.counts().pending == 0,
                10,
                "the engine caught up with its own write",
            )
        engine.send_signal(signum)
        out, err = engine.communicate(timeout=30)
    finally:
        engine.kill()
    assert engine.returncode == 0, err
    assert "online" in out
    with Cache(data_dir) as cache:
        assert cache.state().online is False
