"""``ops/`` (Grafana dashboard, Prometheus alert rules) uses only metrics the server has."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from server.observability.metrics import METRIC_NAMES

OPS = Path(__file__).resolve().parents[3] / "ops"
_METRIC = re.compile(r"\bbranchsync_[a-z0-9_]+\b")


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads((OPS / "grafana" / "branchsync-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((OPS / "prometheus" / "branchsync-alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_metric_the_dashboard_uses_exists() -> None:
    used = {name for expr in _dashboard_exprs() for name in _METRIC.findall(expr)}
    assert used, "the dashboard queries no Branchsync metric"
    assert used <= METRIC_NAMES, sorted(used - METRIC_NAMES)


def test_every_metric_the_alert_rules_use_exists() -> None:
    used = {name for rule in _rules() for name in _METRIC.findall(rule["expr"])}
    assert used <= METRIC_NAMES, sorted(used - METRIC_NAMES)


def test_the_alerts_the_operators_asked_for_are_there() -> None:
    alerts = {rule["alert"]: rule for rule in _rules()}
    assert {
        "BranchsyncBranchOffline",
        "BranchsyncBranchLagGrowing",
        "BranchsyncRejectionRateHigh",
        "BranchsyncFanoutSlow",
        "BranchsyncBackupFailed",
    } <= set(alerts)
    assert "15 * 60" in alerts["BranchsyncBranchOffline"]["expr"]
    assert "> 0.1" in alerts["BranchsyncFanoutSlow"]["expr"]
    assert all(
        {"severity"} <= set(rule["labels"]) and rule["annotations"]["summary"] for rule in alerts.values()
    )


def test_the_name_check_would_catch_a_typo() -> None:
    assert not {"branchsync_fanout_latency_seconds_bukket"} <= METRIC_NAMES
    assert "branchsync_fanout_latency_seconds_bucket" in METRIC_NAMES
    assert "branchsync_mutations_total" in METRIC_NAMES
