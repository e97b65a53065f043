"""The hub's decisions: who gets a frame, who is resynced, revoked or shut down."""

from __future__ import annotations

import uuid

import pytest

from server.realtime.hub import WAIT, Close, CloseReason, Frame, Hub, Send, Subscription


class Wakes:
    """Counts wake-ups, as the asyncio adapter's event would see them."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def frame(from_seq: int, to_seq: int) -> Frame:
    return Frame(from_seq, to_seq, f"{from_seq}->{to_seq}")


def drain(sub: Subscription) -> list[str]:
    texts = []
    while isinstance(action := sub.next_action(), Send):
        texts.append(action.frame.text)
    return texts


def test_every_subscriber_gets_every_frame_in_order_and_is_woken() -> None:
    hub = Hub(queue_frames=8, head=10)
    wakes = [Wakes(), Wakes()]
    subs = [hub.subscribe(uuid.uuid4(), w) for w in wakes]
    hub.publish(frame(10, 12))
    hub.publish(frame(12, 15))
    assert [s.start for s in subs] == [10, 10]
    assert [drain(s) for s in subs] == [["10->12", "12->15"]] * 2
    assert [w.count for w in wakes] == [2, 2]
    assert hub.head == 15
    assert subs[0].next_action() is WAIT


def test_a_late_subscriber_starts_at_the_head() -> None:
    hub = Hub(queue_frames=4, head=0)
    hub.publish(frame(0, 3))
    late = hub.subscribe(uuid.uuid4(), Wakes())
    assert late.start == 3
    assert late.next_action() is WAIT


def test_a_full_queue_resyncs_that_socket_only() -> None:
    hub = Hub(queue_frames=2)
    slow_wake, fast_wake = Wakes(), Wakes()
    slow = hub.subscribe(uuid.uuid4(), slow_wake)
    fast = hub.subscribe(uuid.uuid4(), fast_wake)
    hub.publish(frame(0, 1))
    hub.publish(frame(1, 2))
    assert drain(fast) == ["0->1", "1->2"]
    resynced = hub.publish(frame(2, 3))
    assert resynced == [slow]
    assert slow.next_action() == Close(CloseReason.RESYNC)
    assert slow.backlog == 0, "the backlog of a resynced socket is dropped"
    assert slow_wake.count == 3
    assert drain(fast) == ["2->3"]
    hub.publish(frame(3, 4))
    assert slow.next_action() == Close(CloseReason.RESYNC), "no more frames after the resync"
    assert len(hub) == 1
    assert hub.stats.resyncs == 1
    assert hub.stats.frames_published == 4


def test_revocation_closes_every_socket_of_that_device_and_refuses_new_ones() -> None:
    hub = Hub(queue_frames=4)
    device, other = uuid.uuid4(), uuid.uuid4()
    first, second = hub.subscribe(device, Wakes()), hub.subscribe(device, Wakes())
    bystander = hub.subscribe(other, Wakes())
    hub.publish(frame(0, 1))
    assert hub.revoke(device) in ([first, second], [second, first])
    assert first.next_action() == Close(CloseReason.REVOKED)
    assert second.next_action() == Close(CloseReason.REVOKED)
    assert drain(bystander) == ["0->1"]
    late = hub.subscribe(device, Wakes())
    assert late.close_reason is CloseReason.REVOKED
    assert hub.device_ids == {other}
    assert hub.stats.revoked_closes == 2


def test_the_first_close_reason_sticks() -> None:
    hub = Hub(queue_frames=1)
    device = uuid.uuid4()
    sub = hub.subscribe(device, Wakes())
    hub.publish(frame(0, 1))
    hub.publish(frame(1, 2))
    hub.revoke(device)
    hub.close_all()
    assert sub.next_action() == Close(CloseReason.RESYNC)


def test_close_all_ends_every_socket() -> None:
    hub = Hub(queue_frames=4)
    subs = [hub.subscribe(uuid.uuid4(), Wakes()) for _ in range(3)]
    hub.publish(frame(0, 1))
    hub.close_all()
    assert {s.next_action() for s in subs} == {Close(CloseReason.SHUTDOWN)}
    assert len(hub) == 0


def test_unsubscribed_sockets_get_nothing() -> None:
    hub = Hub(queue_frames=4)
    sub = hub.subscribe(uuid.uuid4(), Wakes())
    hub.unsubscribe(sub)
    hub.unsubscribe(sub)
    hub.publish(frame(0, 1))
    assert sub.next_action() is WAIT


@pytest.mark.parametrize(("from_seq", "to_seq"), [(4, 9), (6, 9), (5, 5), (5, 3)])
def test_a_frame_that_does_not_continue_the_stream_is_a_bug(from_seq: int, to_seq: int) -> None:
    hub = Hub(queue_frames=4, head=5)
    sub = hub.subscribe(uuid.uuid4(), Wakes())
    with pytest.raises(ValueError, match="does not continue"):
        hub.publish(frame(from_seq, to_seq))
    assert hub.head == 5
    assert sub.next_action() is WAIT


def test_queue_frames_must_be_positive() -> None:
    with pytest.raises(ValueError, match="queue_frames"):
        Hub(queue_frames=0)


def test_a_device_over_its_socket_limit_loses_its_oldest_sockets_only() -> None:
    hub = Hub(queue_frames=4, sockets_per_device=2)
    device, other = uuid.uuid4(), uuid.uuid4()
    wakes = Wakes()
    first = hub.subscribe(device, wakes)
    neighbour = hub.subscribe(other, Wakes())
    second = hub.subscribe(device, Wakes())

    third = hub.subscribe(device, Wakes())

    assert first.next_action() == Close(CloseReason.REPLACED) and wakes.count == 1
    hub.publish(frame(0, 1))
    assert [drain(s) for s in (second, third, neighbour)] == [["0->1"]] * 3
    assert len(hub) == 3 and hub.stats.replaced_closes == 1


def test_without_a_socket_limit_a_device_keeps_every_socket() -> None:
    hub = Hub(queue_frames=4)
    device = uuid.uuid4()
    subs = [hub.subscribe(device, Wakes()) for _ in range(10)]

    assert all(s.next_action() is WAIT for s in subs) and hub.stats.replaced_closes == 0


def test_sockets_per_device_must_be_positive() -> None:
    with pytest.raises(ValueError, match="sockets_per_device"):
        Hub(queue_frames=4, sockets_per_device=0)
