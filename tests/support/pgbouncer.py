"""A private PgBouncer (the Debian package's binary) in front of the test's PostgreSQL.

Transaction pooling on a free loopback port, trusting every user it is told of, no Unix
socket, logging to its stderr. PgBouncer refuses to run as root, so as root (CI) it is
started with ``-u nobody`` from a directory anybody can read. A missing binary fails the
test with what to install: ``scripts/test`` installs it, and nothing is skipped silently.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.support.live_server import free_port
from tests.support.server_process import stop_process

__all__ = ["PgBouncer", "pgbouncer"]

_SEARCH = ("/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin")


@dataclass(frozen=True)
class PgBouncer:
    port: int

    def url_for(self, database_url: str) -> str:
        """``database_url`` (same user and database) through this PgBouncer."""
        parts = urlsplit(database_url)
        user = parts.username or "postgres"
        return urlunsplit((parts.scheme, f"{user}@127.0.0.1:{self.port}", parts.path, "", ""))


def _binary() -> str:
    found = shutil.which("pgbouncer") or next(
        (str(Path(d) / "pgbouncer") for d in _SEARCH if (Path(d) / "pgbouncer").is_file()), None
    )
    if found is None:
        pytest.fail("pgbouncer is not installed: apt-get install pgbouncer (scripts/test does it)")
    return found


@contextmanager
def pgbouncer(database_url: str, *, pool_size: int = 4, startup_timeout: float = 15.0) -> Iterator[PgBouncer]:
    """Run PgBouncer in transaction mode in front of ``database_url``'s server."""
    upstream = urlsplit(database_url)
    user = upstream.username or "postgres"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="branchsync-pgbouncer-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)
        (folder / "users.txt").write_text(f'"{user}" ""\n')
        (folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={upstream.hostname or '127.0.0.1'} port={upstream.port or 5432}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {folder / 'users.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\n"
            "max_client_conn = 500\n"
            f"stats_users = {user}\n"
            "server_reset_query =\n"
            "ignore_startup_parameters = extra_float_digits\n"
        )
        for name in ("users.txt", "pgbouncer.ini"):
            (folder / name).chmod(0o644)
        command = [_binary(), str(folder / "pgbouncer.ini")]
        if os.geteuid() == 0:
            command[1:1] = ["-u", "nobody"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_listening(port, process, startup_timeout)
            yield PgBouncer(port)
        finally:
            stop_process(process, timeout=10)
            if process.stderr is not None:
                process.stderr.close()


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise RuntimeError(f"pgbouncer exited with {process.returncode}: {error[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"pgbouncer did not listen on port {port} in time") from None
            time.sleep(0.02)  # sleep-ok: polling a condition with a deadline
