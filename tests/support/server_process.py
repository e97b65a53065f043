"""The server and its admin CLI as real subprocesses (``python -m server ...``).

For tests that need more than one server process on one database, or that must kill
or restart a server, and for running admin commands the way an operator does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import IO

import httpx

from tests.support.live_server import free_port
from tests.support.releases import CURRENT, Release

__all__ = [
    "CLI",
    "ServerProcess",
    "cli_env",
    "run_cli",
    "server_processes",
    "start_server",
    "stop_process",
    "wait_healthy",
]

CLI = [sys.executable, "-m", "server"]


def cli_env(database_url: str | None, **settings: str) -> dict[str, str]:
    """This environment without Branchsync settings, plus ``DATABASE_URL`` and ``settings``
    (``BRANCHSYNC_<NAME>`` variables, e.g. ``WS_QUEUE_FRAMES="4"``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRANCHSYNC_") and k != "DATABASE_URL"}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env.update({f"BRANCHSYNC_{name.upper()}": value for name, value in settings.items()})
    return env


def run_cli(
    *args: str, database_url: str | None, timeout: float = 60, release: Release = CURRENT, **settings: str
) -> subprocess.CompletedProcess[str]:
    """Run one ``branchsync-server`` command (of ``release``) to completion (``settings`` as for
    ``cli_env``)."""
    return subprocess.run(
        [*CLI, *args],
        env=release.env(cli_env(database_url, **settings)),
        cwd=release.cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass(frozen=True)
class ServerProcess:
    url: str
    ws_url: str
    process: subprocess.Popen[str]


@contextmanager
def server_processes(
    database_url: str,
    count: int = 1,
    *,
    python_options: Sequence[str] = (),
    release: Release = CURRENT,
    **settings: str,
) -> Iterator[list[ServerProcess]]:
    """``count`` processes of ``branchsync-server serve`` (of ``release``), started together, each
    on a free port and healthy; stopped with SIGTERM afterwards.

    ``python_options`` go before ``-m server`` (``["-m", "cProfile", "-o", FILE]`` profiles it).
    """
    with ExitStack() as stack:
        started: list[tuple[ServerProcess, IO[str]]] = []
        for _ in range(count):
            # the log goes to a file, not a pipe: a chatty server never blocks on it
            log: IO[str] = stack.enter_context(tempfile.TemporaryFile("w+"))
            server = start_server(
                database_url, free_port(), log, python_options=python_options, release=release, **settings
            )
            stack.callback(stop_process, server.process)
            started.append((server, log))
        for server, log in started:
            wait_healthy(server, log, timeout=60)
        yield [server for server, _ in started]


def start_server(
    database_url: str,
    port: int,
    log: IO[str],
    *,
    python_options: Sequence[str] = (),
    release: Release = CURRENT,
    **settings: str,
) -> ServerProcess:
    """Start one ``serve`` (of ``release``) on ``port`` (the port of one killed before, say),
    logging to ``log``; it is not healthy yet (``wait_healthy``)."""
    process = subprocess.Popen(
        [sys.executable, *python_options, *CLI[1:], "serve", "--port", str(port)],
        env=release.env(cli_env(database_url, **settings)),
        cwd=release.cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return ServerProcess(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", process)


def stop_process(process: subprocess.Popen[str] | subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM, and SIGKILL if it has not exited within ``timeout`` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_healthy(server: ServerProcess, log: IO[str], timeout: float) -> None:
    """Until ``/healthz`` answers 200; RuntimeError if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"serve exited early: {log.read()[-2000:]}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)  # sleep-ok: polling a condition with a deadline
    raise TimeoutError(f"serve on {server.url} did not become healthy in {timeout} s")
