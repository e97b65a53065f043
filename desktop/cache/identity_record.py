"""Keeping ``identity.json`` (``desktop.config.identity``) in step with the cache's enrolment.

Written at enrolment (``Cache.set_enrollment``) and at every open of an enrolled cache
whose record is missing or says otherwise, so installations enrolled before the
record existed get one the first time this version opens their cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Connection

from desktop.cache import directory
from desktop.cache.errors import storage_errors
from desktop.cache.state import Key, read_values
from desktop.config.identity import Identity, IdentityUnreadable, identity_path, load_identity, save_identity

__all__ = ["current_identity", "identity_from_state", "keep_identity"]


def identity_from_state(state: Mapping[Key, str | None] | Mapping[str, str]) -> Identity | None:
    """The identity ``sync_state``'s facts name (read from a sound cache, or salvaged from a
    damaged one), or None when they do not name a whole one."""
    device_id, server_url, branch_id = (state.get(k) for k in (Key.DEVICE_ID, Key.SERVER_URL, Key.BRANCH_ID))
    if not (device_id and server_url and branch_id):
        return None
    return Identity(device_id, server_url, branch_id, state.get(Key.BRANCH_NAME) or branch_id)


def current_identity(conn: Connection) -> Identity | None:
    """The identity the cache's ``sync_state`` names (with its branch's zone), or None while
    it is not enrolled."""
    identity = identity_from_state(
        read_values(conn, [Key.DEVICE_ID, Key.SERVER_URL, Key.BRANCH_ID, Key.BRANCH_NAME])
    )
    if identity is None:
        return None
    own = directory.read(conn).branch(identity.branch_id)
    return replace(identity, branch_timezone=own.timezone if own else None)


def keep_identity(data_dir: Path, identity: Identity) -> None:
    """Write the record unless it already says exactly this.

    Raises:
        StorageError: the data dir cannot take it.
    """
    try:
        if load_identity(data_dir) == identity:
            return
    except IdentityUnreadable:
        pass  # replaced by what the sound cache says
    with storage_errors(identity_path(data_dir)):
        save_identity(data_dir, identity)
