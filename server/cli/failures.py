"""One line for the operator from whatever a command raised.

The CLI promises a clear one-line error and never a traceback. Library exceptions
arrive wrapped (SQLAlchemy wraps the asyncpg error, which wraps nothing or an
``OSError``), so the chain is unwound to the exception that says what happened, and
that is sorted into *the database cannot be reached* (the operator fixes the
environment), *the database refused* and *a bug* (worth reporting).
"""

from __future__ import annotations

import asyncio

import asyncpg

from server.errors import ServerError

__all__ = ["describe_failure"]

_CANNOT_CONNECT: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InvalidCatalogNameError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidPasswordError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe_failure(exc: BaseException) -> str:
    """What went wrong, in one line without a traceback."""
    chain = _chain(exc)
    for link in chain:
        if isinstance(link, ServerError):
            return _first_line(link)
    for link in chain:
        if isinstance(link, _CANNOT_CONNECT):
            return f"cannot reach PostgreSQL: {_first_line(link)}"
    for link in chain:
        if isinstance(link, asyncpg.PostgresError):
            return f"PostgreSQL refused: {_first_line(link)}"
    innermost = chain[-1]
    return f"unexpected {type(innermost).__name__}: {_first_line(innermost)} (please report this)"
