"""The whole ``branchsync`` command line in one place: its commands, flags and help.

This is a public interface (IT scripts drive it), so every command, flag, default and
help text here stays as it is. Each command sets ``handler``, the function that runs
it; the engine's commands are imported only when one of them runs (``engine_command``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn

from desktop import __version__
from desktop.cli.exit_codes import EXIT_USAGE
from desktop.cli.output import PROG, say_error
from desktop.cli.reports import conflicts, rejected
from desktop.cli.rows import delete_row, export_rows, import_rows
from desktop.cli.status import status
from desktop.cli.window import open_demo
from desktop.config.paths import DATA_DIR_ENV
from protocol.collections import COLLECTIONS

__all__ = ["ENGINE_PACKAGES", "Handler", "build_parser", "engine_command"]

Handler = Callable[[argparse.Namespace], int]

ENGINE_PACKAGES = ("desktop.sync", "desktop.cli.engine")
"""The engine's modules: a build without them still runs the local commands."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{PROG}: {message} (see `{PROG} --help`)\n")


# ---- the engine's commands, imported when used -----------------------------------


def engine_command(load: Callable[[], Handler]) -> Handler:
    """A handler that imports the engine's command (``load()`` does, with a plain ``import``)
    only when it runs.

    So the local commands start without loading the engine and its network stack, and
    work in a build without it; there, the engine commands say so and exit 2. A missing
    library the engine needs is a broken build, not a missing engine: that is raised.
    """

    def run(args: argparse.Namespace) -> int:
        try:
            handler = load()
        except ModuleNotFoundError as exc:
            if not _is_engine(exc.name):
                raise
            say_error(f"`{args.command}` needs the sync engine, which this build does not include")
            return EXIT_USAGE
        return handler(args)

    return run


def _is_engine(module: str | None) -> bool:
    return module is not None and any(
        module == package or module.startswith(f"{package}.") for package in ENGINE_PACKAGES
    )


def _enroll() -> Handler:
    from desktop.cli.engine import enroll

    return enroll


def _sync_once() -> Handler:
    from desktop.cli.engine import sync_once

    return sync_once


def _run() -> Handler:
    from desktop.cli.engine import run

    return run


# ---- the parser ---------------------------------------------------------------------


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
    enroll = command("enroll", engine_command(_enroll), "enrol this installation with a server")
    enroll.add_argument("--server", required=True, metavar="URL")
    enroll.add_argument("--code", required=True)
    enroll.add_argument("--name", metavar="DEVICE_NAME", default=None)
    sync = command("sync", engine_command(_sync_once), "push everything and pull until caught up, then exit")
    sync.add_argument("--once", action="store_true", required=True)
    sync.add_argument("--timeout", type=float, default=None, metavar="SECONDS")
    command("run", engine_command(_run), "run the sync engine until SIGINT/SIGTERM")
    demo = command("demo", open_demo, "try Branchsync: a local server and two branch windows side by side")
    demo.add_argument("--clients", type=int, default=300, metavar="N", help="sample clients (default 300)")
    demo.add_argument("--database-url", metavar="URL", help="use this PostgreSQL instead of an embedded one")
    demo.add_argument("--keep", action="store_true", help="keep the demo's folder (its path is printed)")
    demo.add_argument("--quit-after", type=float, metavar="SECONDS", help=argparse.SUPPRESS)
    status_command = command("status", status, "show this installation's sync state")
    status_command.add_argument("--json", action="store_true")
    imported = command("import", import_rows, "create or edit rows from a CSV or JSON file")
    imported.add_argument("collection", metavar="COLLECTION", help=collection_help)
    imported.add_argument(
        "file", metavar="FILE", help="a .csv file, or a .json file as `export --format json` writes"
    )
    exported = command("export", export_rows, "write the current rows to stdout")
    exported.add_argument("collection", metavar="COLLECTION", help=collection_help)
    exported.add_argument("--format", choices=["csv", "json"], default="csv")
    deleted = command("delete", delete_row, "delete one row")
    deleted.add_argument("collection", metavar="COLLECTION", help=collection_help)
    deleted.add_argument("id", metavar="ID")
    for name, handler, text in (
        ("conflicts", conflicts, "list local values that lost to a later edit elsewhere"),
        ("rejected", rejected, "list local changes the server refused"),
    ):
        command(name, handler, text).add_argument("--json", action="store_true")
    return parser
