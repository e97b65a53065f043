"""Keeping ``identity.json`` (``desktop.config.identity``) in step with the cache's enrolment.

Written at enrolment (``Cache.set_enrollment``) and at every open of an enrolled cache
whose record is missing or says otherwise, so installations enrolled before the
record existed get one the first time this version opens their cache.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

from desktop.cache import directory
from desktop.cache.errors import storage_errors
from desktop.cache.state import Key, read_values
from desktop.config.identity import Identity, IdentityUnreadable, identity_path, load_identity, save_identity

__all__ = ["current_identity", "keep_identity"]


def current_identity(conn: Connection) -> Identity | None:
    """The identity the cache's ``sync_state`` names, or None while it is not enrolled."""
    raw = read_values(conn, [Key.DEVICE_ID, Key.SERVER_URL, Key.BRANCH_ID, Key.BRANCH_NAME])
    device_id, server_url, branch_id = raw.get(Key.DEVICE_ID), raw.get(Key.SERVER_URL), raw.get(Key.BRANCH_ID)
    if not (device_id and server_url and branch_id):
        return None
    own = directory.read(conn).branch(branch_id)
    name = raw.get(Key.BRANCH_NAME) or branch_id
    return Identity(device_id, server_url, branch_id, name, own.timezone if own else None)


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
