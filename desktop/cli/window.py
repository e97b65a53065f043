"""``branchsync`` with no command opens the app's window; ``branchsync demo`` runs the demo.

Qt (and the demo's server parts) are imported only when one of them runs, so the
headless commands start fast and work where no display is.
"""

from __future__ import annotations

import argparse
import sys

from desktop.cli.exit_codes import EXIT_STORAGE, EXIT_USAGE
from desktop.cli.output import PROG, fail

__all__ = ["open_demo", "open_window"]


def open_window(args: argparse.Namespace) -> int:
    """The desktop app until its window is closed. A configuration or data folder that cannot
    be used was already shown in a dialog, so here it only becomes the exit code (2 or 4)."""
    from desktop.ui.app import NotStarted, run_app

    match run_app(args.data_dir):
        case NotStarted.BAD_CONFIG:
            return EXIT_USAGE
        case NotStarted.NO_STORAGE:
            return EXIT_STORAGE
        case int() as status:
            return status


def open_demo(args: argparse.Namespace) -> int:
    """``branchsync demo``: needs a source install (the installed app carries no server)."""
    if getattr(sys, "frozen", False):  # installers/branchsync.spec leaves the server out
        return fail(
            "the demo runs a server too, so it needs a source install: `pip install -e .`, then "
            f"`{PROG} demo`",
            EXIT_USAGE,
        )
    from desktop.demo.app import main as run_demo

    return run_demo(args)
