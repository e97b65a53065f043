"""A server that no longer speaks this app's protocol: sync stops with "update required",
the app says so, and local work goes on offline until the app is updated.

The server is the real one (v1); the app is made older than it by having it announce
protocol 0 in ``Branchsync-Protocol``, which is exactly what an outdated install sends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.cli import main
from desktop.sync import http_client
from desktop.sync.status import EngineState, Halt
from desktop.ui.status_bar import describe
from tests.support.desktop_engine import enrolled_installation, wait_until
from tests.support.live_server import LiveServer
from tests.support.server_rows import server_rows


def test_update_required_halts_sync_and_local_work_goes_on(
    sync_server: LiveServer,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with enrolled_installation(sync_server.url, database_url, tmp_path / "pc") as pc:
        monkeypatch.setattr(http_client, "PROTOCOL_VERSION", 0)  # the server moved on; this app did not
        first = pc.cache.create("clients", {"name": "Ada"})
        pc.start()
        wait_until(lambda: (s := pc.status) is not None and s.halted is Halt.UPDATE_REQUIRED, what="halt")
        status = pc.status
        assert status is not None and status.state is EngineState.OFFLINE
        assert "newer version" in (status.last_error or "")
        assert "the server needs a newer Branchsync" in describe(status).text  # the status bar's words

        second = pc.cache.create("clients", {"name": "Grace"})  # the branch keeps working offline
        assert pc.cache.counts().pending == 2
        assert pc.engine is not None and pc.engine.running and pc.engine.error is None
        assert main(["--data-dir", str(pc.data_dir), "sync", "--once", "--timeout", "20"]) == 1
        err = capsys.readouterr().err
        assert "newer version" in err and "2 change(s) pending" in err
        assert server_rows(database_url) == {}
        pc.stop()

        monkeypatch.undo()  # the app is updated
        pc.start()
        pc.wait_synced()
    assert set(server_rows(database_url)) == {first, second}
