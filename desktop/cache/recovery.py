"""A damaged cache file is moved aside and rebuilt, as the same device, with its queued writes.

At every open (``Cache``) the file is looked at first (``file_check``), unless a read
or write already found it damaged (``db.damage_mark``, left by any process). When it
is damaged (or empty, or missing, while ``identity.json`` says this PC is enrolled):

1. what can be read of it is salvaged (``salvage``): the outbox, and the facts of
   ``sync_state`` (the fallback identity for an installation enrolled before the
   identity record existed);
2. the file and its ``-wal``/``-shm`` are renamed ``<name>.damaged-<UTC time>`` (kept for
   support, never deleted);
3. a new file is made with the same device id, server and branch, the salvaged entries
   queued again under their own mutation ids and positions (and merged into their rows,
   so the lists show them at once), and the clock set past their stamps; the cursor is
   0, so the engine pulls everything from the server, and pushes the entries again (a
   replay of an applied one is answered from the server's record, harmless);
4. one sentence says so: in the log (WARNING), in ``sync_state`` (``status`` shows it)
   and on ``Recovery.notice`` for the app and the command line.

When the file is damaged but nothing says which device it was (no identity record,
and a device id in the salvage without its server), nothing is moved: ``StorageError``
says so and the file stays for IT. A file with no trace of an enrolment is rebuilt
unenrolled, with its salvaged writes queued for after the enrolment.

Two processes that open one damaged file at the same moment (the engine and an
``import``) are not coordinated here; each would move aside what it found.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, insert

from desktop.cache import directory, rows
from desktop.cache.db import Database, damage_mark
from desktop.cache.errors import StorageError, StorageProblem, storage_errors
from desktop.cache.file_check import QUICK_CHECK_LIMIT, FileState, Verdict, check_file
from desktop.cache.identity_record import identity_from_state
from desktop.cache.migrations import upgrade
from desktop.cache.outbox import OutboxEntry
from desktop.cache.salvage import Salvaged, salvage
from desktop.cache.schema import outbox
from desktop.cache.state import Key, Value, write_values
from desktop.config.credentials import TOKEN_FILENAME
from desktop.config.identity import Identity, IdentityUnreadable, load_identity
from desktop.config.paths import database_path
from protocol.merge import Row, merge, mutation_row
from protocol.messages import BranchInfo

__all__ = ["Recovery", "notice_for", "recover"]

log = logging.getLogger(__name__)

_SIDE_FILES = ("-wal", "-shm")
_KEPT_STATE = (Key.LOCAL_NODE, Key.CLOCK_OFFSET_MS, Key.CLOCK_UNCERTAINTY_MS)
"""Facts of the old file that stay true of the new one (the cursor and epoch do not)."""


@dataclass(frozen=True, slots=True)
class Recovery:
    """What a rebuild did.

    Attributes:
        reason: what was wrong with the file.
        kept_as: where the damaged file now is (None when there was no file to keep).
        requeued: outbox entries saved from it and queued again.
        unreadable: rows that looked like queued writes but could not be read.
        enrolled: rebuilt as the enrolled device (False: enrol again to sync).
        notice: the one sentence the user is told.
    """

    reason: str
    kept_as: Path | None
    requeued: int
    unreadable: int
    enrolled: bool
    notice: str


def notice_for(reason: str, kept_as: Path | None, requeued: int, unreadable: int, enrolled: bool) -> str:
    """The sentence the user reads (one, whatever happened)."""
    rebuilt = (
        "rebuilt it from the server as the same device"
        if enrolled
        else "rebuilt it empty (enrol this PC again to sync)"
    )
    kept = f"{requeued} unsent change(s) were saved and will be sent again"
    if not requeued:
        kept = "no unsent changes could be read from it"
    if unreadable:
        kept += f" ({unreadable} could not be read)"
    aside = f"; the damaged file is kept as {kept_as}" if kept_as is not None else ""
    return f"Branchsync found its local data damaged ({reason}) and {rebuilt}; {kept}{aside}."


def _load_identity(data_dir: Path) -> Identity | None:
    try:
        return load_identity(data_dir)
    except IdentityUnreadable as exc:
        log.warning("the identity record cannot be used (%s); looking in the cache instead", exc)
        return None


def recover(
    data_dir: Path, *, damaged: str | None = None, quick_check_limit: int = QUICK_CHECK_LIMIT
) -> Recovery | None:
    """Check the cache file of ``data_dir`` and rebuild it if it is damaged; None when it is sound.

    Args:
        damaged: the file is known to be damaged (a read said so): skip the check, this is why.
        quick_check_limit: files up to this size get ``PRAGMA quick_check``.

    Raises:
        StorageError: the file is damaged and cannot be rebuilt as the device it was
            (``DAMAGED``; nothing moved), or the folder failed us.
    """
    path = database_path(data_dir)
    damaged = damaged or _marked(path)
    with storage_errors(path):
        verdict = Verdict(FileState.DAMAGED, damaged) if damaged else check_file(path, quick_check_limit)
    identity = _load_identity(data_dir)
    match verdict.state:
        case FileState.SOUND:
            return None
        case FileState.MISSING | FileState.EMPTY if identity is None and not _had_token(data_dir):
            return None  # a new installation: SQLite makes the file
        case _:
            pass
    found = salvage(path) if path.exists() else Salvaged()
    if identity is None:
        identity = identity_from_state(found.state)
        if identity is None and found.state.get(Key.DEVICE_ID):
            raise StorageError(
                StorageProblem.DAMAGED,
                f"the Branchsync data file is damaged ({verdict.reason}) and does not say which server "
                f"it belongs to; it was left as it is for IT ({path})",
            )
    with storage_errors(path):
        kept_as = _move_aside(path) if path.exists() else None
        notice = notice_for(
            verdict.reason, kept_as, len(found.entries), found.unreadable, identity is not None
        )
        try:
            _rebuild(path, identity, found, notice)
        except BaseException:
            _put_back(path, kept_as)  # the next open tries again, from the same damaged file
            raise
        damage_mark(path).unlink(missing_ok=True)
    log.warning("%s", notice)
    return Recovery(
        verdict.reason, kept_as, len(found.entries), found.unreadable, identity is not None, notice
    )


def _had_token(data_dir: Path) -> bool:
    """Whether a device token file says this folder was enrolled (by a version before the
    identity record): its empty cache is then told of, never taken for a new installation."""
    return (data_dir / TOKEN_FILENAME).exists()


def _marked(path: Path) -> str | None:
    """What a read or write of the file found, if one marked it damaged (``db.damage_mark``)."""
    try:
        text = damage_mark(path).read_text(encoding="utf-8", errors="replace").strip()
    except FileNotFoundError:
        return None
    except OSError:
        text = ""
    return f"a read found it damaged: {text}" if text else "a read found it damaged"


def _move_aside(path: Path) -> Path:
    """Rename the file (and its ``-wal``, ``-shm``) to a free ``.damaged-<time>`` name; returns it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    number = 1
    while aside.exists():
        number += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{number}")
    os.replace(path, aside)
    for suffix in _SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, aside.with_name(aside.name + suffix))
    return aside


def _put_back(path: Path, kept_as: Path | None) -> None:
    """Undo ``_move_aside`` after a rebuild that failed (a full disk): the half-made file goes."""
    for suffix in ("", *_SIDE_FILES):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    if kept_as is None:
        return
    for suffix in ("", *_SIDE_FILES):
        side = kept_as.with_name(kept_as.name + suffix)
        if side.exists():
            os.replace(side, path.with_name(path.name + suffix))


def _rebuild(path: Path, identity: Identity | None, found: Salvaged, notice: str) -> None:
    db = Database(path)
    try:
        with db.write() as conn:
            upgrade(conn)
            values: dict[Key, Value] = {key: found.state[key] for key in _KEPT_STATE if key in found.state}
            values[Key.RECOVERY_NOTICE] = notice
            if identity is not None:
                values |= {
                    Key.DEVICE_ID: identity.device_id,
                    Key.SERVER_URL: identity.server_url,
                    Key.BRANCH_ID: identity.branch_id,
                    Key.BRANCH_NAME: identity.branch_name,
                }
            write_values(conn, values)
            if identity is not None:
                branch = BranchInfo(
                    id=identity.branch_id, name=identity.branch_name, timezone=identity.branch_timezone
                )
                directory.remember_branch(conn, branch)
            _requeue(conn, found.entries)
    finally:
        db.close()


def _requeue(conn: Connection, entries: list[OutboxEntry]) -> None:
    """Queue ``entries`` again as they were (ids, positions, stamps); the clock goes past them."""
    if not entries:
        return
    conn.execute(
        insert(outbox),
        [
            {
                "seq": entry.seq,
                "mutation_id": entry.mutation_id,
                "collection": entry.collection,
                "row_id": entry.row_id,
                "op": entry.op,
                "fields": dict(entry.fields),
                "hlc": entry.hlc,
                "before": dict(entry.before),
                "created_at": entry.created_at,
            }
            for entry in entries
        ],
    )
    write_values(conn, {Key.HLC_LAST: max(entry.hlc for entry in entries)})  # stamps sort as text
    for entry in entries:
        _show_locally(conn, entry)


def _show_locally(conn: Connection, entry: OutboxEntry) -> None:
    """Merge a saved write into its row, as when it was made: the list shows it before any sync.

    Its own echo from the server later merges to the same row (same value, same stamp).
    """
    collection = rows.collection_named(entry.collection)
    names = rows.field_names(collection)
    incoming = mutation_row(entry.op, {k: v for k, v in entry.fields.items() if k in names}, entry.hlc)
    current = rows.load(conn, collection, entry.row_id)
    merged = merge(current.row if current is not None else Row(), incoming).row
    if current is None:
        rows.save_many(conn, collection, [(entry.row_id, merged)], [])
    else:
        rows.save_many(conn, collection, [], [(entry.row_id, merged)])
