"""The offset from this machine's clock to the server's, measured NTP-style.

The server read its clock somewhere between our send and our receive; assuming the
way out took as long as the way back, that moment is the midpoint. The error is at
most half the round trip, whatever the split, so each sample carries that bound as
its uncertainty. As in NTP's clock filter, the sample with the smallest round trip
of a connection is the one to trust: a stalled handshake (seconds one way) makes a
wide sample, which a quick ping or push answer later replaces.

A correction never moves the offset in use further than the best sample supports:
the offset in use is clamped into that sample's interval ``offset ± uncertainty``.
One inside the interval stays (the measurement cannot tell them apart); one outside,
even a day off, moves to the interval's nearest edge. Either way the truth and the
offset in use share that interval: after a single connection the offset is off by at
most its width (twice the uncertainty), and a correction only ever moves towards the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.hlc import parse

__all__ = ["OffsetEstimate", "best_estimate", "corrected_offset", "estimate", "measure_offset"]


@dataclass(frozen=True, slots=True)
class OffsetEstimate:
    """Server clock minus local clock (ms), true to within ``uncertainty_ms`` (half the round trip)."""

    offset_ms: int
    uncertainty_ms: int


def measure_offset(sent_ms: int, received_ms: int, server_hlc: str, server_wall_ms: int | None = None) -> int:
    """Server clock minus local clock, in milliseconds (see ``estimate``)."""
    return estimate(sent_ms, received_ms, server_hlc, server_wall_ms).offset_ms


def estimate(
    sent_ms: int, received_ms: int, server_hlc: str, server_wall_ms: int | None = None
) -> OffsetEstimate:
    """The offset one timed answer shows, with its uncertainty.

    Args:
        sent_ms: local wall clock when the request left.
        received_ms: local wall clock when its answer arrived.
        server_hlc: the server's HLC in the answer.
        server_wall_ms: the server's own clock in the answer, the reading to measure
            against; None (a server before issue 12) takes the wall part of
            ``server_hlc``, which runs ahead when a device pushed stamps from a fast clock.

    Raises:
        protocol.errors.InvalidTimestamp: ``server_hlc`` is not an HLC.
        ValueError: the answer arrived before the request left (the local clock jumped).
    """
    if received_ms < sent_ms:
        raise ValueError("received before sent: the local clock jumped during the request")
    reading = parse(server_hlc).wall_ms if server_wall_ms is None else server_wall_ms
    midpoint = (sent_ms + received_ms) // 2
    # ceil: the floored midpoint may sit half a millisecond before the true one
    uncertainty = (received_ms - sent_ms + 1) // 2
    return OffsetEstimate(reading - midpoint, uncertainty)


def best_estimate(best: OffsetEstimate | None, sample: OffsetEstimate) -> OffsetEstimate:
    """The sample with the smaller round trip (the earlier one on a tie): NTP's min-delay filter."""
    if best is None or sample.uncertainty_ms < best.uncertainty_ms:
        return sample
    return best


def corrected_offset(in_use: int | None, best: OffsetEstimate) -> int:
    """The offset to use: ``in_use`` moved no further than into ``best``'s interval.

    With no offset in use yet the estimate itself is taken.
    """
    if in_use is None:
        return best.offset_ms
    low, high = best.offset_ms - best.uncertainty_ms, best.offset_ms + best.uncertainty_ms
    return min(max(in_use, low), high)
