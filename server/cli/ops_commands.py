"""The operations commands of ``branchsync-server``: ``backup``, ``restore`` and
``admin create-user``.

``server.cli`` owns the command line; it adds these parsers with ``add_parsers`` and
their handlers with ``commands(...)``, handing over its own helpers (database URL,
one-transaction admin runner, output) so both speak and fail the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from server.errors import AdminError
from server.ops.admin_web.accounts import set_password
from server.ops.backup import create_backup, restore_backup
from server.settings import Settings

__all__ = ["Handler", "add_parsers", "commands", "read_new_password"]

T = TypeVar("T")
Handler = Callable[[argparse.Namespace, Settings], int]
AdminRunner = Callable[[Settings, Callable[[AsyncConnection], Awaitable[Any]]], Any]
Emitter = Callable[[argparse.Namespace, object, str], None]


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``backup``, ``restore`` and ``admin`` to the ``branchsync-server`` subcommands."""
    backup = commands.add_parser(
        "backup", parents=[common], help="make a verified pg_dump backup and prune old ones"
    )
    backup.add_argument(
        "--to", type=Path, default=None, metavar="DIR", help="folder (default DATA_DIR/backups)"
    )
    backup.add_argument("--keep", type=int, default=None, metavar="N", help="backups to keep (default 28)")
    restore = commands.add_parser(
        "restore", parents=[common], help="restore a backup into an empty database (gives it a new epoch)"
    )
    restore.add_argument(
        "file", type=Path, metavar="FILE", help="a .dump made by `backup` (its .json beside it)"
    )
    restore.add_argument("--force", action="store_true", help="replace the contents of a non-empty database")
    admin = commands.add_parser("admin", help="manage /admin dashboard users").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    create_user = admin.add_parser(
        "create-user", parents=[common], help="create a dashboard user or set a new password"
    )
    create_user.add_argument("name", metavar="NAME")
    create_user.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )


def read_new_password(from_stdin: bool) -> str:
    """The new password: typed twice at a terminal, else the first line of stdin."""
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if getpass.getpass("Repeat it: ") != first:
        raise AdminError("the two passwords differ")
    return first


def commands(
    database_url: Callable[[Settings], str], run_admin: AdminRunner, emit: Emitter
) -> dict[str, Handler]:
    """The handlers, built around ``server.cli``'s helpers."""

    def backup(args: argparse.Namespace, settings: Settings) -> int:
        keep = settings.backup_keep if args.keep is None else args.keep
        if keep < 1:
            raise AdminError("--keep must be at least 1")
        made = asyncio.run(
            create_backup(
                database_url(settings),
                args.to or settings.backups_dir,
                keep=keep,
                pg_bin_dir=settings.pg_bin_dir,
            )
        )
        m = made.manifest
        data = {
            "file": str(made.path),
            "sha256": m.sha256,
            "size_bytes": m.size_bytes,
            "head": m.head,
            "epoch": m.epoch,
            "row_counts": m.row_counts,
            "pruned": [str(p) for p in made.pruned],
        }
        emit(args, data, f"backup written to {made.path} ({m.size_bytes} bytes, head {m.head})")
        return 0

    def restore(args: argparse.Namespace, settings: Settings) -> int:
        done = asyncio.run(
            restore_backup(
                database_url(settings), args.file, force=args.force, pg_bin_dir=settings.pg_bin_dir
            )
        )
        data = {
            "file": str(done.path),
            "epoch": done.epoch,
            "replaced": done.replaced,
            "row_counts": done.manifest.row_counts,
        }
        emit(args, data, f"restored {done.path} and verified it; new epoch {done.epoch}")
        return 0

    def admin(args: argparse.Namespace, settings: Settings) -> int:
        password = read_new_password(args.password_stdin)
        created = run_admin(settings, lambda conn: set_password(conn, args.name, password))
        verb = "created admin user" if created else "set a new password for admin user"
        emit(args, {"name": args.name, "created": created}, f"{verb} {args.name}")
        return 0

    return {"backup": backup, "restore": restore, "admin": admin}
