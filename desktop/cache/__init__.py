"""The local SQLite cache of a branch: rows, outbox, conflicts, rejected mutations, sync state,
and the branch directory.

The UI reads and writes here only (it never waits for the network); the sync engine
drains the outbox and applies what the server sends. ``Cache`` is the whole public
surface; the submodules hold the logic and each take an open connection.
"""

from desktop.cache.apply import ApplyOutcome
from desktop.cache.cache import Cache, Counts, Writer
from desktop.cache.conflicts import Conflict
from desktop.cache.directory import Branch, Device, Directory
from desktop.cache.errors import (
    BadFile,
    CacheError,
    EpochChanged,
    NotFound,
    SnapshotRefused,
    StorageError,
    StorageProblem,
    UnknownCollection,
    ValidationFailed,
)
from desktop.cache.outbox import OutboxBatch, OutboxEntry
from desktop.cache.push_results import PushOutcome
from desktop.cache.rejected import RejectedMutation
from desktop.cache.rows import Record
from desktop.cache.state import Key, SyncState

__all__ = [
    "ApplyOutcome",
    "BadFile",
    "Branch",
    "Cache",
    "CacheError",
    "Conflict",
    "Counts",
    "Device",
    "Directory",
    "EpochChanged",
    "Key",
    "NotFound",
    "OutboxBatch",
    "OutboxEntry",
    "PushOutcome",
    "Record",
    "RejectedMutation",
    "SnapshotRefused",
    "StorageError",
    "StorageProblem",
    "SyncState",
    "UnknownCollection",
    "ValidationFailed",
    "Writer",
]
