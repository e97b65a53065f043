"""``branchsync``: the headless command line of the desktop app (IT scripts depend on it).

``branchsync [--data-dir DIR] COMMAND``. Local commands (status, import, export,
delete, conflicts, rejected) work on the cache alone; ``enroll``, ``sync --once``
and ``run`` are the sync engine's (``desktop.sync.commands``, imported only when
used). Every failure is one line on stderr and a non-zero exit, never a traceback
(set ``BRANCHSYNC_DEBUG=1`` to see one for an internal error).

Exit codes: 0 done; 1 refused input (bad file, unknown id, rows that failed to
import); 2 bad usage or missing part; 3 server unreachable (sync); 4 the disk or
data folder failed; 70 internal error (a bug).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from desktop import __version__
from desktop.cache import Cache, CacheError, StorageError, UnknownCollection
from desktop.cache.rows import collection_named
from desktop.cache.transfer import export_csv, export_json, import_csv
from desktop.config.paths import DATA_DIR_ENV, resolve_data_dir
from protocol.collections import COLLECTIONS

__all__ = [
    "ENGINE_COMMANDS",
    "EXIT_INTERNAL",
    "EXIT_REFUSED",
    "EXIT_STORAGE",
    "EXIT_USAGE",
    "build_parser",
    "engine_command",
    "main",
]

PROG = "branchsync"
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_STORAGE = 4
EXIT_INTERNAL = 70
DEBUG_ENV = "BRANCHSYNC_DEBUG"

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{PROG}: {message} (see `{PROG} --help`)\n")


def _say_error(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _print_json(value: object) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=_json_default))


def _shown(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _open(args: argparse.Namespace) -> Cache:
    return Cache(args.data_dir)


def _collection(name: str) -> str:
    """Check a collection name early, so the message is the same for every command."""
    collection_named(name)
    return name


# ---- local commands --------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    with _open(args) as cache:
        state, counts, directory = cache.state(), cache.counts(), cache.directory()
    own = directory.branch(state.branch_id)
    report = {
        "device_id": state.device_id,
        "branch": state.branch_name,
        "branch_timezone": own.timezone if own else None,
        "server": state.server_url,
        "online": state.online,
        "cursor": state.cursor,
        "pending": counts.pending,
        "rejected": counts.rejected,
        "conflicts": counts.conflicts,
        "last_sync": state.last_sync.isoformat() if state.last_sync else None,
        "clock_offset_ms": state.clock_offset_ms,
    }
    if args.json:
        _print_json(report)
    else:
        if state.device_id is None:
            report["device_id"] = f"not enrolled (run `{PROG} enroll`)"
        for key, value in report.items():
            print(f"{key + ':':<17}{_shown(value)}")
    return 0


def _import(args: argparse.Namespace) -> int:
    with _open(args) as cache:
        report = import_csv(cache, _collection(args.collection), Path(args.file))
    for problem in report.problems:
        _say_error(f"{args.file}:{problem.line}: {problem.message}")
    total = report.created + report.updated + report.failed
    print(
        f"{args.collection}: {report.created} created, {report.updated} updated, "
        f"{report.failed} failed (of {total} rows)"
    )
    return EXIT_REFUSED if report.failed else 0


def _export(args: argparse.Namespace) -> int:
    collection = COLLECTIONS[_collection(args.collection)]
    with _open(args) as cache:
        records = cache.list_rows(collection.name, limit=None)
    writer = export_json if args.format == "json" else export_csv
    writer(collection, records, sys.stdout)
    return 0


def _delete(args: argparse.Namespace) -> int:
    with _open(args) as cache:
        cache.delete(_collection(args.collection), args.id)
    print(f"deleted {args.collection} {args.id}")
    return 0


def _conflicts(args: argparse.Namespace) -> int:
    with _open(args) as cache:
        found = cache.conflicts()
    if args.json:
        _print_json([asdict(conflict) for conflict in found])
        return 0
    if not found:
        print("no conflicts")
    for c in found:
        print(
            f"#{c.id} {c.collection} {c.row_id} {c.field}: mine {json.dumps(c.my_value)} lost to "
            f"{json.dumps(c.winning_value)} from {c.winning_device} ({c.at:%Y-%m-%d %H:%M})"
        )
    return 0


def _rejected(args: argparse.Namespace) -> int:
    with _open(args) as cache:
        found = cache.rejected()
    if args.json:
        _print_json([{k: v for k, v in asdict(r).items() if k != "before"} for r in found])
        return 0
    if not found:
        print("no rejected changes")
    for r in found:
        where = f" ({r.field})" if r.field else ""
        print(f"#{r.id} {r.op} {r.collection} {r.row_id}: {r.code}{where}: {r.message}")
    return 0


# ---- hooks for the sync engine (desktop/sync/commands.py) ------------------------


ENGINE_COMMANDS = "desktop.sync.commands"


def engine_command(name: str, module: str = ENGINE_COMMANDS) -> Handler:
    """A handler that runs ``<module>.<name>(args)``, importing the module only when used.

    So the local commands work in a build without the engine; without it, the engine
    commands say so and exit 2.
    """

    def run(args: argparse.Namespace) -> int:
        try:
            commands = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or not f"{module}.".startswith(f"{exc.name}."):
                raise  # the module exists but something it imports is missing: a bug
            _say_error(f"`{args.command}` needs the sync engine, which this build does not include")
            return EXIT_USAGE
        return int(getattr(commands, name)(args))

    return run


# ---- the desktop window and the demo (Qt is imported only when they run) -----------


def _desktop(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from desktop.ui.app import run_app

    return run_app(args.data_dir)


def _demo(args: argparse.Namespace) -> int:
    if getattr(sys, "frozen", False):  # the installed app carries no server (installers/branchsync.spec)
        _say_error(
            "the demo runs a server too, so it needs a source install: `pip install -e .`, then "
            f"`{PROG} demo`"
        )
        return EXIT_USAGE
    from desktop.demo.app import main as run_demo

    return run_demo(args)


# ---- parser and entry point -------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``branchsync`` argument parser; each command sets ``handler``."""
    common = _Parser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        metavar="DIR",
        help=f"the installation's data folder (default: ${DATA_DIR_ENV} or the user data folder)",
    )
    parser = _Parser(
        prog=PROG, description="Branchsync desktop: offline-first records for every branch.", parents=[common]
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, parents=[common])
        sub.set_defaults(handler=handler)
        return sub

    collection_help = " | ".join(COLLECTIONS)
    enroll = command("enroll", engine_command("enroll"), "enrol this installation with a server")
    enroll.add_argument("--server", required=True, metavar="URL")
    enroll.add_argument("--code", required=True)
    enroll.add_argument("--name", metavar="DEVICE_NAME", default=None)
    sync = command("sync", engine_command("sync_once"), "push everything and pull until caught up, then exit")
    sync.add_argument("--once", action="store_true", required=True)
    sync.add_argument("--timeout", type=float, default=None, metavar="SECONDS")
    command("run", engine_command("run"), "run the sync engine until SIGINT/SIGTERM")
    demo = command("demo", _demo, "try Branchsync: a local server and two branch windows side by side")
    demo.add_argument("--clients", type=int, default=300, metavar="N", help="sample clients (default 300)")
    demo.add_argument("--database-url", metavar="URL", help="use this PostgreSQL instead of an embedded one")
    demo.add_argument("--keep", action="store_true", help="keep the demo's folder (its path is printed)")
    demo.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    status = command("status", _status, "show this installation's sync state")
    status.add_argument("--json", action="store_true")
    imported = command("import", _import, "create or edit rows from a CSV file")
    imported.add_argument("collection", metavar="COLLECTION", help=collection_help)
    imported.add_argument("file", metavar="FILE.csv")
    exported = command("export", _export, "write the current rows to stdout")
    exported.add_argument("collection", metavar="COLLECTION", help=collection_help)
    exported.add_argument("--format", choices=["csv", "json"], default="csv")
    deleted = command("delete", _delete, "delete one row")
    deleted.add_argument("collection", metavar="COLLECTION", help=collection_help)
    deleted.add_argument("id", metavar="ID")
    for name, handler, text in (
        ("conflicts", _conflicts, "list local values that lost to a later edit elsewhere"),
        ("rejected", _rejected, "list local changes the server refused"),
    ):
        command(name, handler, text).add_argument("--json", action="store_true")
    return parser


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    args.data_dir = resolve_data_dir(getattr(args, "data_dir", None))
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        return _desktop(args, parser)
    return handler(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``branchsync`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args, parser)
    except StorageError as exc:
        _say_error(str(exc))
        return EXIT_STORAGE
    except UnknownCollection as exc:
        _say_error(str(exc))
        return EXIT_USAGE
    except CacheError as exc:
        _say_error(str(exc))
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        _say_error(f"internal error: {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 to see where)")
        return EXIT_INTERNAL


def _silence_stdout() -> None:
    """The reader of stdout went away (``export | head``): stop Python complaining at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
