"""``branchsync-server``: the command line (``commands``), its backup/admin commands
(``ops_commands``) and the one-line failure messages (``failures``)."""

from server.cli.commands import main

__all__ = ["main"]
