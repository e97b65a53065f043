"""Branches that edit offline converge: last write wins per field, a wrong clock is corrected,
poison is set aside."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from desktop.demo.link_proxy import LinkProxy
from desktop.sync.actions import Outcome
from desktop.sync.status import EngineState
from protocol.hlc import Timestamp, parse, system_wall_ms
from tests.support.desktop_engine import Installation, enrolled_installation, wait_until
from tests.support.devices import enrolled_device
from tests.support.live_server import LiveServer
from tests.support.server_rows import server_count, server_rows
from tests.support.sync_client import mutation

DAY_MS = 86_400_000


def _offline(installation: Installation) -> bool:
    return (s := installation.status) is not None and s.state is EngineState.OFFLINE


def _stamp_of(installation: Installation, row_id: str, field: str) -> str:
    record = installation.cache.get("clients", row_id)
    assert record is not None
    return record.clocks[field]


def _later_than(stamp: str) -> None:
    """Return once the wall clock has passed the wall time of ``stamp``: the next edit sorts after it."""
    wall = parse(stamp).wall_ms
    wait_until(lambda: system_wall_ms() > wall + 2, 5, "the clock to move on")


@pytest.mark.parametrize("first_back", ["South (the later edit)", "North (the earlier edit)"])
def test_two_branches_editing_one_client_offline_converge(
    north: Installation, south: Installation, proxy: LinkProxy, database_url: str, first_back: str
) -> None:
    north.start()
    south.start()
    row_id = north.cache.create("clients", {"name": "Ada", "notes": "first visit"})
    wait_until(lambda: south.cache.get("clients", row_id) is not None, 10, "the client on South")
    proxy.cut()
    wait_until(lambda: _offline(north) and _offline(south), 10, "both offline")

    north.cache.update("clients", row_id, {"phone": "+44 20 7946 0000", "notes": "North's note"})
    _later_than(_stamp_of(north, row_id, "notes"))
    south.cache.update("clients", row_id, {"email": "ada@example.com", "notes": "South's note"})

    # Whichever branch reconnects first, both end with the same row and North, whose
    # value lost, sees the conflict once (South's edit carries the clocks it was based on).
    first, second = (south, north) if first_back.startswith("South") else (north, south)
    second.stop()
    proxy.restore()
    first.wait_synced(20)
    second.start()
    second.wait_synced(20)

    def has_both_edits(branch: Installation) -> bool:
        record = branch.cache.get("clients", row_id)
        return record is not None and bool(record.fields.get("email")) and bool(record.fields.get("phone"))

    wait_until(lambda: has_both_edits(north) and has_both_edits(south), 10, "both edits on both branches")
    on_north, on_south = north.cache.get("clients", row_id), south.cache.get("clients", row_id)
    assert on_north is not None and on_south is not None
    expected = {
        "name": "Ada",
        "phone": "+44 20 7946 0000",
        "email": "ada@example.com",
        "notes": "South's note",
    }
    for record in (on_north, on_south):
        assert {k: record.fields.get(k) for k in expected} == expected
        assert record.clocks == on_north.clocks
    server = server_rows(database_url)[row_id]
    assert {k: server[k] for k in expected} == expected
    (conflict,) = north.cache.conflicts()
    assert (conflict.field, conflict.my_value, conflict.winning_value) == (
        "notes",
        "North's note",
        "South's note",
    )
    assert south.cache.conflicts() == []


def test_a_branch_whose_clock_is_a_day_behind_still_wins_with_its_later_edit(
    north: Installation, proxy: LinkProxy, database_url: str, tmp_path: Path
) -> None:
    def a_day_behind() -> int:
        return system_wall_ms() - DAY_MS

    with enrolled_installation(proxy.url, database_url, tmp_path / "late", "Late", a_day_behind) as late:
        # enrolling was its one connection: from now on it stamps with the server's time
        assert abs(late.cache.state().clock_offset_ms - DAY_MS) < 60_000
        north.start()
        row_id = north.cache.create("clients", {"name": "Before"})
        north.wait_synced()
        proxy.cut()  # the late branch edits offline, after North
        _later_than(_stamp_of(north, row_id, "name"))
        assert late.sync_once() is Outcome.UNREACHABLE  # nothing pulled, nothing lost
        late.cache.create("clients", {"name": "Offline on the late PC"})
        proxy.restore()
        late.start()
        late.wait_synced(20)
        wait_until(lambda: late.cache.get("clients", row_id) is not None, 10, "the client on the late PC")
        late.cache.update("clients", row_id, {"name": "After"})
        assert abs(parse(_stamp_of(late, row_id, "name")).wall_ms - system_wall_ms()) < 60_000
        late.wait_synced(20)
        wait_until(
            lambda: (r := north.cache.get("clients", row_id)) is not None and r.fields["name"] == "After",
            10,
            "the later edit winning on North",
        )
        assert server_rows(database_url)[row_id]["name"] == "After"
        assert late.cache.conflicts() == [] and north.cache.conflicts() == []


def test_a_poison_mutation_is_set_aside_while_the_rest_flow(north: Installation, database_url: str) -> None:
    good = [north.cache.create("clients", {"name": f"good {n}"}) for n in range(20)]
    poison = north.cache.create("clients", {"name": "poison", "email": "fine@example.com"})
    more = [north.cache.create("clients", {"name": f"after {n}"}) for n in range(5)]
    north.poison_queued_create(poison)

    north.start()
    north.wait_synced(20)
    assert set(server_rows(database_url)) == set(good) | set(more)
    (rejected,) = north.cache.rejected()
    assert (rejected.row_id, rejected.code) == (poison, "invalid_email")
    assert north.status is not None and north.status.rejected == 1 and north.status.pending == 0
    assert server_count(database_url, "rejections") == 1


def test_a_device_stamping_ahead_does_not_move_another_branchs_clock(
    north: Installation, sync_server: LiveServer, database_url: str
) -> None:
    """A PC ten seconds fast pushes an edit stamped with its time (the server accepts up to
    ``max_clock_skew_s``); the server's HLC absorbs it, so the ``server_hlc`` of its next
    answers is ten seconds ahead. Found by the chaos soak: North took that for the server's
    wall clock and "corrected" its own by +10 s with an uncertainty of a few ms; answers now
    carry the server's own clock (``server_wall_ms``), which North measures against."""
    ahead = asyncio.run(enrolled_device(sync_server.url, database_url, "Fast PC"))
    stamp = str(Timestamp(system_wall_ms() + 10_000, 0, ahead.id))  # within the allowed skew
    pushed = httpx.post(
        f"{sync_server.url}/api/v1/sync/push",
        json={"mutations": [mutation(stamp, {"name": "Stamped by a PC ten seconds fast"})]},
        headers=ahead.headers,
        timeout=30,
    )
    assert pushed.status_code == 200, pushed.text

    north.start()
    north.wait_synced(20)
    state = north.cache.state()
    # one machine, one clock: the truth (0) must stay inside the offset's own interval
    assert abs(state.clock_offset_ms) <= state.clock_uncertainty_ms + 5, state
