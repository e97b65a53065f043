"""The server's Prometheus metrics, in a registry of its own per app.

Several apps run in one test process (and one app may be built twice), so nothing
goes to prometheus-client's global registry: ``Metrics()`` makes a fresh
``CollectorRegistry`` and the ``Runtime`` holds it. Code elsewhere records events
with one call (``observe_results``, ``observe_fanout``, ...); figures that live in the
database (per-branch lag, last seen, last backup) are refreshed from a
``server.observability.fleet.Fleet`` snapshot when ``/metrics`` is scraped.

Every metric name is listed in ``METRIC_NAMES``; ``ops/`` (Grafana, alert rules) uses
only those, which a test checks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from protocol.wire import PULL_PATH, PUSH_PATH
from server.observability.recent_history import LatencyWindow, MinuteSeries

if TYPE_CHECKING:
    from protocol.messages import MutationResult
    from server.observability.fleet import Fleet

__all__ = ["METRIC_FAMILIES", "METRIC_NAMES", "Metrics", "RequestMetrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_TIMED_PATHS = {PUSH_PATH: "push", PULL_PATH: "pull"}


class _Totals(Collector):
    """Counters whose values another object keeps (set with ``update``), so the hot
    path of that object pays nothing for being watched."""

    def __init__(self, helps: dict[str, str]) -> None:
        self._helps = helps
        self._values = dict.fromkeys(helps, 0.0)

    def update(self, **values: float) -> None:
        for name, value in values.items():
            self._values[f"branchsync_{name}"] = value

    def collect(self) -> Iterable[Metric]:
        for name, text in self._helps.items():
            yield CounterMetricFamily(name, text, value=self._values[name])


class Metrics:
    """Every metric of one server process, registered in ``self.registry``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.push_seconds = Histogram(
            "branchsync_push_duration_seconds", "Time to answer a push.", buckets=_LATENCY_BUCKETS, registry=r
        )
        self.pull_seconds = Histogram(
            "branchsync_pull_duration_seconds", "Time to answer a pull.", buckets=_LATENCY_BUCKETS, registry=r
        )
        self.http_responses = Counter(
            "branchsync_http_responses", "HTTP answers by status code.", ["status"], registry=r
        )
        self.mutations = Counter(
            "branchsync_mutations",
            "Mutations answered, by status (applied, duplicate, rejected) and error code.",
            ["status", "code"],
            registry=r,
        )
        self.fanout_seconds = Histogram(
            "branchsync_fanout_latency_seconds",
            "From the commit notification to a changes frame handed to a socket.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.listener_reconnects = Counter(
            "branchsync_listener_reconnects", "Times the LISTEN connection was re-established.", registry=r
        )
        self.ws_connections = Gauge(
            "branchsync_ws_connections", "Open device sockets on this process.", registry=r
        )
        self.hub_totals = _Totals(
            {
                "branchsync_ws_resyncs": "Sockets closed with resync because they fell behind.",
                "branchsync_ws_ignored_frames": "Client frames ignored as malformed.",
                "branchsync_ws_status_frames": "Status frames received from devices.",
                "branchsync_ws_policy_closes": "Sockets closed 1008 for frames too large or too fast.",
                "branchsync_ws_replaced_closes": "Sockets closed 4409: their device opened too many.",
                "branchsync_status_flushes": "Batched writes of the devices' status that committed.",
                "branchsync_status_rows_written": "Device statuses those batched writes carried.",
                "branchsync_status_flush_failures": "Batched status writes the database did not take.",
            }
        )
        """Counters the fan-out hub and the status table keep themselves, copied in at scrape time."""
        r.register(self.hub_totals)
        self.status_unflushed = Gauge(
            "branchsync_status_unflushed",
            "Devices whose newest status this process has not written yet.",
            registry=r,
        )
        self.records_swept = Counter(
            "branchsync_records_swept",
            "Old applied-mutation answers and rejections deleted by housekeeping, by table.",
            ["table"],
            registry=r,
        )
        self.backups = Counter(
            "branchsync_backups", "Backups run by this process, by result.", ["result"], registry=r
        )
        self.database_up = Gauge(
            "branchsync_database_up", "1 when the last scrape reached PostgreSQL.", registry=r
        )
        self.change_head = Gauge("branchsync_change_head", "Newest committed change number.", registry=r)
        self.branch_cursor_lag = Gauge(
            "branchsync_branch_cursor_lag_changes",
            "Changes the furthest-behind device of a branch still has to apply (from status frames).",
            ["branch"],
            registry=r,
        )
        self.branch_pending = Gauge(
            "branchsync_branch_pending_writes",
            "Writes waiting in the outboxes of a branch's devices (from status frames).",
            ["branch"],
            registry=r,
        )
        self.branch_online = Gauge(
            "branchsync_branch_devices_online",
            "Devices of a branch holding a socket now.",
            ["branch"],
            registry=r,
        )
        self.branch_last_seen_age = Gauge(
            "branchsync_branch_last_seen_age_seconds",
            "Seconds since any device of the branch was last heard from (0 while one is online).",
            ["branch"],
            registry=r,
        )
        self.device_last_seen_age = Gauge(
            "branchsync_device_last_seen_age_seconds",
            "Seconds since a device was last heard from (0 while online).",
            ["branch", "device"],
            registry=r,
        )
        self.backup_last_success = Gauge(
            "branchsync_backup_last_success_timestamp_seconds",
            "When the newest good backup finished.",
            registry=r,
        )
        self.backup_last_failure = Gauge(
            "branchsync_backup_last_failure_timestamp_seconds",
            "When the newest failed backup finished.",
            registry=r,
        )
        self.backup_schedule_enabled = Gauge(
            "branchsync_backup_schedule_enabled", "1 when this process runs automatic backups.", registry=r
        )
        self.fanout_window = LatencyWindow()
        """Recent fan-out latencies, for the dashboard's p50/p99."""
        self.minutes = MinuteSeries()
        """Accepted/rejected writes per minute, for the dashboard's error-rate chart."""

    # ---- events ------------------------------------------------------------------

    def observe_results(self, results: Iterable[MutationResult]) -> None:
        """Count a batch of mutation answers (push or REST write)."""
        accepted = rejected = 0
        for result in results:
            code = result.error.code if result.error is not None else ""
            self.mutations.labels(result.status, code).inc()
            if result.status == "rejected":
                rejected += 1
            else:
                accepted += 1
        self.minutes.add(time.time(), accepted=accepted, rejected=rejected)

    def observe_fanout(self, seconds: float) -> None:
        """One frame reached a socket ``seconds`` after its commit was announced."""
        self.fanout_seconds.observe(seconds)
        self.fanout_window.add(seconds, time.monotonic())

    def fanout_quantiles(self) -> tuple[float | None, float | None]:
        """(p50, p99) of recent fan-out latencies in seconds; None when there were none."""
        p50, p99 = self.fanout_window.quantiles(time.monotonic(), 0.5, 0.99)
        return (None if math.isnan(p50) else p50), (None if math.isnan(p99) else p99)

    # ---- scrape ------------------------------------------------------------------

    def load_fleet(self, fleet: Fleet) -> None:
        """Set the database-derived gauges from a fresh snapshot (labels of gone
        branches and devices disappear)."""
        self.database_up.set(1)
        self.change_head.set(fleet.head)
        for gauge in (
            self.branch_cursor_lag,
            self.branch_pending,
            self.branch_online,
            self.branch_last_seen_age,
            self.device_last_seen_age,
        ):
            gauge.clear()
        for branch in fleet.branches:
            self.branch_cursor_lag.labels(branch.name).set(branch.cursor_lag)
            self.branch_pending.labels(branch.name).set(branch.pending)
            self.branch_online.labels(branch.name).set(branch.online)
            if branch.last_seen_age_s is not None:
                self.branch_last_seen_age.labels(branch.name).set(branch.last_seen_age_s)
            for device in branch.devices:
                if device.last_seen_age_s is not None:
                    self.device_last_seen_age.labels(branch.name, str(device.id)).set(device.last_seen_age_s)
        if fleet.backups.last_success is not None:
            self.backup_last_success.set(fleet.backups.last_success.timestamp())
        if fleet.backups.last_failure is not None:
            self.backup_last_failure.set(fleet.backups.last_failure.timestamp())

    def render(self) -> bytes:
        """The registry in Prometheus text format."""
        return generate_latest(self.registry)


_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}


def _names(metrics: Metrics) -> frozenset[str]:
    """Series names of every family, including those with labels and no sample yet."""
    found: set[str] = set()
    for family in metrics.registry.collect():
        if family.samples:
            found.update(sample.name for sample in family.samples)
        else:
            found.update(family.name + suffix for suffix in _SUFFIXES[family.type])
    return frozenset(found)


METRIC_NAMES: frozenset[str] = _names(Metrics())
"""Every series name ``/metrics`` can show (``_total``, ``_bucket`` ... included)."""

METRIC_FAMILIES: frozenset[str] = frozenset(family.name for family in Metrics().registry.collect())
"""Every metric family (the names in ``# TYPE`` lines)."""


class RequestMetrics:
    """ASGI middleware timing pushes and pulls and counting answers by status.

    Sits outside the routes so that no handler has to remember to time itself.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            state = getattr(scope["app"].state, "branchsync", None) if "app" in scope else None
            if state is not None:
                metrics: Metrics = state.metrics
                metrics.http_responses.labels(str(status)).inc()
                timed = _TIMED_PATHS.get(scope["path"])
                if timed == "push":
                    metrics.push_seconds.observe(time.perf_counter() - started)
                elif timed == "pull":
                    metrics.pull_seconds.observe(time.perf_counter() - started)
