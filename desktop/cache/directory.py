"""The branch directory: names and time zones of every branch, names of every device.

Rows only carry ids (``branch_id``, a conflict's winning device); people want names,
and an appointment's time belongs in its branch's zone. The server lists them
(``GET /api/v1/branches``); the engine stores each new list here, replacing the old
one in one transaction, so a branch or PC that is gone from the list is gone here
too. Enrolment already records this installation's own branch, so its name and
zone are known before the first list arrives (and with a server too old to list).

The list's ``ETag`` is stored with it (``sync_state``, in the same transaction), so
the next connection asks with ``If-None-Match`` and a server that has nothing new
answers 304 with no body; anything that changes the stored list here forgets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, Table, delete, insert, select
from sqlalchemy.dialects.sqlite import insert as upsert

from desktop.cache.rows import dataclass_from
from desktop.cache.schema import branches, devices
from desktop.cache.state import Key, read_values, write_values
from protocol.messages import BranchInfo, DirectoryResponse

__all__ = ["Branch", "Device", "Directory", "etag", "read", "remember_branch", "replace"]


@dataclass(frozen=True, slots=True)
class Branch:
    """A branch; ``timezone`` is an IANA name, or None when IT has not set one."""

    id: str
    name: str
    timezone: str | None


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    name: str
    branch_id: str


@dataclass(frozen=True, slots=True)
class Directory:
    """What this installation knows of the company's branches and devices."""

    branches: tuple[Branch, ...] = ()
    devices: tuple[Device, ...] = ()

    def branch(self, branch_id: str | None) -> Branch | None:
        return next((b for b in self.branches if b.id == branch_id), None)

    def branch_names(self) -> dict[str, str]:
        """Branch id -> name."""
        return {b.id: b.name for b in self.branches}

    def device_names(self) -> dict[str, str]:
        """Device id -> name."""
        return {d.id: d.name for d in self.devices}

    def device_labels(self) -> dict[str, str]:
        """Device id -> "name (branch)": who won a conflict, and where."""
        branch_names = self.branch_names()
        return {
            d.id: f"{d.name} ({branch_names[d.branch_id]})" if d.branch_id in branch_names else d.name
            for d in self.devices
        }


def read(conn: Connection) -> Directory:
    """The stored directory, branches and devices sorted by name."""
    found_branches = conn.execute(select(branches).order_by(branches.c.name, branches.c.id)).mappings()
    found_devices = conn.execute(select(devices).order_by(devices.c.name, devices.c.id)).mappings()
    return Directory(
        tuple(dataclass_from(Branch, row) for row in found_branches),
        tuple(dataclass_from(Device, row) for row in found_devices),
    )


def etag(conn: Connection) -> str | None:
    """The server's tag of the stored list (None when it sent none, or the list changed here)."""
    return read_values(conn, [Key.DIRECTORY_ETAG]).get(Key.DIRECTORY_ETAG)


def remember_branch(conn: Connection, branch: BranchInfo) -> None:
    """Add or update one branch (this installation's own, at enrolment).

    The stored list is no longer the server's as it was tagged: its tag is forgotten.
    """
    write_values(conn, {Key.DIRECTORY_ETAG: None})
    statement = upsert(branches).values(id=branch.id, name=branch.name, timezone=branch.timezone)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[branches.c.id],
            set_={"name": statement.excluded.name, "timezone": statement.excluded.timezone},
        )
    )


def replace(conn: Connection, directory: DirectoryResponse, tag: str | None = None) -> None:
    """Store ``directory`` and its ``ETag`` instead of what was known (the caller's one transaction).

    The own branch's name in ``sync_state`` follows a rename, so the window title does.
    """
    write_values(conn, {Key.DIRECTORY_ETAG: tag})
    conn.execute(delete(branches))
    conn.execute(delete(devices))
    # keyed by id: a server that lists one twice must not break the engine (the last one counts)
    _insert(
        conn,
        branches,
        {b.id: {"id": b.id, "name": b.name, "timezone": b.timezone} for b in directory.branches},
    )
    _insert(
        conn,
        devices,
        {d.id: {"id": d.id, "name": d.name, "branch_id": d.branch_id} for d in directory.devices},
    )
    own_id = read_values(conn, [Key.BRANCH_ID]).get(Key.BRANCH_ID)
    own = next((b for b in directory.branches if b.id == own_id), None)
    if own is not None:
        write_values(conn, {Key.BRANCH_NAME: own.name})


def _insert(conn: Connection, table: Table, rows: Mapping[str, dict[str, str | None]]) -> None:
    if rows:
        conn.execute(insert(table), list(rows.values()))
