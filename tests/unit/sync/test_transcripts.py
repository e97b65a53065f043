"""Replays every recorded transcript against a new core."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from desktop.sync.actions import OpenSocket, StartTimer
from desktop.sync.core import CoreConfig, SyncCore
from desktop.sync.events import Failure, PullFailed, SocketOpened
from tests.unit.sync.transcripts import COALESCED, STATUS_TRANSCRIPTS, TRANSCRIPTS
from tests.unit.sync.wire import PREDICTABLE, TIMING, Step, drive, hello, new_core, start


@pytest.mark.parametrize("steps", TRANSCRIPTS.values(), ids=list(TRANSCRIPTS))
def test_transcript(steps: list[Step]) -> None:
    drive(new_core(), steps)


@pytest.mark.parametrize("steps", STATUS_TRANSCRIPTS.values(), ids=list(STATUS_TRANSCRIPTS))
def test_status_transcript(steps: list[Step]) -> None:
    drive(new_core(replace(PREDICTABLE, status_interval=COALESCED)), steps)


def test_the_default_coalesces_status_frames() -> None:
    assert CoreConfig().status_interval == 5.0


@pytest.mark.parametrize("field", ["status_interval", "retry_spread"])
def test_a_negative_interval_or_spread_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        CoreConfig(**{field: -1.0})


def test_a_delay_the_server_gave_is_waited_out_stretched_by_at_most_half() -> None:
    delays: list[float] = []
    for seed in range(50):
        core = SyncCore(replace(PREDICTABLE, retry_spread=0.5), rng=random.Random(seed))
        assert OpenSocket() in core.handle(start())
        core.handle(SocketOpened(hello(head=0), TIMING))
        actions = core.handle(PullFailed(Failure.OVERLOADED, retry_after=2.0))
        delays += [a.delay for a in actions if isinstance(a, StartTimer)]
    assert len(delays) == 50
    assert all(2.0 <= delay <= 3.0 for delay in delays)
    assert max(delays) - min(delays) > 0.5, "a fleet told the same delay comes back spread"
