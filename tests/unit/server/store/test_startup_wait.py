"""``serve`` waits for a database that cannot be reached yet, and only for that (issue 12)."""

from __future__ import annotations

import logging
import socket

import asyncpg
import pytest
from sqlalchemy.exc import OperationalError

from server.errors import DatabaseUnavailable
from server.store.startup import is_transient, retry_delays, wait_for_database


class FakeTime:
    """A clock that moves only when the code under test pauses."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def clock(self) -> float:
        return self.now

    async def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def _failing(times: int, exc: BaseException) -> tuple[list[int], object]:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise exc
        return "migrated"

    return calls, attempt


def _wrapped(cause: BaseException) -> OperationalError:
    """How SQLAlchemy hands an asyncpg connect failure up: wrapped, with the cause chained."""
    try:
        raise OperationalError("SELECT 1", {}, cause) from cause
    except OperationalError as exc:
        return exc


async def test_a_database_that_comes_up_is_waited_for_and_the_wait_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    time = FakeTime()
    calls, attempt = _failing(4, _wrapped(ConnectionRefusedError(111, "Connection refused")))

    with caplog.at_level(logging.INFO, logger="server.store.startup"):
        result = await wait_for_database(
            attempt, limit_s=60, where="db:5432/x", clock=time.clock, pause=time.pause
        )  # type: ignore[arg-type]

    assert result == "migrated" and len(calls) == 5
    assert time.pauses == [0.25, 0.5, 1.0, 2.0]
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0].startswith("waiting for PostgreSQL at db:5432/x (")
    assert "giving up in 60 s" in messages[0]
    assert messages[-1] == "PostgreSQL at db:5432/x answered after 3.8 s"


async def test_the_wait_ends_at_its_limit_with_one_clear_line() -> None:
    time = FakeTime()
    _, attempt = _failing(
        1_000, _wrapped(asyncpg.CannotConnectNowError("the database system is starting up"))
    )

    with pytest.raises(DatabaseUnavailable) as raised:
        await wait_for_database(attempt, limit_s=20, where="db:5432/x", clock=time.clock, pause=time.pause)  # type: ignore[arg-type]

    assert time.now == pytest.approx(20)
    assert str(raised.value) == (
        "cannot reach PostgreSQL at db:5432/x after waiting 20 s (BRANCHSYNC_DB_START_WAIT_S=20):"
        " the database system is starting up"
    )


async def test_a_limit_of_zero_tries_once() -> None:
    time = FakeTime()
    calls, attempt = _failing(1, ConnectionRefusedError(111, "Connection refused"))

    with pytest.raises(DatabaseUnavailable):
        await wait_for_database(attempt, limit_s=0, where="db", clock=time.clock, pause=time.pause)  # type: ignore[arg-type]

    assert len(calls) == 1 and time.pauses == []


async def test_a_refusal_is_not_waited_for() -> None:
    time = FakeTime()
    refusal = _wrapped(asyncpg.InvalidPasswordError('password authentication failed for user "x"'))
    calls, attempt = _failing(1, refusal)

    with pytest.raises(OperationalError):
        await wait_for_database(attempt, limit_s=60, where="db", clock=time.clock, pause=time.pause)  # type: ignore[arg-type]

    assert len(calls) == 1 and time.pauses == []


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError(), True),
        (socket.gaierror(-2, "Name or service not known"), True),
        (_wrapped(asyncpg.TooManyConnectionsError("sorry, too many clients already")), True),
        (_wrapped(asyncpg.InvalidCatalogNameError('database "x" does not exist')), False),
        (PermissionError(13, "Permission denied"), False),
        (ValueError("a bug"), False),
    ],
)
def test_what_counts_as_not_reachable_yet(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_pauses_double_up_to_their_cap() -> None:
    delays = retry_delays(first=1, cap=5)
    assert [next(delays) for _ in range(5)] == [1, 2, 4, 5, 5]
