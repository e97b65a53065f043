"""The engine killed with SIGKILL in the middle of a push, then started again:
nothing lost, nothing doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from desktop.demo.link_proxy import LinkProxy
from tests.support.desktop_engine import Installation, wait_until
from tests.support.server_rows import server_count, server_rows

EDITS = 3000
BATCH = 500


def test_kill_9_in_the_middle_of_a_push_loses_and_doubles_nothing(
    north: Installation, proxy: LinkProxy, database_url: str, tmp_path: Path
) -> None:
    with north.cache.batch() as writer:
        ids = {writer.create("clients", {"name": f"client {n}"}) for n in range(EDITS)}
    proxy.slow(0.3)  # every push takes a while, so the kill lands inside one
    with (tmp_path / "run.log").open("w") as log:
        engine = subprocess.Popen(
            [sys.executable, "-m", "desktop.cli", "--data-dir", str(north.data_dir), "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: north.cache.counts().pending <= EDITS - BATCH, 30, "the first batch answered")
            # the next batch reaches the server, which applies it, but its answer never comes back
            proxy.stall("to_client")
            wait_until(
                lambda: server_count(database_url, "applied_mutations") >= 2 * BATCH,
                30,
                "a second batch applied",
            )
            assert north.cache.counts().pending > EDITS - 2 * BATCH  # ... and still queued here
            os.kill(engine.pid, signal.SIGKILL)
        finally:
            engine.kill()
            engine.wait(timeout=30)
    assert engine.returncode == -signal.SIGKILL

    proxy.restore()
    north.start()
    north.wait_synced(60)
    assert set(server_rows(database_url)) == ids
    assert server_count(database_url, "applied_mutations") == EDITS
    assert server_count(database_url, "rejections") == 0
    assert north.cache.count("clients") == EDITS
    counts = north.cache.counts()
    assert (counts.pending, counts.rejected, counts.conflicts) == (0, 0, 0)
