"""Plausible sample clients and appointments, for the demo, the screenshots and the benchmarks.

Pure and deterministic: the same seed gives the same rows, so a screenshot or a
benchmark run can be repeated exactly. Values are wire values (what
``protocol.validate_fields`` accepts), so callers may write them locally, push them,
or hand them to ``Cache.apply_changes`` as pulled rows.
"""

from __future__ import annotations

import random
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from protocol.collections import APPOINTMENT_STATUSES
from protocol.messages import Change

__all__ = ["SERVICES", "pulled_changes", "sample_appointments", "sample_clients"]

_FIRST = (
    "Ada", "Bruno", "Chloé", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemal",
    "Lena", "Marta", "Nils", "Olga", "Pavel", "Quentin", "Rosa", "Sven", "Tereza", "Ugo", "Vera",
    "Wim", "Ximena", "Yusuf", "Zofia", "Amélie", "Björn", "Carmen", "Duncan", "Émile", "Fatima",
)  # fmt: skip
_LAST = (
    "Andersen", "Bauer", "Castillo", "Dubois", "Eriksen", "Fischer", "García", "Hansen", "Ivanova",
    "Jansen", "Kowalski", "Larsen", "Moreau", "Novak", "O'Brien", "Petrov", "Quinn", "Rossi",
    "Schmidt", "Tanaka", "Ueda", "Vasquez", "Weber", "Xu", "Yilmaz", "Zimmermann", "Müller", "Nørgaard",
)  # fmt: skip
_TAGS = ("vip", "new", "allergy", "student", "senior", "newsletter", "prefers-morning", "card-on-file")
_NOTES = (
    "",
    "Prefers the window seat.",
    "Allergic to lavender oil; use the unscented range.",
    "Ask about the loyalty card next visit.",
    "Usually books with Marta.",
    "Runs late; call ten minutes before.",
)
SERVICE_MINUTES = {
    "Haircut": 45,
    "Colour": 90,
    "Massage 60": 60,
    "Massage 30": 30,
    "Consultation": 15,
    "Manicure": 30,
    "Beard trim": 15,
}
"""The sample services and how long each takes (so no "Massage 60" lasts 15 minutes)."""
SERVICES = tuple(SERVICE_MINUTES)
"""The services sample appointments are booked for."""


def _ascii(text: str) -> str:
    """``Émile Nørgaard`` -> ``Emile Norgaard``: what people type in an email address."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("Ø", "O"))
    return "".join(ch for ch in decomposed if ch.isascii())


def _email(first: str, last: str, number: int) -> str:
    local = _ascii(f"{first}.{last}{number}").lower()
    return "".join(ch for ch in local if ch.isalnum() or ch == ".") + "@example.com"


def sample_clients(
    count: int, *, seed: int = 0, home_branch_id: str | None = None
) -> Iterator[dict[str, Any]]:
    """``count`` client field sets (wire values), deterministic for a seed."""
    rng = random.Random(seed)
    for number in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        fields: dict[str, Any] = {
            "name": f"{first} {last}",
            "phone": f"+44 20 {rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)}",
            "email": _email(first, last, number),
        }
        note = rng.choice(_NOTES)
        if note:
            fields["notes"] = note
        tags = sorted(set(rng.sample(_TAGS, rng.randrange(0, 3))))
        if tags:
            fields["tags"] = tags
        if home_branch_id is not None:
            fields["home_branch_id"] = home_branch_id
        yield fields


def sample_appointments(
    client_ids: Sequence[str],
    *,
    branch_id: str,
    day: date,
    zone: tzinfo | None,
    count: int,
    seed: int = 0,
) -> Iterator[dict[str, Any]]:
    """``count`` appointments on ``day`` from 09:00 to 17:00 in ``zone`` (None: this PC's), random clients."""
    rng = random.Random(seed)
    opening = datetime.combine(day, time(9, 0))
    opening = opening.astimezone() if zone is None else opening.replace(tzinfo=zone)
    for _ in range(count):
        starts = opening + timedelta(minutes=15 * rng.randrange(0, 32))
        service = rng.choice(SERVICES)
        fields: dict[str, Any] = {
            "client_id": rng.choice(client_ids),
            "branch_id": branch_id,
            "starts_at": starts.isoformat(),
            "duration_min": SERVICE_MINUTES[service],
            "service": service,
            "status": rng.choice(APPOINTMENT_STATUSES[:1] * 6 + APPOINTMENT_STATUSES),
        }
        yield fields


def pulled_changes(
    collection: str, rows: Sequence[tuple[str, dict[str, Any]]], *, first_seq: int = 1, node: str = "server"
) -> list[Change]:
    """Rows as the server would send them in a pull, for seeding a cache without a server.

    Each row gets one clock for all its fields, made from ``node`` and its ``seq``, so
    the rows look like writes that reached the server one after the other.
    """
    base_ms = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
    changes = []
    for offset, (row_id, fields) in enumerate(rows):
        seq = first_seq + offset
        hlc = f"{base_ms + seq:015d}-000000-{node}"
        clocks = dict.fromkeys(fields, hlc)
        clocks["_deleted"] = hlc
        changes.append(
            Change(
                seq=seq,
                collection=collection,
                row_id=uuid.UUID(row_id),
                fields=fields,
                clocks=clocks,
                deleted=False,
            )
        )
    return changes
