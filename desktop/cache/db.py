"""The SQLite file: connections, pragmas and transactions.

Transactions are issued by hand (the driver runs in autocommit mode) so every write
starts with ``BEGIN IMMEDIATE``: it takes SQLite's write lock before the first read,
so what a write reads (the row, the clock) cannot change under it, even when another
process (an ``import`` while the engine runs) shares the file. Durability comes from
WAL with ``synchronous=FULL``: a commit that returned is on disk.

A write that only holds what the server keeps anyway (changes pulled or pushed to us,
with the cursor in the same transaction) may ask for ``durable=False``: its commit
skips the disk flush (``synchronous=NORMAL``). A power cut can then take back the last
such commits, never a part of one, and the engine pulls them again; it can never take
back a local edit, whose flush carries every commit before it to disk (the WAL is one
sequential file). A busy company sends each branch several changes a second, and a
flush for each was most of what applying them cost.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import ConnectionPoolEntry

from desktop.cache.errors import StorageError, StorageProblem, storage_errors

__all__ = ["DEFAULT_BUSY_TIMEOUT_MS", "Database", "damage_mark"]

DEFAULT_BUSY_TIMEOUT_MS = 5_000
"""How long a write waits for another connection's write lock before giving up."""


def _create_private(path: Path) -> None:
    """Create the file readable by this user only, when it is missing.

    It holds every client of the company; SQLite would create it (and its ``-wal`` and
    ``-shm``, which take the main file's permissions) by the umask, world-readable in an
    existing 0755 folder. An existing file is left as it is: IT may have set it.
    """
    with storage_errors(), suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def damage_mark(path: Path) -> Path:
    """The file that says "a read or write of ``path`` found it damaged" (holds the error)."""
    return path.with_name(path.name + ".damage-found")


@contextmanager
def _guarded(path: Path) -> Iterator[None]:
    """``storage_errors``, and a damaged file is marked so the next open rebuilds it.

    The mark outlives this process: whoever opens the cache next (the app, the engine,
    a command) sees it and rebuilds the file (``desktop.cache.recovery``), however big.
    """
    try:
        with storage_errors(path):
            yield
    except StorageError as exc:
        if exc.problem is StorageProblem.DAMAGED:
            with suppress(OSError):
                damage_mark(path).write_text(str(exc) + "\n", encoding="utf-8")
        raise


class Database:
    """One SQLite file shared by every thread of this process.

    Args:
        path: the database file (created when missing; its folder must exist).
        busy_timeout_ms: how long to wait on another writer before ``StorageError``.
        on_commit: called after each write transaction committed (to wake the change watcher).
    """

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.path = path
        _create_private(path)
        self._on_commit = on_commit
        self._busy_timeout_ms = busy_timeout_ms
        self._engine = self._create_engine()
        self._token_engine = self._create_engine()
        self._token_lock = threading.Lock()
        self._token_conn: Connection | None = None

    def _create_engine(self) -> Engine:
        engine = create_engine(f"sqlite:///{self.path}", isolation_level="AUTOCOMMIT")
        event.listen(engine, "connect", self._on_connect)
        return engine

    def _on_connect(self, dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): committed on exit, rolled back on error.

        Args:
            durable: flush the commit to disk before returning; ``False`` only for data the
                server can give again (see the module's docstring).

        Raises:
            StorageError: the disk, the file or the lock failed us.
        """
        with _guarded(self.path), self._engine.connect() as conn:
            if durable:
                yield from _transaction(conn, "BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("PRAGMA synchronous = NORMAL")
                try:
                    yield from _transaction(conn, "BEGIN IMMEDIATE")
                finally:
                    conn.exec_driver_sql("PRAGMA synchronous = FULL")  # pooled: the next write flushes
        if self._on_commit is not None:
            self._on_commit()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: every query inside sees one consistent snapshot."""
        with _guarded(self.path), self._engine.connect() as conn:
            yield from _transaction(conn, "BEGIN")

    def change_token(self) -> int:
        """A number that changes whenever another connection commits to the file.

        Cheap enough to poll several times a second: it is ``PRAGMA data_version`` on a
        connection kept for this purpose only (it never writes, so its own commits
        cannot move the number).
        """
        with self._token_lock, _guarded(self.path):
            if self._token_conn is None:
                self._token_conn = self._token_engine.connect()
            value = self._token_conn.exec_driver_sql("PRAGMA data_version").scalar_one()
            return int(value)

    def close(self) -> None:
        """Close every connection (idempotent)."""
        with self._token_lock:
            if self._token_conn is not None:
                self._token_conn.close()
                self._token_conn = None
        self._token_engine.dispose()
        self._engine.dispose()


def _transaction(conn: Connection, begin: str) -> Iterator[Connection]:
    conn.exec_driver_sql(begin)
    try:
        yield conn
        conn.exec_driver_sql("COMMIT")
    except BaseException:
        _rollback_quietly(conn)
        raise


def _rollback_quietly(conn: Connection) -> None:
    """Roll back if a transaction is still open; SQLite may have ended it already (disk full)."""
    dbapi = conn.connection.dbapi_connection
    if dbapi is not None and dbapi.in_transaction:
        try:
            conn.exec_driver_sql("ROLLBACK")
        except (sa_exc.DBAPIError, sqlite3.Error):
            conn.invalidate()
