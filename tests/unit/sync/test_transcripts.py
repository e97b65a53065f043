"""Replays every recorded transcript against a new core."""

from __future__ import annotations

import pytest

from tests.unit.sync.transcripts import TRANSCRIPTS
from tests.unit.sync.wire import Step, drive, new_core


@pytest.mark.parametrize("steps", TRANSCRIPTS.values(), ids=list(TRANSCRIPTS))
def test_transcript(steps: list[Step]) -> None:
    drive(new_core(), steps)
