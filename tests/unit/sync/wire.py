"""Small builders for the wire values the engine's events carry, and a transcript driver."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from desktop.sync.actions import Action, EmitStatus
from desktop.sync.backoff import BackoffPolicy
from desktop.sync.core import CoreConfig, SyncCore
from desktop.sync.events import Counts, Event, Mode, Start, Timing
from protocol.messages import (
    BranchInfo,
    Change,
    ChangesFrame,
    DeviceInfo,
    DirectoryResponse,
    ErrorDetail,
    HelloFrame,
    MutationResult,
    PullResponse,
)

__all__ = [
    "EPOCH",
    "OFFSET",
    "PREDICTABLE",
    "TIMING",
    "Step",
    "change",
    "changes_frame",
    "counts",
    "directory",
    "drive",
    "hello",
    "hlc",
    "new_core",
    "page",
    "result",
    "start",
]

EPOCH = "epoch-1"
TIMING = Timing(sent_ms=1_000, received_ms=1_100)
"""Every request in a transcript leaves at 1000 and is answered at 1100 (local clock)."""
OFFSET = 4_000
"""The server clock in ``hlc()`` runs this far ahead of the local one."""
UNCERTAINTY = 50
"""Half the round trip of ``TIMING``: how far a measured offset may be from the true one."""

PREDICTABLE = CoreConfig(
    batch_size=500,
    backoff=BackoffPolicy(initial_delay=0.0, min_delay=1.0, max_delay=4.0, factor=2.0, jitter=0.0),
    max_restamps=2,
    retry_delay=5.0,
    retry_spread=0.0,
    held_changes=3,
    status_interval=0.0,
)
"""No jitter: reconnection delays are 0, 1, 2, 4, 4, ... (0, 1, 1, ... for 30 s after a
restart) and the server's delays exact, so transcripts can spell them out. At most 3
changes heard during a pull are held.
A ``status`` frame per change (no coalescing): ``STATUS_TRANSCRIPTS`` cover the window."""

Step = tuple[Event, Sequence[Action]]


def new_core(config: CoreConfig = PREDICTABLE) -> SyncCore:
    return SyncCore(config)


def hlc(wall_ms: int = 1_050 + OFFSET, counter: int = 0, node: str = "server.1") -> str:
    return f"{wall_ms:015d}-{counter:06d}-{node}"


def counts(pending: int = 0, rejected: int = 0, conflicts: int = 0) -> Counts:
    return Counts(pending, rejected, conflicts)


def start(
    mode: Mode = Mode.CONTINUOUS,
    cursor: int = 0,
    epoch: str | None = EPOCH,
    pending: int = 0,
    epoch_reset: bool = False,
    last_sync: datetime | None = None,
) -> Start:
    return Start(mode, cursor, epoch, counts(pending), epoch_reset, last_sync)


def hello(head: int = 0, epoch: str = EPOCH) -> HelloFrame:
    return HelloFrame(type="hello", server_hlc=hlc(), head=head, epoch=epoch)


def change(seq: int) -> Change:
    row = uuid.UUID(int=seq)
    return Change(
        seq=seq,
        collection="clients",
        row_id=row,
        fields={"name": f"client {seq}"},
        clocks={"name": hlc(seq)},
        deleted=False,
    )


def page(seqs: Sequence[int], cursor: int, has_more: bool = False, epoch: str = EPOCH) -> PullResponse:
    return PullResponse(
        changes=[change(s) for s in seqs], cursor=cursor, has_more=has_more, server_hlc=hlc(), epoch=epoch
    )


def changes_frame(first: int, last: int) -> ChangesFrame:
    """A frame carrying changes ``first+1 .. last``: ``from`` = first, ``to`` = last."""
    return ChangesFrame.model_validate(
        {
            "type": "changes",
            "from": first,
            "to": last,
            "changes": [change(s) for s in range(first + 1, last + 1)],
        }
    )


def directory(*names: str, zone: str | None = None) -> DirectoryResponse:
    """A directory listing branches ``names`` (all in ``zone``), each with one PC."""
    return DirectoryResponse(
        branches=[BranchInfo(id=f"b-{n.lower()}", name=n, timezone=zone) for n in names],
        devices=[DeviceInfo(id=f"pc-{n.lower()}", name=f"{n} PC", branch_id=f"b-{n.lower()}") for n in names],
    )


def result(n: int, status: str = "applied", code: str | None = None) -> MutationResult:
    data: dict[str, Any] = {"id": uuid.UUID(int=n), "status": status}
    if code is not None:
        data["error"] = ErrorDetail(code=code, message=code)
    if status == "applied":
        data["seq"] = n
    return MutationResult.model_validate(data)


def drive(core: SyncCore, steps: Sequence[Step]) -> None:
    """Feed each event; the actions (status emissions aside) must be exactly the expected ones."""
    for index, (event, expected) in enumerate(steps):
        actions = [a for a in core.handle(event) if not isinstance(a, EmitStatus)]
        assert actions == list(expected), f"step {index}: {event!r} gave {actions!r}"
