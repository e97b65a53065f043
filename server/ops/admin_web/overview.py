"""The dashboard's JSON: the fleet snapshot, recent rejections and this process's
recent figures, turned into plain data the page renders as it is. Pure."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from server.observability.fleet import BackupStatus, Fleet, RejectionView
from server.observability.recent_history import MinuteCounts

__all__ = ["overview_json"]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def _backups(status: BackupStatus, enabled: bool) -> dict[str, Any]:
    return {
        "enabled": enabled,
        "last_success": _iso(status.last_success),
        "last_failure": _iso(status.last_failure),
        "last_error": status.last_error,
        "last_file": None
        if status.last_file is None
        else status.last_file.replace("\\", "/").rsplit("/", 1)[-1],
        "failing": status.failing,
    }


def overview_json(
    fleet: Fleet,
    rejections: list[RejectionView],
    *,
    propagation: tuple[float | None, float | None],
    minutes: list[MinuteCounts],
    backups_enabled: bool,
) -> dict[str, Any]:
    """Everything the dashboard shows, JSON-ready."""
    branches = []
    for branch in fleet.branches:
        branches.append(
            {
                "id": str(branch.id),
                "name": branch.name,
                "online": branch.online,
                "devices_total": len(branch.devices),
                "behind": branch.cursor_lag,
                "pending": branch.pending,
                "last_seen_age_s": branch.last_seen_age_s,
                "rejected": sum(d.rejected for d in branch.devices),
                "devices": [
                    {
                        "id": str(d.id),
                        "name": d.name,
                        "online": d.online,
                        "last_seen": _iso(d.last_seen),
                        "last_seen_age_s": d.last_seen_age_s,
                        "behind": d.behind,
                        "pending": d.pending,
                        "rejected": d.rejected,
                        "app_version": d.app_version,
                    }
                    for d in branch.devices
                ],
            }
        )
    return {
        "now": _iso(fleet.now),
        "epoch": fleet.epoch,
        "head": fleet.head,
        "propagation": {"p50_ms": _ms(propagation[0]), "p99_ms": _ms(propagation[1])},
        "writes_per_minute": [asdict(m) for m in minutes],
        "backups": _backups(fleet.backups, backups_enabled),
        "branches": branches,
        "rejections": [{**asdict(r), "at": _iso(r.at)} for r in rejections],
    }
