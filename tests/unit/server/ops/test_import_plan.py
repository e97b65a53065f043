"""The import planner, by calling ``plan_records`` (no database): links, validation, and
what an earlier import stored deciding created / updated / unchanged / rejected."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from protocol.transfer.copies import Candidate, MergedRecord
from protocol.transfer.mapping import Link, Refusal
from server.ops.importing.plan import (
    IMPORT_NAMESPACE,
    BranchIndex,
    KeptEarlier,
    Links,
    Outcome,
    RecordPlan,
    plan_records,
    record_id_for,
)
from server.store.legacy_ids import LegacyId

SYSTEM = "salonbook"
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
MITTE = uuid.UUID("00000000-0000-4000-8000-00000000000a")
ALTONA = uuid.UUID("00000000-0000-4000-8000-00000000000b")
BRANCHES = BranchIndex.of([(MITTE, "Berlin Mitte"), (ALTONA, " Hamburg Altona ")])
STARTS = "2026-06-01T10:00:00+02:00"
STARTS_UTC = "2026-06-01T08:00:00+00:00"


def _at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _record(
    collection: str, legacy_id: str, hours: float = 0, source: str = "old.json", **values: Any
) -> MergedRecord:
    where = f"{source}: {collection}[{legacy_id}]"
    fields = {name: Candidate(value, source, where, _at(hours)) for name, value in values.items()}
    return MergedRecord(collection, legacy_id, fields, where, 1)


def _client(legacy_id: str = "17", hours: float = 0, **values: Any) -> MergedRecord:
    return _record("clients", legacy_id, hours, **({"name": "Anna Berg"} | values))


def _appointment(legacy_id: str = "A1", client: str = "17", **values: Any) -> MergedRecord:
    return _record(
        "appointments", legacy_id, **({"client_id": Link("clients", client), "starts_at": STARTS} | values)
    )


def _stored(value: Any, hours: float = 0, source: str = "old.json") -> dict[str, Any]:
    return {"value": value, "at": _at(hours).isoformat(), "source": source}


def _previous(
    collection: str, legacy_id: str, record_id: uuid.UUID | None = None, **fields: dict[str, Any]
) -> dict[tuple[str, str], LegacyId]:
    return {
        (collection, legacy_id): LegacyId(
            SYSTEM, collection, legacy_id, record_id or uuid.uuid4(), dict(fields)
        )
    }


def _plan(
    *merged: MergedRecord,
    previous: dict[tuple[str, str], LegacyId] | None = None,
    overridden: frozenset[tuple[str, str, str]] = frozenset(),
    unmappable: dict[tuple[str, str], Refusal] | None = None,
) -> list[RecordPlan]:
    return plan_records(SYSTEM, list(merged), previous or {}, BRANCHES, overridden, unmappable)


def _by_key(plans: list[RecordPlan]) -> dict[tuple[str, str], RecordPlan]:
    return {(p.collection, p.legacy_id): p for p in plans}


# ---- ids and creation -------------------------------------------------------------


def test_record_ids_are_stable_uuid5s_of_system_type_and_old_id() -> None:
    expected = uuid.uuid5(IMPORT_NAMESPACE, "salonbook\x1fclients\x1f17")

    assert record_id_for("salonbook", "clients", "17") == expected
    assert expected.version == 5
    assert record_id_for("other", "clients", "17") != expected
    assert record_id_for("salonbook", "appointments", "17") != expected
    assert record_id_for("salonbook", "clients", "18") != expected


def test_a_new_old_id_is_created_with_its_stable_id_and_every_field() -> None:
    (plan,) = _plan(_client(hours=2, email=" anna@example.de ", tags=["vip"]))

    assert plan == RecordPlan(
        collection="clients",
        legacy_id="17",
        record_id=record_id_for(SYSTEM, "clients", "17"),
        outcome=Outcome.CREATED,
        where="old.json: clients[17]",
        write={"name": "Anna Berg", "email": "anna@example.de", "tags": ["vip"]},
        stored={
            "name": _stored("Anna Berg", 2),
            "email": _stored("anna@example.de", 2),
            "tags": _stored(["vip"], 2),
        },
    )
    assert plan.legacy_row(SYSTEM) == LegacyId(
        SYSTEM, "clients", "17", record_id_for(SYSTEM, "clients", "17"), plan.stored
    )


def test_the_same_old_id_gets_the_same_id_on_every_run() -> None:
    first = _plan(_client())[0].record_id
    again = _plan(_client(name="Other"))[0].record_id

    assert first == again == record_id_for(SYSTEM, "clients", "17")


def test_validation_normalises_what_is_written() -> None:
    (_, plan) = _plan(_client(), _appointment())

    assert plan.outcome is Outcome.CREATED
    assert plan.write["starts_at"] == STARTS_UTC
    assert plan.stored["starts_at"]["value"] == STARTS_UTC


# ---- links ------------------------------------------------------------------------


def test_an_appointment_links_a_client_imported_in_the_same_run() -> None:
    client, appointment = _plan(_client(), _appointment())

    assert appointment.outcome is Outcome.CREATED
    assert appointment.write["client_id"] == str(client.record_id)


def test_an_appointment_links_a_client_from_an_earlier_import() -> None:
    earlier = uuid.UUID("11111111-1111-4111-8111-111111111111")

    (plan,) = _plan(_appointment(client="9"), previous=_previous("clients", "9", earlier, name=_stored("Bo")))

    assert plan.outcome is Outcome.CREATED
    assert plan.write["client_id"] == str(earlier)


def test_a_link_to_a_client_refused_in_this_run_names_the_refusal() -> None:
    client, appointment = _plan(_appointment(), _client(email="not an email"))

    assert client.outcome is Outcome.REJECTED
    assert appointment.outcome is Outcome.REJECTED
    reason = "client_id: the client with old id '17' was refused (old.json: clients[17])"
    assert (appointment.reason, appointment.unresolved) == (reason, (reason,))
    assert (appointment.write, appointment.stored) == ({}, {})


def test_a_link_to_a_client_refused_but_imported_earlier_uses_the_earlier_record() -> None:
    earlier = uuid.UUID("22222222-2222-4222-8222-222222222222")
    previous = _previous("clients", "17", earlier, name=_stored("Anna Berg"))

    client, appointment = _plan(_client(email="not an email"), _appointment(), previous=previous)

    assert client.outcome is Outcome.REJECTED
    assert client.record_id == earlier
    assert appointment.outcome is Outcome.CREATED
    assert appointment.write["client_id"] == str(earlier)


def test_a_dangling_link_is_refused_with_the_reason() -> None:
    (plan,) = _plan(_appointment(client="404"))

    reason = "client_id: no client has the old id '404' in these sources or an earlier import"
    assert (plan.outcome, plan.reason, plan.unresolved) == (Outcome.REJECTED, reason, (reason,))
    assert plan.record_id == record_id_for(SYSTEM, "appointments", "A1")


def test_every_unresolved_link_is_listed() -> None:
    (plan,) = _plan(_appointment(client="404", branch_id=Link("branches", "Köln")))

    assert plan.unresolved == (
        "client_id: no client has the old id '404' in these sources or an earlier import",
        "branch_id: no branch is called 'Köln' (create it, or map the name with `values`)",
    )
    assert plan.reason == "; ".join(plan.unresolved)


def test_a_link_to_a_record_refused_when_mapped_names_where() -> None:
    refusal = Refusal("clients", "Kunden.csv line 4", "phone (from tel): bad", "17", "Kunden.csv")

    plans = _plan(_appointment(), unmappable={("clients", "17"): refusal})

    client, appointment = plans
    assert client == RecordPlan(
        "clients",
        "17",
        record_id_for(SYSTEM, "clients", "17"),
        Outcome.REJECTED,
        "Kunden.csv line 4",
        reason="phone (from tel): bad",
    )
    assert appointment.reason == "client_id: the client with old id '17' was refused (Kunden.csv line 4)"


def test_an_unmappable_record_imported_earlier_keeps_its_id_and_links() -> None:
    earlier = uuid.UUID("33333333-3333-4333-8333-333333333333")
    refusal = Refusal("clients", "Kunden.csv line 4", "bad", "17", "Kunden.csv")

    client, appointment = _plan(
        _appointment(),
        previous=_previous("clients", "17", earlier, name=_stored("Anna")),
        unmappable={("clients", "17"): refusal},
    )

    assert (client.outcome, client.record_id) == (Outcome.REJECTED, earlier)
    assert appointment.write["client_id"] == str(earlier)


@pytest.mark.parametrize(
    "key", ["Berlin Mitte", "berlin mitte", "  BERLIN MITTE ", str(MITTE), str(MITTE).upper()]
)
def test_a_branch_link_finds_the_branch_by_name_in_any_case_or_by_id(key: str) -> None:
    (plan,) = _plan(_client(home_branch_id=Link("branches", key)))

    assert plan.write["home_branch_id"] == str(MITTE)


def test_a_branch_name_is_matched_without_its_surrounding_spaces() -> None:
    assert BRANCHES.find("hamburg altona") == ALTONA
    assert BRANCHES.find(str(ALTONA)) == ALTONA
    assert BRANCHES.find("Hamburg") is None


def test_an_unknown_branch_is_refused_with_the_reason() -> None:
    (plan,) = _plan(_client(home_branch_id=Link("branches", "Köln")))

    assert plan.outcome is Outcome.REJECTED
    assert (
        plan.reason == "home_branch_id: no branch is called 'Köln' (create it, or map the name with `values`)"
    )


# ---- validation ---------------------------------------------------------------------


def test_a_field_that_fails_validation_refuses_the_record_with_the_message() -> None:
    (plan,) = _plan(_client(email="anna at example", phone="call me"))

    assert plan.outcome is Outcome.REJECTED
    assert plan.reason == "'anna at example' is not an email address; 'call me' is not a phone number"
    assert plan.unresolved == ()


def test_a_new_record_without_a_required_field_is_refused() -> None:
    (plan,) = _plan(
        _record("appointments", "A1", client_id=Link("clients", "x")), previous=_previous("clients", "x")
    )

    assert (plan.outcome, plan.reason) == (Outcome.REJECTED, "starts_at is required")


def test_an_update_need_not_repeat_the_required_fields() -> None:
    previous = _previous("clients", "17", name=_stored("Anna Berg"))

    (plan,) = _plan(_record("clients", "17", 1, email="anna@example.de"), previous=previous)

    assert plan.outcome is Outcome.UPDATED
    assert plan.write == {"email": "anna@example.de"}


# ---- against what an earlier import stored ------------------------------------------


def test_unchanged_when_the_stored_values_are_equal() -> None:
    earlier = uuid.uuid4()
    stored = {"name": _stored("Anna Berg"), "email": _stored("anna@example.de")}
    previous = _previous("clients", "17", earlier, **stored)

    (plan,) = _plan(_client(hours=5, email="anna@example.de "), previous=previous)

    assert plan.outcome is Outcome.UNCHANGED
    assert plan.record_id == earlier
    assert (plan.write, plan.kept_earlier) == ({}, ())
    assert plan.stored == stored  # the earlier copy's time stays


def test_only_the_changed_fields_are_updated() -> None:
    previous = _previous(
        "clients", "17", name=_stored("Anna Berg"), email=_stored("old@example.de"), notes=_stored("VIP")
    )

    (plan,) = _plan(_client(hours=3, email="new@example.de", phone="+493012345678"), previous=previous)

    assert plan.outcome is Outcome.UPDATED
    assert plan.write == {"email": "new@example.de", "phone": "+493012345678"}
    assert plan.stored == {
        "name": _stored("Anna Berg"),
        "email": _stored("new@example.de", 3),
        "phone": _stored("+493012345678", 3),
        "notes": _stored("VIP"),  # not in this run's copies: left as it was
    }


def test_a_copy_as_old_as_the_stored_one_with_another_value_is_written() -> None:
    previous = _previous("clients", "17", name=_stored("Anna Berg"), email=_stored("old@example.de", 2))

    (plan,) = _plan(_client(hours=2, email="new@example.de"), previous=previous)

    assert plan.write == {"email": "new@example.de"}


def test_an_older_copy_than_the_stored_one_keeps_the_stored_value() -> None:
    stored_email = _stored("new@example.de", 8, "cloud.json")
    previous = _previous("clients", "17", name=_stored("Anna Berg"), email=stored_email)
    late_export = _record("clients", "17", 2, "berlin.json", name="Anna Berg", email="old@example.de")

    (plan,) = _plan(late_export, previous=previous)

    assert plan.outcome is Outcome.UNCHANGED
    assert plan.write == {}
    assert plan.stored["email"] == stored_email
    assert plan.kept_earlier == (KeptEarlier("email", stored_email, late_export.fields["email"]),)


def test_an_older_copy_wins_over_the_stored_value_when_an_override_chose_it() -> None:
    previous = _previous("clients", "17", name=_stored("Anna Berg"), email=_stored("new@example.de", 8))
    late_export = _record("clients", "17", 2, "berlin.json", name="Anna Berg", email="old@example.de")

    (plan,) = _plan(late_export, previous=previous, overridden=frozenset({("clients", "17", "email")}))

    assert plan.outcome is Outcome.UPDATED
    assert plan.write == {"email": "old@example.de"}
    assert plan.stored["email"] == _stored("old@example.de", 2, "berlin.json")
    assert plan.kept_earlier == ()


def test_an_override_of_another_field_does_not_unlock_this_one() -> None:
    previous = _previous("clients", "17", name=_stored("Anna Berg"), email=_stored("new@example.de", 8))
    late_export = _record("clients", "17", 2, name="Anna Berg", email="old@example.de")

    (plan,) = _plan(late_export, previous=previous, overridden=frozenset({("clients", "17", "name")}))

    assert [k.field for k in plan.kept_earlier] == ["email"]


def test_a_resolved_link_equal_to_the_stored_one_is_unchanged() -> None:
    previous = _previous("clients", "17", name=_stored("Anna Berg"), home_branch_id=_stored(str(MITTE)))

    (plan,) = _plan(_client(hours=4, home_branch_id=Link("branches", "berlin mitte")), previous=previous)

    assert plan.outcome is Outcome.UNCHANGED


# ---- order --------------------------------------------------------------------------


def test_clients_are_planned_before_appointments_whatever_the_input_order() -> None:
    plans = _plan(_appointment("A1", "1"), _client("1"), _appointment("A2", "2"), _client("2"))

    assert [(p.collection, p.legacy_id) for p in plans] == [
        ("clients", "1"),
        ("clients", "2"),
        ("appointments", "A1"),
        ("appointments", "A2"),
    ]
    assert {p.outcome for p in plans} == {Outcome.CREATED}
    by_key = _by_key(plans)
    assert by_key[("appointments", "A2")].write["client_id"] == str(by_key[("clients", "2")].record_id)


def test_nothing_to_plan() -> None:
    assert _plan() == []


# ---- one record type at a time (the parts of a parallel run) ---------------------------


def test_planned_one_type_at_a_time_with_shared_links_a_run_plans_as_in_one_go() -> None:
    """A part plans clients, shares what it imported or refused, then plans appointments
    that link another part's clients."""
    clients = [_client("17"), _client("18", name="")]  # 18: no name, refused
    appointments = [_appointment("A1", client="17"), _appointment("A2", client="18")]
    whole = _plan(*clients, *appointments)

    mine, theirs = Links(), Links()
    first = plan_records(SYSTEM, clients, {}, BRANCHES, links=theirs)
    shared = Links()
    shared.learn(first)
    mine.update(shared)
    second = plan_records(SYSTEM, appointments, {}, BRANCHES, links=mine)

    assert [*first, *second] == whole
    assert mine.imported == {
        ("clients", "17"): record_id_for(SYSTEM, "clients", "17"),
        ("appointments", "A1"): record_id_for(SYSTEM, "appointments", "A1"),
    }
    assert mine.refused == {("clients", "18"): first[1].where, ("appointments", "A2"): second[1].where}
    assert "the client with old id '18' was refused" in second[1].reason


def test_links_start_from_what_earlier_imports_made() -> None:
    earlier = uuid.uuid4()
    links = Links.of(_previous("clients", "17", earlier))

    assert links.imported == {("clients", "17"): earlier}
    assert links.refused == {}
