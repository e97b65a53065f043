"""Which fields a save writes, and how a change from elsewhere meets unsaved edits (pure rules)."""

from __future__ import annotations

from desktop.ui.forms.changes import edits_to_save, meet_remote_change, same_value
from protocol.collections import APPOINTMENTS, CLIENTS


def test_a_new_record_saves_what_is_filled_in() -> None:
    typed: dict[str, object] = {"name": "Ada", "phone": None, "tags": [], "email": "ada@example.com"}
    assert edits_to_save(CLIENTS, typed, None) == {"name": "Ada", "email": "ada@example.com"}


def test_an_edit_saves_only_what_differs_once_normalised() -> None:
    stored = {"name": "Ada", "phone": "+44 1", "starts_at": None}
    typed: dict[str, object] = {"name": " Ada ", "phone": None, "tags": []}
    assert edits_to_save(CLIENTS, typed, stored) == {"phone": None}


def test_times_compare_by_instant_not_by_text() -> None:
    assert same_value(APPOINTMENTS, "starts_at", "2026-07-01T10:30:00+01:00", "2026-07-01T09:30:00+00:00")
    assert not same_value(APPOINTMENTS, "starts_at", "2026-07-01T10:30:00+00:00", "2026-07-01T09:30:00+00:00")


def test_invalid_typed_values_count_as_changed_so_they_are_validated() -> None:
    assert edits_to_save(CLIENTS, {"email": "nope"}, {"email": "a@example.com"}) == {"email": "nope"}


def test_untouched_fields_take_the_new_value_and_touched_ones_are_disputed() -> None:
    before = {"name": "Ada", "phone": "1", "email": "a@example.com", "notes": "x"}
    after = {"name": "Ada", "phone": "2", "email": "b@example.com", "notes": "y"}
    typed = {"name": "Ada", "phone": "9", "email": "a@example.com", "notes": "y"}
    change = meet_remote_change(
        CLIENTS, ["name", "phone", "email", "notes"], before, after, typed, {"phone", "notes"}
    )
    assert change.taken == ("email",)
    assert change.disputed == ("phone",)  # notes: I typed what arrived, nothing to decide
