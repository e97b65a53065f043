"""``branchsync``: the headless command line of the desktop app (IT scripts depend on it).

``branchsync [--data-dir DIR] COMMAND``. Local commands (status, import, export,
delete, conflicts, rejected) work on the cache alone; ``enroll``, ``sync --once``
and ``run`` are the sync engine's (``engine``, imported only when one of them runs).
Every failure is one line on stderr and a non-zero exit, never a traceback (set
``BRANCHSYNC_DEBUG=1`` to see one for an internal error). The exit codes are in
``exit_codes``.

The modules, one job each:

* ``console``: the entry point: parse, run the command, turn errors into exit codes;
* ``parser``: the whole command line (commands, flags, help), in one place;
* ``status``, ``rows`` (import, export, delete), ``reports`` (conflicts, rejected): the
  local commands; ``engine``: enroll, sync --once, run; ``window``: the app's window and
  the demo (Qt is imported only when they run);
* ``output`` and ``exit_codes``: what every command shares.
"""

from desktop.cli.console import main

__all__ = ["main"]
