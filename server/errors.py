"""The server's exceptions.

Exception tree::

    ServerError                  root of everything the server raises on purpose
     ├── ApiError                a request is refused: HTTP status + stable ``code``
     ├── AdminError              an admin command cannot be done (unknown branch, ...)
     ├── DatabaseUnavailable     PostgreSQL cannot be reached or started (operator acts)
     ├── WriteConflict           (server.sync.write_path) a concurrent writer got there first; the
     │                           batch is planned again, escapes only after 5 tries
     └── BackupError             a backup or restore failed or was refused (operator acts)
          └── RestoreRefused     the target database is not empty (and no --force)

``server.api.error_handlers`` turns them (and anything not foreseen) into the contract's
JSON error body. This module imports no web framework, so the admin command line,
which raises ``AdminError``, starts fast.
"""

from __future__ import annotations

from protocol.errors import ErrorCode

__all__ = [
    "AdminError",
    "ApiError",
    "BackupError",
    "DatabaseUnavailable",
    "RestoreRefused",
    "ServerError",
]


class ServerError(Exception):
    """Root of the server's own exceptions."""


class DatabaseUnavailable(ServerError):
    """PostgreSQL is unreachable or could not be started."""


class AdminError(ServerError):
    """An operator's request is impossible as asked; the message says why, in one line."""


class BackupError(ServerError):
    """A backup or restore could not be done; the message says why, in one line."""


class RestoreRefused(BackupError):
    """Restoring would overwrite a database that is not empty."""


class ApiError(ServerError):
    """A refused request, answered with ``status`` and the JSON error body."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
