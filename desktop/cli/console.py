"""The entry point of ``branchsync``: parse, run the command, turn every failure into an exit code.

Errors are translated here, once: the cache's storage errors exit 4, an unknown
collection 2, input the cache refused 1, anything else is a bug (70, one line; the
traceback with ``BRANCHSYNC_DEBUG=1``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from desktop.cache import CacheError, StorageError, UnknownCollection
from desktop.cli.exit_codes import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_REFUSED, EXIT_STORAGE, EXIT_USAGE
from desktop.cli.output import say_error
from desktop.cli.parser import Handler, build_parser
from desktop.cli.window import open_window
from desktop.config.paths import resolve_data_dir

__all__ = ["DEBUG_ENV", "main"]

DEBUG_ENV = "BRANCHSYNC_DEBUG"


def _run(args: argparse.Namespace) -> int:
    args.data_dir = resolve_data_dir(getattr(args, "data_dir", None))
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        return open_window(args)
    return handler(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``branchsync`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
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
