"""Sample data is valid, repeatable, and reads like people."""

from __future__ import annotations

import uuid
from datetime import date
from zoneinfo import ZoneInfo

from desktop.demo.sample_data import pulled_changes, sample_appointments, sample_clients
from protocol.collections import APPOINTMENTS, CLIENTS
from protocol.validate import validate_fields


def test_clients_pass_validation_and_repeat_for_a_seed() -> None:
    clients = list(sample_clients(200, seed=4))
    assert clients == list(sample_clients(200, seed=4))
    assert clients != list(sample_clients(200, seed=5))
    for fields in clients:
        assert validate_fields(CLIENTS, fields, creating=True)[1] == []
        assert fields["email"].isascii()
    assert len({c["email"] for c in clients}) == 200


def test_appointments_fall_on_the_day_in_opening_hours() -> None:
    zone = ZoneInfo("Europe/Berlin")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    rows = list(
        sample_appointments(ids, branch_id=str(uuid.uuid4()), day=date(2026, 7, 1), zone=zone, count=50)
    )
    assert len(rows) == 50
    for fields in rows:
        assert validate_fields(APPOINTMENTS, fields, creating=True)[1] == []
        assert fields["client_id"] in ids
        assert fields["starts_at"].startswith("2026-07-01T") and fields["starts_at"].endswith("+02:00")
        assert "09:00" <= fields["starts_at"][11:16] <= "16:45"


def test_pulled_changes_number_their_rows_in_order() -> None:
    row_id = str(uuid.uuid4())
    (change,) = pulled_changes("clients", [(row_id, {"name": "Ada"})], first_seq=7, node="srv")
    assert change.seq == 7 and str(change.row_id) == row_id
    assert set(change.clocks) == {"name", "_deleted"} and change.clocks["name"].endswith("-srv")
    assert not change.deleted
