"""Failures become one line that says whose move it is."""

from __future__ import annotations

import asyncpg
import pytest

from server.cli.failures import describe_failure
from server.errors import AdminError, DatabaseUnavailable


def _wrapped(inner: BaseException, outer: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as caught:
        return caught


def test_our_own_errors_keep_their_message() -> None:
    assert describe_failure(AdminError("no branch named 'X'")) == "no branch named 'X'"
    assert describe_failure(DatabaseUnavailable("could not start\nlog follows")) == "could not start"


def test_connection_failures_say_postgres_cannot_be_reached() -> None:
    wrapped = _wrapped(
        ConnectionRefusedError(111, "Connect call failed"), RuntimeError("(dialect) wrapper\n[SQL]")
    )

    assert describe_failure(wrapped) == "cannot reach PostgreSQL: [Errno 111] Connect call failed"


def test_a_missing_database_is_a_connection_problem() -> None:
    wrapped = _wrapped(
        asyncpg.InvalidCatalogNameError('database "x" does not exist'), RuntimeError("wrapper")
    )

    assert describe_failure(wrapped) == 'cannot reach PostgreSQL: database "x" does not exist'


def test_other_database_errors_are_refusals() -> None:
    wrapped = _wrapped(
        asyncpg.InsufficientPrivilegeError("permission denied for table branches"), RuntimeError()
    )

    assert describe_failure(wrapped) == "PostgreSQL refused: permission denied for table branches"


@pytest.mark.parametrize("exc", [KeyError("k"), ValueError(""), RuntimeError("a\nb")])
def test_anything_else_is_a_bug_in_one_line(exc: Exception) -> None:
    message = describe_failure(exc)

    assert "\n" not in message
    assert message.startswith(f"unexpected {type(exc).__name__}") and message.endswith("(please report this)")
