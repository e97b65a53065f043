"""Exceptions of the local cache, and the one place SQLite errors are sorted.

Exception tree::

    CacheError                 root of everything the cache raises on purpose
     ├── StorageError          the environment failed (disk full, I/O error, read-only,
     │                         locked too long, damaged file, newer schema): tell the user
     ├── ValidationFailed      a local write was refused by protocol validation; nothing saved
     ├── UnknownCollection     no collection by that name
     ├── NotFound              no row / conflict / rejected mutation with that id
     ├── BadFile               an import file that cannot be read as a whole (header, encoding)
     ├── EpochChanged          remote changes belong to another server history: reset first
     └── SnapshotRefused       a server snapshot that cannot be loaded whole here (the cache
                               is not empty, another history, a cut or corrupt stream);
                               nothing loaded: pull page by page instead

Any other exception (an ``sqlalchemy`` error that is not about the environment, a
``TypeError`` …) is a bug in our code and is left to propagate unchanged.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from enum import StrEnum

from sqlalchemy import exc as sa_exc

from protocol.errors import FieldError

__all__ = [
    "BadFile",
    "CacheError",
    "EpochChanged",
    "NotFound",
    "SnapshotRefused",
    "StorageError",
    "StorageProblem",
    "UnknownCollection",
    "ValidationFailed",
    "storage_errors",
]


class CacheError(Exception):
    """Root of the cache's own exceptions."""


class StorageProblem(StrEnum):
    """What about the environment failed; the UI may pick its wording from it."""

    DISK_FULL = "disk_full"
    IO_ERROR = "io_error"
    READ_ONLY = "read_only"
    LOCKED = "locked"
    DAMAGED = "damaged"
    CANNOT_OPEN = "cannot_open"
    TOO_NEW = "too_new"


class StorageError(CacheError):
    """The disk or the file system let us down; the user (or IT) has to act.

    Attributes:
        problem: which kind of failure, for code that reacts to it.
    """

    def __init__(self, problem: StorageProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


class ValidationFailed(CacheError, ValueError):
    """A local write broke the collection's rules; nothing was saved.

    Attributes:
        errors: one ``FieldError`` per refused field, as the server would answer.
    """

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(error.message for error in errors))
        self.errors: tuple[FieldError, ...] = tuple(errors)


class UnknownCollection(CacheError, LookupError):
    """A collection name that ``protocol.COLLECTIONS`` does not declare."""


class NotFound(CacheError, LookupError):
    """No row, conflict or rejected mutation with the given id."""


class BadFile(CacheError, ValueError):
    """An import file that cannot be used at all; nothing from it was saved."""


class EpochChanged(CacheError):
    """Changes came from a server history other than the one the cursor belongs to.

    Nothing was applied; call ``Cache.start_epoch_reset(epoch)`` and pull from 0.
    """


class SnapshotRefused(CacheError):
    """A server snapshot was not loaded (see the message); the cache is as it was."""


# SQLite primary result codes that mean "the environment", not "our bug".
_SQLITE_PERM = 3
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26

_ENVIRONMENT: dict[int, tuple[StorageProblem, str]] = {
    _SQLITE_FULL: (StorageProblem.DISK_FULL, "the disk holding the Branchsync data is full; free some space"),
    _SQLITE_IOERR: (StorageProblem.IO_ERROR, "the disk could not read or write the Branchsync data"),
    _SQLITE_READONLY: (StorageProblem.READ_ONLY, "the Branchsync data is read-only; check its permissions"),
    _SQLITE_PERM: (
        StorageProblem.READ_ONLY,
        "access to the Branchsync data was refused; check its permissions",
    ),
    _SQLITE_BUSY: (
        StorageProblem.LOCKED,
        "the Branchsync data stayed locked by another program for too long; try again",
    ),
    _SQLITE_LOCKED: (
        StorageProblem.LOCKED,
        "the Branchsync data stayed locked by another program for too long; try again",
    ),
    _SQLITE_CORRUPT: (StorageProblem.DAMAGED, "the Branchsync data file is damaged"),
    _SQLITE_NOTADB: (StorageProblem.DAMAGED, "the Branchsync data file is not a Branchsync database"),
    _SQLITE_CANTOPEN: (StorageProblem.CANNOT_OPEN, "the Branchsync data file cannot be opened"),
}


_OS_PROBLEMS = {
    errno.ENOSPC: StorageProblem.DISK_FULL,
    errno.EROFS: StorageProblem.READ_ONLY,
    errno.EACCES: StorageProblem.READ_ONLY,
    errno.EPERM: StorageProblem.READ_ONLY,
    errno.EIO: StorageProblem.IO_ERROR,
}


def classify(error: BaseException, where: object = None) -> StorageError | None:
    """The ``StorageError`` an SQLite or OS error stands for, or None when it is a bug.

    Args:
        where: the file or folder concerned, named in the message so IT can find it.
    """
    place = f"{where}: " if where is not None else ""
    if isinstance(error, sa_exc.DBAPIError):
        error = error.orig if isinstance(error.orig, BaseException) else error
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        found = None if code is None else _ENVIRONMENT.get(code & 0xFF)
        if found is None:
            return None
        problem, message = found
        return StorageError(problem, f"{message} ({place}{error})")
    if isinstance(error, OSError):
        problem = _OS_PROBLEMS.get(error.errno or 0, StorageProblem.CANNOT_OPEN)
        detail = f"{error.filename}: {error.strerror}" if error.filename else str(error)
        return StorageError(problem, f"the Branchsync data folder cannot be used ({detail})")
    return None


@contextmanager
def storage_errors(where: object = None) -> Iterator[None]:
    """Translate environment failures raised inside into ``StorageError`` (once, here)."""
    try:
        yield
    except (sa_exc.DBAPIError, sqlite3.Error, OSError) as error:
        translated = classify(error, where)
        if translated is None:
            raise
        raise translated from error
