"""The demo's server: ``branchsync-server`` in a child process, administered as IT would.

The server runs as its own process (``python -m server serve``), on an embedded
PostgreSQL in the demo's temporary folder unless a ``DATABASE_URL`` is given.
Branches and enrolment codes are made with the same admin commands IT uses
(``branch create``, ``enroll-code --json``), so the demo shows the real setup.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

__all__ = ["DemoServer", "DemoServerError"]

START_TIMEOUT = 120.0
"""Seconds the first start may take (the embedded PostgreSQL initialises its cluster)."""
ADMIN_TIMEOUT = 60.0


class DemoServerError(Exception):
    """The demo server could not be started or administered; the message says why."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class DemoServer:
    """A ``branchsync-server`` child process on a free loopback port.

    Args:
        data_dir: the server's data folder (its embedded PostgreSQL lives there).
        database_url: an existing PostgreSQL to use instead (``DATABASE_URL``).
    """

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = dict(os.environ)
        self._env.pop("DATABASE_URL", None)
        if database_url:
            self._env["DATABASE_URL"] = database_url
        self._log = data_dir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    def _command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "server", *args, "--data-dir", str(self.data_dir)]

    def start(self) -> DemoServer:
        """Start the server and wait until it answers ``/healthz``.

        Raises:
            DemoServerError: it exited or did not answer in time (its log is quoted).
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(
                self._command("serve", "--port", str(self.port)), env=self._env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._healthy():
            if self._process.poll() is not None:
                raise DemoServerError(f"the server exited (code {self._process.returncode}):\n{self._tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise DemoServerError(
                    f"the server did not answer within {START_TIMEOUT:.0f} s:\n{self._tail()}"
                )
            time.sleep(0.2)  # sleep-ok: polling a child process with a deadline
        return self

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).is_success
        except httpx.HTTPError:
            return False

    def _tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def admin(self, *args: str) -> object:
        """Run an admin command with ``--json`` and return what it printed.

        Raises:
            DemoServerError: the command failed (its one-line error is quoted).
        """
        done = subprocess.run(
            [*self._command(*args), "--json"],
            env=self._env,
            capture_output=True,
            timeout=ADMIN_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise DemoServerError(
                f"`branchsync-server {' '.join(args)}` failed: {done.stderr.decode().strip()}"
            )
        return json.loads(done.stdout)

    def branch_and_code(self, name: str) -> tuple[str, str]:
        """Create branch ``name`` and issue one enrolment code for it; (branch id, code)."""
        branch = self.admin("branch", "create", name)
        issued = self.admin("enroll-code", "--branch", name)
        if not (
            isinstance(branch, dict) and isinstance(issued, list) and issued and isinstance(issued[0], dict)
        ):
            raise DemoServerError(f"unexpected answers from the admin commands: {branch!r}, {issued!r}")
        return str(branch["id"]), str(issued[0]["code"])

    def stop(self) -> None:
        """Stop the server (SIGTERM, then kill after 20 s); it stops its embedded PostgreSQL."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
