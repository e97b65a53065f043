"""Consistent backups with ``pg_dump`` and verified restores with ``pg_restore``.

A backup exports a snapshot from a REPEATABLE READ transaction, counts every table's
rows and reads the schema revision, head change number and epoch *in that snapshot*,
then has ``pg_dump --snapshot`` dump exactly the same state. The manifest therefore
describes the dump precisely, and a restore proves it got everything back by
counting again.

A restore goes only into an empty database unless forced, checks the dump's checksum
first, and ends by giving the database a NEW epoch: the change numbers just went
back in time, so every device must pull again from 0 and push back what it has that
is newer (ARCHITECTURE.md, ``epoch``).

``pg_restore`` writes a SQL script that ``psql`` runs in one transaction, rather than
talking to the server itself, because newer ``pg_restore`` versions emit settings
older servers do not know (``transaction_timeout`` before PostgreSQL 17); the pipe
drops those lines for such servers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from server.errors import BackupError, RestoreRefused
from server.ops.backup_files import (
    Manifest,
    backup_name,
    prune,
    read_manifest,
    sha256_of,
    verify_checksum,
    write_manifest,
)
from server.ops.pg_tools import PgTools, find_pg_tools, libpq_target
from server.store.engine import asyncpg_url
from server.store.ops_tables import UNSAVED_TABLES
from server.store.tables import RECORD_TABLES

__all__ = ["BackupResult", "RestoreResult", "create_backup", "restore_backup"]

log = logging.getLogger(__name__)

_DB_ERRORS = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
_OLD_SERVER_ONLY_SETTINGS = (b"SET transaction_timeout",)
"""Script lines a PostgreSQL older than 17 refuses (pg_restore >= 17 writes them)."""
_LINE_LIMIT = 64 * 1024 * 1024
_REPLACE_SQL = b"SET lock_timeout = '10s';\nDROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n"


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    manifest: Manifest
    pruned: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class RestoreResult:
    path: Path
    manifest: Manifest
    epoch: str
    """The database's new epoch."""
    replaced: bool
    """The database had contents, dropped because ``force`` was given."""


# ---- backup ----------------------------------------------------------------------


async def create_backup(
    database_url: str, directory: Path, *, keep: int, pg_bin_dir: Path | None = None
) -> BackupResult:
    """Dump the database into ``directory`` with its manifest; keep the newest ``keep``.

    The outcome (good or failed) is recorded in ``backup_runs`` when the database
    can take it, so every server process reports it.

    Raises:
        BackupError: the dump could not be made (the message says why).
    """
    started = datetime.now(UTC)
    try:
        result = await _dump(database_url, directory, keep, pg_bin_dir)
    except BackupError as exc:
        await _record(database_url, "backup", started, ok=False, error=str(exc))
        raise
    await _record(
        database_url, "backup", started, ok=True, file=str(result.path), size=result.manifest.size_bytes
    )
    return result


async def _dump(url: str, directory: Path, keep: int, pg_bin_dir: Path | None) -> BackupResult:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot use backup folder {directory}: {exc.strerror or exc}") from exc
    name = backup_name()
    partial = directory / f".{name}.partial"
    conn = await _connect(url)
    try:
        tools = await _tools_for(conn, pg_bin_dir)
        server_version = str(await conn.fetchval("SHOW server_version"))
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = str(await conn.fetchval("SELECT pg_export_snapshot()"))
            counts = await _row_counts(conn)
            revision, epoch, head = await _facts(conn, counts)
            target, env = libpq_target(url)
            excluded = [f"--exclude-table-data=public.{t}" for t in UNSAVED_TABLES if t in counts]
            await _run(
                "pg_dump",
                [
                    str(tools.pg_dump),
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    "--lock-wait-timeout=60s",  # a lock held by a schema change fails it, not hangs it
                    *excluded,
                    f"--file={partial}",
                    f"--dbname={target}",
                ],
                env,
            )
    except _DB_ERRORS as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup failed: database error: {_one_line(exc)}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        await conn.close()
    try:
        checksum = await asyncio.to_thread(sha256_of, partial)
        dump = directory / name
        manifest = Manifest(
            file=name,
            sha256=checksum,
            size_bytes=partial.stat().st_size,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            server_version=server_version,
            pg_dump_version=tools.major,
            schema_revision=revision,
            epoch=epoch,
            head=head,
            row_counts={t: n for t, n in counts.items() if t not in UNSAVED_TABLES},
        )
        partial.replace(dump)
        write_manifest(dump, manifest)
        pruned = prune(directory, keep)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"cannot write the backup in {directory}: {exc.strerror or exc}") from exc
    log.info("backup %s written (%d bytes, head %d)", dump, manifest.size_bytes, head)
    return BackupResult(dump, manifest, tuple(pruned))


# ---- restore ---------------------------------------------------------------------


async def restore_backup(
    database_url: str, dump: Path, *, force: bool = False, pg_bin_dir: Path | None = None
) -> RestoreResult:
    """Restore ``dump`` into the database, verify it, and give it a new epoch.

    Raises:
        RestoreRefused: the database is not empty and ``force`` is False.
        BackupError: the dump is missing, damaged or unreadable, the restore failed,
            or the restored rows do not match the manifest.
    """
    started = datetime.now(UTC)
    manifest = read_manifest(dump)
    await asyncio.to_thread(verify_checksum, dump, manifest)
    conn = await _connect(database_url)
    try:
        tools = await _tools_for(conn, pg_bin_dir, at_least=manifest.pg_dump_version)
        old_server = int(await conn.fetchval("SHOW server_version_num")) < 170000
        replaced = not await _is_empty(conn)
        if replaced and not force:
            raise RestoreRefused(
                f"database {_database_name(database_url)!r} is not empty: restore into an empty "
                "database, or pass --force to replace its contents"
            )
    except _DB_ERRORS as exc:
        raise BackupError(f"restore failed: database error: {_one_line(exc)}") from exc
    finally:
        await conn.close()
    target, env = libpq_target(database_url)
    await _pipe_restore(tools, dump, target, env, drop_new_settings=old_server, replace=replaced)
    epoch = await _verify_and_new_epoch(database_url, manifest)
    await _record(database_url, "restore", started, ok=True, file=str(dump), size=manifest.size_bytes)
    log.info("restored %s (new epoch %s)", dump, epoch)
    return RestoreResult(dump, manifest, epoch, replaced)


async def _pipe_restore(
    tools: PgTools, dump: Path, target: str, env: dict[str, str], *, drop_new_settings: bool, replace: bool
) -> None:
    """``pg_restore -f - DUMP | psql --single-transaction``, all or nothing: with
    ``replace`` the old contents are dropped in that same transaction, so a failed
    restore leaves the database as it was."""
    restore = await asyncio.create_subprocess_exec(
        str(tools.pg_restore),
        "--no-owner",
        "--no-privileges",
        "--file=-",
        str(dump),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        limit=_LINE_LIMIT,
    )
    psql = await asyncio.create_subprocess_exec(
        str(tools.psql),
        "--no-psqlrc",
        "--quiet",
        "--set=ON_ERROR_STOP=1",
        "--single-transaction",
        f"--dbname={target}",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    assert restore.stdout is not None and restore.stderr is not None
    assert psql.stdin is not None and psql.stderr is not None

    async def pump() -> None:
        assert restore.stdout is not None and psql.stdin is not None
        try:
            if replace:
                psql.stdin.write(_REPLACE_SQL)
            async for line in restore.stdout:
                if drop_new_settings and line.startswith(_OLD_SERVER_ONLY_SETTINGS):
                    continue
                psql.stdin.write(line)
                await psql.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            restore.kill()  # psql gave up; its stderr says why
        finally:
            psql.stdin.close()

    _, restore_err, psql_err = await asyncio.gather(pump(), restore.stderr.read(), psql.stderr.read())
    restore_rc, psql_rc = await restore.wait(), await psql.wait()
    if psql_rc != 0:
        raise BackupError(f"restore failed, nothing was changed: psql: {_last_line(psql_err)}")
    if restore_rc != 0:
        raise BackupError(f"restore failed: pg_restore: {_last_line(restore_err)}")


async def _verify_and_new_epoch(url: str, manifest: Manifest) -> str:
    conn = await _connect(url)
    try:
        counts = await _row_counts(conn)
        revision, _, _ = await _facts(conn, counts)
        wrong = [
            f"{table}: {counts.get(table)} rows, expected {expected}"
            for table, expected in sorted(manifest.row_counts.items())
            if counts.get(table) != expected
        ]
        if revision != manifest.schema_revision:
            wrong.append(f"schema revision {revision}, expected {manifest.schema_revision}")
        if wrong:
            raise BackupError(
                "the restored database does not match the backup's manifest: " + "; ".join(wrong)
            )
        epoch = await conn.fetchval(
            "UPDATE server_meta SET value = gen_random_uuid()::text WHERE key = 'epoch' RETURNING value"
        )
        if epoch is None:
            raise BackupError("the restored database has no epoch: it is not a Branchsync database")
        return str(epoch)
    except _DB_ERRORS as exc:
        raise BackupError(f"cannot verify the restored database: {_one_line(exc)}") from exc
    finally:
        await conn.close()


# ---- helpers ---------------------------------------------------------------------


async def _connect(url: str) -> asyncpg.Connection:
    try:
        conn: asyncpg.Connection = await asyncpg.connect(asyncpg_url(url), timeout=10)
    except _DB_ERRORS as exc:
        raise BackupError(f"cannot reach PostgreSQL: {_one_line(exc)}") from exc
    return conn


async def _tools_for(conn: asyncpg.Connection, configured: Path | None, *, at_least: int = 0) -> PgTools:
    server_major = int(await conn.fetchval("SHOW server_version_num")) // 10000
    return await asyncio.to_thread(find_pg_tools, max(server_major, at_least), configured)


async def _row_counts(conn: asyncpg.Connection) -> dict[str, int]:
    tables = await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    counts: dict[str, int] = {}
    for row in tables:
        name = row["tablename"]
        quoted = '"' + name.replace('"', '""') + '"'
        counts[name] = int(await conn.fetchval(f"SELECT count(*) FROM public.{quoted}"))
    return counts


async def _facts(conn: asyncpg.Connection, tables: dict[str, int]) -> tuple[str | None, str | None, int]:
    """Schema revision, epoch and head change number (None/0 where the table is absent)."""
    revision = (
        await conn.fetchval("SELECT version_num FROM alembic_version")
        if "alembic_version" in tables
        else None
    )
    epoch = (
        await conn.fetchval("SELECT value FROM server_meta WHERE key = 'epoch'")
        if "server_meta" in tables
        else None
    )
    present = [name for name in RECORD_TABLES if name in tables]
    head = 0
    if present:
        parts = ", ".join(f"(SELECT max(seq) FROM public.{name})" for name in present)
        head = int(await conn.fetchval(f"SELECT coalesce(greatest({parts}), 0)"))
    return revision, epoch, head


async def _is_empty(conn: asyncpg.Connection) -> bool:
    """No table, view or sequence outside the system schemas."""
    found = await conn.fetchval(
        """
        SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
        """
    )
    return int(found) == 0


async def _run(what: str, argv: Sequence[str], env: dict[str, str]) -> None:
    try:
        child = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env
        )
    except OSError as exc:
        raise BackupError(f"cannot run {what}: {exc.strerror or exc}") from exc
    try:
        _, err = await child.communicate()
    except asyncio.CancelledError:  # the server is stopping: leave no orphan dumping
        child.kill()
        await child.wait()
        raise
    if child.returncode != 0:
        raise BackupError(f"{what} failed: {_last_line(err)}")


async def _record(
    url: str,
    kind: str,
    started: datetime,
    *,
    ok: bool,
    file: str | None = None,
    size: int | None = None,
    error: str | None = None,
) -> None:
    """Note the outcome in ``backup_runs``; a database that cannot take it is only logged."""
    try:
        conn = await asyncpg.connect(asyncpg_url(url), timeout=10)
        try:
            await conn.execute(
                "INSERT INTO backup_runs (kind, started_at, ok, file, size_bytes, error)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                kind,
                started,
                ok,
                file,
                size,
                error,
            )
        finally:
            await conn.close()
    except _DB_ERRORS as exc:
        log.warning("could not record the %s outcome in the database: %s", kind, _one_line(exc))


def _database_name(url: str) -> str:
    return urlsplit(asyncpg_url(url)).path.lstrip("/") or "postgres"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no error message"
