"""Replays every recorded transcript against a new core."""

from __future__ import annotations

from dataclasses import replace

import pytest

from desktop.sync.core import CoreConfig
from tests.unit.sync.transcripts import COALESCED, STATUS_TRANSCRIPTS, TRANSCRIPTS
from tests.unit.sync.wire import PREDICTABLE, Step, drive, new_core


@pytest.mark.parametrize("steps", TRANSCRIPTS.values(), ids=list(TRANSCRIPTS))
def test_transcript(steps: list[Step]) -> None:
    drive(new_core(), steps)


@pytest.mark.parametrize("steps", STATUS_TRANSCRIPTS.values(), ids=list(STATUS_TRANSCRIPTS))
def test_status_transcript(steps: list[Step]) -> None:
    drive(new_core(replace(PREDICTABLE, status_interval=COALESCED)), steps)


def test_the_default_coalesces_status_frames() -> None:
    assert CoreConfig().status_interval == 5.0


def test_a_negative_status_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="status_interval"):
        CoreConfig(status_interval=-1.0)
