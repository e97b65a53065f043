"""The entry point of ``branchsync``: parse, run the command, turn every failure into an exit code.

Errors are translated here, once: the cache's storage errors exit 4, an unknown
collection 2, input the cache refused 1, anything else is a bug (70, one line; the
traceback with ``BRANCHSYNC_DEBUG=1``).

A cache file found damaged is rebuilt by the next open (``desktop.cache.recovery``),
whose one sentence is printed here on stderr. When the damage shows only during a
command, the cache is rebuilt at once; a command that only syncs or reads is then run
again (``RETRIED``), any other stops (exit 4) with the words to run it again, since a
part of it may have been saved already and kept with the queued writes.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from desktop.cache import Cache, CacheError, StorageError, StorageProblem, UnknownCollection
from desktop.cli.exit_codes import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_REFUSED, EXIT_STORAGE, EXIT_USAGE
from desktop.cli.output import PROG, say_error
from desktop.cli.parser import Handler, build_parser
from desktop.cli.window import open_window
from desktop.config.paths import resolve_data_dir

__all__ = ["DEBUG_ENV", "RETRIED", "main"]

DEBUG_ENV = "BRANCHSYNC_DEBUG"
RETRIED = frozenset({"sync", "run", "status", "conflicts", "rejected"})
"""Commands run again after their cache was rebuilt under them: they write nothing of the user's."""


class _SayRecoveries(logging.Handler):
    """The cache's "rebuilt" sentence (a WARNING of ``desktop.cache.recovery``) on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        say_error(record.getMessage())


def _show_recoveries() -> None:
    logger = logging.getLogger("desktop.cache.recovery")
    if not any(isinstance(handler, _SayRecoveries) for handler in logger.handlers):
        logger.addHandler(_SayRecoveries(logging.WARNING))


def _run(args: argparse.Namespace) -> int:
    args.data_dir = resolve_data_dir(getattr(args, "data_dir", None))
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        return open_window(args)
    return handler(args)


def _run_rebuilding(args: argparse.Namespace) -> int:
    """``_run``, and when the cache shows damage on the way: rebuild it, run again if that is safe."""
    try:
        return _run(args)
    except StorageError as exc:
        if exc.problem is not StorageProblem.DAMAGED:
            raise
        Cache(args.data_dir, damaged=str(exc)).close()  # says its sentence
        command = getattr(args, "command", None)
        if command not in RETRIED:
            say_error(f"`{PROG} {command or ''}` was not finished; run it again now that the data is rebuilt")
            return EXIT_STORAGE
        return _run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``branchsync`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    _show_recoveries()
    try:
        return _run_rebuilding(args)
    except StorageError as exc:
        say_error(str(exc))
        return EXIT_STORAGE
    except UnknownCollection as exc:
        say_error(str(exc))
        return EXIT_USAGE
    except CacheError as exc:
        say_error(str(exc))
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        say_error(f"internal error: {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 to see where)")
        return EXIT_INTERNAL


def _silence_stdout() -> None:
    """The reader of stdout went away (``export | head``): stop Python complaining at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
