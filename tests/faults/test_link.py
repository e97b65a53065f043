"""Link faults through a real TCP proxy: cut, stalled, slow, a server that goes away, forged frames."""

from __future__ import annotations

import json
import threading

import httpx
from prometheus_client.parser import text_string_to_metric_families

from desktop.demo.link_proxy import LinkProxy
from desktop.sync.status import EngineState, Halt
from server.settings import Settings
from tests.support.desktop_engine import Installation, wait_until
from tests.support.live_server import LiveServer, free_port, live_server
from tests.support.server_rows import server_count, server_rows


def _offline(installation: Installation) -> bool:
    return (s := installation.status) is not None and s.state is EngineState.OFFLINE


def test_edits_made_while_the_link_is_cut_arrive_exactly_once(
    north: Installation, proxy: LinkProxy, database_url: str
) -> None:
    north.start()
    north.wait_online()
    proxy.cut()
    wait_until(lambda: _offline(north), 10, "North offline")
    ids = [north.cache.create("clients", {"name": f"offline {n}"}) for n in range(50)]
    north.cache.update("clients", ids[0], {"phone": "+1 555 0100"})
    north.cache.delete("clients", ids[1])
    wait_until(lambda: (s := north.status) is not None and s.pending == 52, 5, "52 pending in the status")
    assert server_rows(database_url) == {}

    proxy.restore()
    north.wait_synced(20)
    rows = server_rows(database_url)
    assert set(rows) == set(ids) - {ids[1]}
    assert rows[ids[0]]["phone"] == "+1 555 0100"
    assert server_count(database_url, "applied_mutations") == 52
    assert north.engine is not None and north.engine.error is None


def test_a_stalled_link_is_found_by_pings_and_recovers(
    north: Installation, proxy: LinkProxy, database_url: str
) -> None:
    north.start()
    north.wait_online()
    proxy.stall()
    wait_until(lambda: _offline(north), 10, "the dead link noticed")
    row_id = north.cache.create("clients", {"name": "Queued while stalled"})
    proxy.restore()
    north.wait_synced(20)
    assert set(server_rows(database_url)) == {row_id}


def test_a_slow_link_still_delivers_everything(
    north: Installation, proxy: LinkProxy, database_url: str
) -> None:
    proxy.slow(0.05)
    north.start()
    north.wait_online(20)
    ids = {north.cache.create("clients", {"name": f"slow {n}"}) for n in range(20)}
    north.wait_synced(20)
    assert set(server_rows(database_url)) == ids


def test_edits_while_the_server_is_down_arrive_when_a_new_server_process_is_up(
    north: Installation, proxy: LinkProxy, database_url: str
) -> None:
    north.start()
    north.wait_online()
    proxy.retarget("127.0.0.1", free_port())  # nothing listens there: the server is down
    proxy.cut()
    wait_until(lambda: _offline(north), 10, "North offline")
    ids = {north.cache.create("clients", {"name": f"during outage {n}"}) for n in range(10)}
    with live_server(Settings(database_url=database_url)) as replacement:
        proxy.retarget("127.0.0.1", int(replacement.url.rsplit(":", 1)[1]))
        proxy.restore()
        north.wait_synced(20)
    assert set(server_rows(database_url)) == ids
    assert server_count(database_url, "applied_mutations") == 10
    # a server going away and coming back is "cannot be reached", never a protocol failure
    assert not any("does not understand" in (status.last_error or "") for status in north.statuses)


def _ws_text_frame(payload: bytes) -> bytes:
    """An unmasked text frame, as a server sends it."""
    if len(payload) < 126:
        return bytes([0x81, len(payload)]) + payload
    return bytes([0x81, 126]) + len(payload).to_bytes(2, "big") + payload


def _pulls(server: LiveServer) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "branchsync_pull_duration_seconds_count":
                return sample.value
    return 0.0


def test_garbage_and_out_of_order_frames_lead_to_a_pull_not_a_crash(
    north: Installation, south: Installation, proxy: LinkProxy, sync_server: LiveServer
) -> None:
    south.cache.create("clients", {"name": "Already there"})
    south.start()
    south.wait_synced()
    north.start()
    north.wait_online()
    assert north.status is not None
    head = north.status.cursor
    assert head == 1
    south.stop()  # from now on, only North's socket goes through the proxy

    for forged in (
        b"\x00 not json",
        json.dumps({"type": "changes", "from": 41, "to": 42, "changes": []}).encode(),
        json.dumps({"type": "gossip", "hello": "there"}).encode(),
    ):
        before = _pulls(sync_server)
        proxy.inject_to_clients(_ws_text_frame(forged))

        def pulled(before: float = before) -> bool:
            return _pulls(sync_server) > before

        wait_until(pulled, 10, f"a pull after {forged!r}")
        north.wait_online()
    assert north.status.cursor == head  # the forged frame moved nothing
    assert north.current is not None and north.current.ignored_frames == 2
    assert north.engine is not None and north.engine.running and north.engine.error is None
    row_id = south.cache.create("clients", {"name": "After the garbage"})
    south.start()
    wait_until(lambda: north.cache.get("clients", row_id) is not None, 10, "new changes still flow")


def test_a_revoked_device_stops_and_does_not_hammer_the_server(
    north: Installation, proxy: LinkProxy, database_url: str
) -> None:
    import asyncio

    from server.ops import admin
    from server.store.engine import create_engine

    north.start()
    north.wait_online()

    async def revoke() -> None:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with engine.begin() as conn:
                await admin.revoke_device(conn, north.cache.state().device_id or "")
        finally:
            await engine.dispose()

    asyncio.run(revoke())
    wait_until(lambda: (s := north.status) is not None and s.halted is Halt.REVOKED, 10, "North halted")
    attempts = proxy.accepted
    north.cache.create("clients", {"name": "Written after the revocation"})
    wait_until(lambda: (s := north.status) is not None and s.pending == 1, 5, "the edit counted")
    assert proxy.accepted == attempts
    assert north.status is not None and north.status.state is EngineState.OFFLINE
    assert "enrol" in (north.status.last_error or "")


def test_a_stalled_handshake_does_not_skew_the_clock_offset(north: Installation, proxy: LinkProxy) -> None:
    """The hello arrives 3 s after the connect began (an offset of about -1.5 s by itself);
    the quick pull answer that follows on the same connection wins the clock filter."""
    proxy.stall("to_client")
    north.start()
    wait_until(lambda: proxy.open_connections >= 1, 10, "the engine connecting")
    stall = threading.Timer(3.0, proxy.restore)  # the fault's length, not a synchronisation
    stall.start()
    try:
        wait_until(lambda: north.cache.state().last_sync is not None, 20, "a first sync")
    finally:
        stall.cancel()
    state = north.cache.state()
    assert state.clock_uncertainty_ms < 1_000
    assert abs(state.clock_offset_ms) <= 2 * state.clock_uncertainty_ms + 5  # one clock: the truth is 0
