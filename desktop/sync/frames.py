"""Server frames as the core sees them: a known frame, or an explicit unknown/invalid value.

Parsing never raises: a frame type this version does not know (a newer server) is an
``UnknownFrame``, text that is not a frame at all an ``InvalidFrame``; the core answers
both with a pull. The status frame the engine sends is ``protocol.wire.status_text``.

``join_changes`` turns ``changes`` frames that queued up behind a slow cache write into
one: applied as one transaction, a change costs what it costs in a pulled page (about a
tenth of a change applied on its own), so an engine that falls behind catches up
instead of falling further behind. ``following`` picks, from frames heard while a pull
was on its way, the ones that carry on where the pulled page ended, so they are applied
rather than pulled again.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import TypeGuard

from pydantic import ValidationError

from desktop.sync.events import Frame, InvalidFrame, UnknownFrame
from protocol.messages import Change, ChangesFrame, parse_server_frame
from protocol.wire import SERVER_FRAME_TYPES, status_text

__all__ = ["KNOWN_TYPES", "continues", "following", "join_changes", "parse_frame", "status_text"]

KNOWN_TYPES = SERVER_FRAME_TYPES


def parse_frame(data: str | bytes) -> Frame:
    """Read one frame the server sent."""
    try:
        return parse_server_frame(data)
    except ValidationError as exc:
        try:
            document = json.loads(data)
        except ValueError:
            return InvalidFrame("not JSON")
        kind = document.get("type") if isinstance(document, dict) else None
        if isinstance(kind, str) and kind not in KNOWN_TYPES:
            return UnknownFrame(kind[:100])
        first = exc.errors()[0] if exc.errors() else {"msg": "invalid"}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return InvalidFrame(f"{where}: {first['msg']}" if where else str(first["msg"]))


def continues(frame: Frame, after: ChangesFrame) -> TypeGuard[ChangesFrame]:
    """Whether ``frame`` is a ``changes`` frame that starts exactly where ``after`` ends."""
    return isinstance(frame, ChangesFrame) and frame.from_ == after.to


def join_changes(frames: list[ChangesFrame]) -> ChangesFrame:
    """One frame carrying the changes of ``frames`` (each continuing the one before it), in order."""
    if len(frames) == 1:
        return frames[0]
    if any(not continues(later, earlier) for earlier, later in itertools.pairwise(frames)):
        raise ValueError("only frames that continue one another can be joined")
    changes = [change for frame in frames for change in frame.changes]
    # built from frames already validated, so pydantic's checks are skipped
    return ChangesFrame.model_construct(
        type="changes", from_=frames[0].from_, to=frames[-1].to, changes=changes
    )


def following(frames: Sequence[ChangesFrame], cursor: int) -> ChangesFrame | None:
    """The changes of ``frames`` (in the order heard) that carry on from ``cursor`` without
    a gap, as one frame starting at ``cursor``; None when none reaches past it.

    Frames the cursor already covers are skipped, overlaps keep only what is new, and the
    chain stops at the first gap (what lies beyond it must be pulled).
    """
    end = cursor
    changes: list[Change] = []
    for frame in frames:
        if frame.to <= end:
            continue
        if frame.from_ > end:
            break
        changes.extend(change for change in frame.changes if change.seq > end)
        end = frame.to
    if end == cursor:
        return None
    return ChangesFrame.model_construct(type="changes", from_=cursor, to=end, changes=changes)
