"""``sync_state``: the installation's key/value facts, read as one typed snapshot.

A key/value table (rather than one wide row) lets a later version add a fact without
a schema step; ``SyncState`` gives callers typed values instead of strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects.sqlite import insert

from desktop.cache.schema import sync_state

__all__ = ["Key", "SyncState", "Value", "encode", "read_state", "read_values", "write_values"]


class Key(StrEnum):
    """Every key ``sync_state`` holds."""

    DEVICE_ID = "device_id"
    """The id the server gave this installation at enrolment (None before)."""
    LOCAL_NODE = "local_node"
    """A random id made at first start: the HLC node until the device is enrolled."""
    BRANCH_ID = "branch_id"
    BRANCH_NAME = "branch_name"
    SERVER_URL = "server_url"
    CURSOR = "cursor"
    EPOCH = "epoch"
    EPOCH_RESET = "epoch_reset"
    """"1" while a pull from 0 after an epoch change has not finished."""
    HLC_LAST = "hlc_last"
    """The greatest HLC issued or observed, so the clock never goes backwards."""
    HLC_OBSERVED = "hlc_observed"
    """The greatest HLC received from elsewhere or accepted by the server (the re-stamp floor)."""
    CLOCK_OFFSET_MS = "clock_offset_ms"
    """Server clock minus local clock, measured at the last connection."""
    CLOCK_UNCERTAINTY_MS = "clock_uncertainty_ms"
    """How far the true offset may be from ``CLOCK_OFFSET_MS`` (half its best sample's round trip)."""
    LAST_SYNC = "last_sync"
    ONLINE = "online"
    """Maintained by the sync engine: "1" while it is connected."""
    DIRECTORY_ETAG = "directory_etag"
    """The server's ``ETag`` of the stored branch directory (None: unknown, fetch it whole)."""
    RECOVERY_NOTICE = "recovery_notice"
    """The sentence said when this file was rebuilt from a damaged one (``cache.recovery``)."""


Value = str | int | bool | datetime | None


def encode(value: Value) -> str | None:
    """The text form a value is stored in."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True, slots=True)
class SyncState:
    """A snapshot of ``sync_state`` with typed values."""

    device_id: str | None
    local_node: str | None
    branch_id: str | None
    branch_name: str | None
    server_url: str | None
    cursor: int
    epoch: str | None
    epoch_reset: bool
    hlc_last: str | None
    hlc_observed: str | None
    clock_offset_ms: int
    clock_uncertainty_ms: int
    last_sync: datetime | None
    online: bool
    recovery_notice: str | None = None
    """Set when this file replaced a damaged one: what the user was told."""

    @property
    def node(self) -> str:
        """The HLC node of this installation: its device id once enrolled."""
        node = self.device_id or self.local_node
        if not node:
            raise RuntimeError("sync_state has neither a device id nor a local node id")
        return node

    @property
    def enrolled(self) -> bool:
        return self.device_id is not None


# Built once: these run in every local write, where statement building would dominate.
_SELECT_ALL = select(sync_state.c.key, sync_state.c.value)
_SELECT_SOME = _SELECT_ALL.where(sync_state.c.key.in_(bindparam("keys", expanding=True)))
_UPSERT = insert(sync_state)
_UPSERT = _UPSERT.on_conflict_do_update(
    index_elements=[sync_state.c.key], set_={"value": _UPSERT.excluded.value}
)
_KNOWN = frozenset(k.value for k in Key)


def read_values(conn: Connection, keys: Iterable[Key] | None = None) -> dict[Key, str | None]:
    """Raw text values of ``keys`` (all when None); missing keys are left out."""
    if keys is None:
        result = conn.execute(_SELECT_ALL)
    else:
        result = conn.execute(_SELECT_SOME, {"keys": [str(k) for k in keys]})
    return {Key(key): value for key, value in result if key in _KNOWN}


def write_values(conn: Connection, values: Mapping[Key, Value]) -> None:
    """Set each key to its value (None stores NULL)."""
    if values:
        conn.execute(_UPSERT, [{"key": str(k), "value": encode(v)} for k, v in values.items()])


def read_state(conn: Connection) -> SyncState:
    """The whole of ``sync_state`` as a typed snapshot."""
    raw = read_values(conn)

    def text(key: Key) -> str | None:
        return raw.get(key)

    def integer(key: Key) -> int:
        value = raw.get(key)
        return int(value) if value else 0

    last_sync = text(Key.LAST_SYNC)
    return SyncState(
        device_id=text(Key.DEVICE_ID),
        local_node=text(Key.LOCAL_NODE),
        branch_id=text(Key.BRANCH_ID),
        branch_name=text(Key.BRANCH_NAME),
        server_url=text(Key.SERVER_URL),
        cursor=integer(Key.CURSOR),
        epoch=text(Key.EPOCH),
        epoch_reset=text(Key.EPOCH_RESET) == "1",
        hlc_last=text(Key.HLC_LAST),
        hlc_observed=text(Key.HLC_OBSERVED),
        clock_offset_ms=integer(Key.CLOCK_OFFSET_MS),
        clock_uncertainty_ms=integer(Key.CLOCK_UNCERTAINTY_MS),
        last_sync=datetime.fromisoformat(last_sync) if last_sync else None,
        online=text(Key.ONLINE) == "1",
        recovery_notice=text(Key.RECOVERY_NOTICE),
    )
