"""The offset from this machine's clock to the server's, measured NTP-style.

The server read its clock somewhere between our send and our receive; assuming the
way out took as long as the way back, that moment is the midpoint. The error is at
most half the round trip, which is far below the server's ``max_clock_skew``.
"""

from __future__ import annotations

from protocol.hlc import parse

__all__ = ["measure_offset"]


def measure_offset(sent_ms: int, received_ms: int, server_hlc: str) -> int:
    """Server clock minus local clock, in milliseconds.

    Args:
        sent_ms: local wall clock when the request left.
        received_ms: local wall clock when its answer arrived.
        server_hlc: the server's HLC in the answer; its wall part is the server clock.

    Raises:
        protocol.errors.InvalidTimestamp: ``server_hlc`` is not an HLC.
        ValueError: the answer arrived before the request left (the local clock jumped).
    """
    if received_ms < sent_ms:
        raise ValueError("received before sent: the local clock jumped during the request")
    midpoint = (sent_ms + received_ms) // 2
    return parse(server_hlc).wall_ms - midpoint
