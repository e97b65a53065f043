"""``/metrics``: every promised series exists and moves with real traffic."""

from __future__ import annotations

import json

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from server.observability.metrics import METRIC_FAMILIES
from server.realtime.listener import LISTENER_APP_NAME
from server.settings import Settings
from server.store.engine import create_engine
from tests.support.devices import enrolled_device
from tests.support.live_server import LiveServer, live_server
from tests.support.scrape import Samples, scrape, value, wait_for_metric
from tests.support.sync_client import mutation, pull_all, push, stamper
from tests.support.sync_socket import open_socket


async def test_every_metric_is_exposed(ops_http: httpx.AsyncClient) -> None:
    answer = await ops_http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    families = {family.name for family in text_string_to_metric_families(answer.text)}
    assert {f for f in families if not f.endswith("_created")} == METRIC_FAMILIES
    assert value(await scrape(ops_http), "branchsync_database_up") == 1


async def test_push_pull_and_outcomes_are_counted(
    ops_server: LiveServer, ops_http: httpx.AsyncClient, database_url: str
) -> None:
    device = await enrolled_device(ops_server.url, database_url, "North")
    clock = stamper(device)
    body = await push(
        ops_http,
        device,
        [
            mutation(clock.now(), {"name": "Ada"}),
            mutation(clock.now(), {"name": "Bob", "email": "not an email"}),
        ],
    )
    assert [r["status"] for r in body["results"]] == ["applied", "rejected"]
    code = body["results"][1]["error"]["code"]
    replay = await push(ops_http, device, [body_mutation := mutation(clock.now(), {"name": "Cy"})])
    await push(ops_http, device, [body_mutation])
    assert replay["results"][0]["status"] == "applied"
    await pull_all(ops_http, device)

    samples = await scrape(ops_http)
    assert value(samples, "branchsync_push_duration_seconds_count") == 3
    assert value(samples, "branchsync_pull_duration_seconds_count") == 1
    assert value(samples, "branchsync_mutations_total", status="applied", code="") == 2
    assert value(samples, "branchsync_mutations_total", status="duplicate", code="") == 1
    assert value(samples, "branchsync_mutations_total", status="rejected", code=code) == 1
    assert (value(samples, "branchsync_http_responses_total", status="200") or 0) >= 4
    assert value(samples, "branchsync_change_head") == 2


async def test_sockets_status_frames_and_fanout_latency(
    ops_server: LiveServer, ops_http: httpx.AsyncClient, database_url: str
) -> None:
    device = await enrolled_device(ops_server.url, database_url, "North")
    socket = await open_socket(ops_server.ws_url, device)
    try:
        json.loads(await socket.recv())  # hello
        await socket.send(json.dumps({"type": "status", "cursor": 0, "pending": 3}))
        await push(ops_http, device, [mutation(stamper(device).now(), {"name": "Ada"})])
        await socket.recv()  # the changes frame

        def settled(s: Samples) -> bool:
            return (
                value(s, "branchsync_branch_pending_writes", branch="North") == 3
                and value(s, "branchsync_fanout_latency_seconds_count") == 1
            )

        samples = await wait_for_metric(ops_http, settled)
        assert value(samples, "branchsync_ws_connections") == 1
        assert value(samples, "branchsync_branch_devices_online", branch="North") == 1
        assert value(samples, "branchsync_branch_cursor_lag_changes", branch="North") == 1
        assert (
            value(samples, "branchsync_device_last_seen_age_seconds", branch="North", device=device.id) == 0
        )
        assert value(samples, "branchsync_branch_last_seen_age_seconds", branch="North") == 0
        assert (value(samples, "branchsync_ws_status_frames_total") or 0) >= 1
    finally:
        await socket.close()
    samples = await wait_for_metric(
        ops_http, lambda s: value(s, "branchsync_branch_devices_online", branch="North") == 0
    )
    assert value(samples, "branchsync_ws_connections") == 0
    assert (
        value(samples, "branchsync_device_last_seen_age_seconds", branch="North", device=device.id) or 0
    ) >= 0


async def test_listener_reconnects_are_counted(ops_http: httpx.AsyncClient, database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            killed = (
                await conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = :name AND datname = current_database()"
                    ),
                    {"name": LISTENER_APP_NAME},
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert killed == 1
    await wait_for_metric(ops_http, lambda s: value(s, "branchsync_listener_reconnects_total") == 1)


async def test_metrics_token_guards_the_endpoint(database_url: str) -> None:
    with live_server(Settings(database_url=database_url, metrics_token="s3cret-scrape")) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as client:
            refused = await client.get("/metrics")
            wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
            allowed = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
    assert refused.status_code == wrong.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    assert allowed.status_code == 200 and "branchsync_database_up 1.0" in allowed.text


async def test_without_a_token_only_this_host_may_read_metrics(ops_http: httpx.AsyncClient) -> None:
    """A scrape passed on by a reverse proxy on this host names its real client, which is
    not this host: without ``BRANCHSYNC_METRICS_TOKEN`` it is refused (issue 12)."""
    local = await ops_http.get("/metrics")
    remote = await ops_http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
    assert local.status_code == 200
    assert remote.status_code == 401
    assert "BRANCHSYNC_METRICS_TOKEN" in remote.json()["error"]["message"]


async def test_a_socket_on_one_process_counts_as_online_on_another(
    ops_server: LiveServer, ops_settings: Settings, database_url: str
) -> None:
    device = await enrolled_device(ops_server.url, database_url, "North")
    with live_server(ops_settings) as other:
        async with httpx.AsyncClient(base_url=other.url, timeout=30) as elsewhere:
            socket = await open_socket(ops_server.ws_url, device)
            try:
                samples = await wait_for_metric(
                    elsewhere, lambda s: value(s, "branchsync_branch_devices_online", branch="North") == 1
                )
                assert value(samples, "branchsync_ws_connections") == 0  # not on this process
            finally:
                await socket.close()
            samples = await wait_for_metric(
                elsewhere, lambda s: value(s, "branchsync_branch_devices_online", branch="North") == 0
            )
    age = value(samples, "branchsync_device_last_seen_age_seconds", branch="North", device=device.id)
    assert age is not None and age < 5  # seen by the heartbeat just before it left
