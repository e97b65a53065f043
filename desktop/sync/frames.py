"""Server frames as the core sees them: a known frame, or an explicit unknown/invalid value.

Parsing never raises: a frame type this version does not know (a newer server) is an
``UnknownFrame``, text that is not a frame at all an ``InvalidFrame``; the core answers
both with a pull. The status frame the engine sends is ``protocol.wire.status_text``.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from desktop.sync.events import Frame, InvalidFrame, UnknownFrame
from protocol.messages import parse_server_frame
from protocol.wire import SERVER_FRAME_TYPES, status_text

__all__ = ["KNOWN_TYPES", "parse_frame", "status_text"]

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
