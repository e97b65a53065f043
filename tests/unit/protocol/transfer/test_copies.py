"""Overlapping copies of one old record: field by field, the newest copy wins; overrides
correct a choice; possible duplicate clients are listed, never merged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from protocol.transfer.copies import (
    Candidate,
    Disagreement,
    MergedRecord,
    Override,
    merge_copies,
    possible_duplicates,
    sighting,
)
from protocol.transfer.mapping import Link, MappedRecord

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _copy(
    source: str,
    hours: float,
    fields: dict[str, Any],
    *,
    legacy_id: str = "17",
    collection: str = "clients",
    where: str | None = None,
) -> MappedRecord:
    return MappedRecord(collection, legacy_id, source, where or f"{source}: [0]", _at(hours), fields)


def _merge_one(
    *copies: MappedRecord, overrides: tuple[Override, ...] = ()
) -> tuple[MergedRecord, list[Disagreement]]:
    merged, disagreements = merge_copies(copies, overrides)
    (record,) = merged
    return record, disagreements


def _values(record: MergedRecord) -> dict[str, Any]:
    return {name: candidate.value for name, candidate in record.fields.items()}


def test_one_copy_is_taken_whole() -> None:
    record, disagreements = _merge_one(
        _copy("a.json", 0, {"name": "Anna", "phone": "+4930123"}, where="a.json: [3]")
    )

    assert record == MergedRecord(
        "clients",
        "17",
        {
            "name": Candidate("Anna", "a.json", "a.json: [3]", _at(0)),
            "phone": Candidate("+4930123", "a.json", "a.json: [3]", _at(0)),
        },
        "a.json: [3]",
        1,
    )
    assert disagreements == []


def test_the_newest_copy_wins_each_field_on_its_own() -> None:
    record, _ = _merge_one(
        _copy("berlin.json", 2, {"name": "Anna Berg", "phone": "+111"}),
        _copy("cloud.json", 5, {"name": "Anna Berg-Lind"}),
        _copy("hamburg.json", 1, {"name": "A. Berg", "phone": "+222", "email": "a@x.de"}),
    )

    assert _values(record) == {"name": "Anna Berg-Lind", "phone": "+111", "email": "a@x.de"}
    assert record.fields["name"].source == "cloud.json"
    assert record.fields["phone"].source == "berlin.json"
    assert record.fields["email"].source == "hamburg.json"
    assert record.copies == 3


def test_of_copies_equally_new_the_source_named_later_wins() -> None:
    record, disagreements = _merge_one(
        _copy("first.json", 3, {"name": "Anna"}),
        _copy("second.json", 3, {"name": "Anne"}),
        _copy("older.json", 1, {"name": "Annette"}),
    )

    assert record.fields["name"].source == "second.json"
    (disagreement,) = disagreements
    assert disagreement.chosen.value == "Anne"
    assert [c.value for c in disagreement.others] == ["Annette", "Anna"]


def test_the_same_instant_in_different_offsets_is_a_tie() -> None:
    in_berlin = datetime(2026, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))  # = T0
    record, _ = _merge_one(
        MappedRecord("clients", "17", "a.json", "a.json: [0]", in_berlin, {"name": "A"}),
        _copy("b.json", 0, {"name": "B"}),
    )

    assert record.fields["name"].value == "B"


def test_an_empty_copy_never_outvotes_a_value() -> None:
    record, disagreements = _merge_one(
        _copy("old.json", 0, {"name": "Anna", "notes": "allergic to latex"}),
        _copy("new.json", 9, {"name": "Anna"}),  # the newer copy left notes out
    )

    assert _values(record) == {"name": "Anna", "notes": "allergic to latex"}
    assert record.fields["notes"].source == "old.json"
    assert disagreements == []


def test_copies_that_agree_are_no_disagreement() -> None:
    _, disagreements = _merge_one(
        _copy("a.json", 0, {"name": "Anna", "tags": ["vip"]}),
        _copy("b.json", 1, {"name": "Anna", "tags": ["vip"]}),
    )

    assert disagreements == []


def test_a_disagreement_lists_the_chosen_value_and_each_other_value_once() -> None:
    record, disagreements = _merge_one(
        _copy("a.json", 0, {"name": "Anna", "phone": "+1"}),
        _copy("b.json", 1, {"name": "Anne", "phone": "+1"}),
        _copy("c.json", 2, {"name": "Anna"}),
        _copy("d.json", 3, {"name": "Annie"}),
        _copy("e.json", 4, {"name": "Annie"}),
    )

    (disagreement,) = disagreements
    assert disagreement == Disagreement(
        "clients",
        "17",
        "name",
        record.fields["name"],
        (
            Candidate("Anna", "c.json", "c.json: [0]", _at(2)),  # the newest copy holding each other value
            Candidate("Anne", "b.json", "b.json: [0]", _at(1)),
        ),
        overridden=False,
    )
    assert disagreement.chosen == Candidate("Annie", "e.json", "e.json: [0]", _at(4))


def test_list_and_link_values_are_compared_by_value() -> None:
    _, disagreements = _merge_one(
        _copy(
            "a.json", 0, {"tags": ["a", "b"], "client_id": Link("clients", "1")}, collection="appointments"
        ),
        _copy(
            "b.json", 1, {"tags": ["a", "b"], "client_id": Link("clients", "2")}, collection="appointments"
        ),
    )

    assert [(d.field, d.chosen.value, [c.value for c in d.others]) for d in disagreements] == [
        ("client_id", Link("clients", "2"), [Link("clients", "1")])
    ]


def test_an_override_prefers_the_named_sources_value() -> None:
    copies = (
        _copy("berlin.json", 0, {"name": "Anna Berg", "phone": "+1"}),
        _copy("cloud.json", 5, {"name": "Anna Brg", "phone": "+2"}),
    )

    record, disagreements = _merge_one(*copies, overrides=(Override("clients", "17", "name", "berlin.json"),))

    assert _values(record) == {"name": "Anna Berg", "phone": "+2"}
    assert [(d.field, d.chosen.source, d.overridden) for d in disagreements] == [
        ("name", "berlin.json", True),
        ("phone", "cloud.json", False),
    ]
    (name,) = (d for d in disagreements if d.field == "name")
    assert [c.value for c in name.others] == ["Anna Brg"]


def test_an_override_takes_the_newest_copy_from_its_source() -> None:
    record, _ = _merge_one(
        _copy("berlin.json", 0, {"name": "Old"}),
        _copy("berlin.json", 2, {"name": "Newer"}),
        _copy("cloud.json", 5, {"name": "Cloud"}),
        overrides=(Override("clients", "17", "name", "berlin.json"),),
    )

    assert record.fields["name"].value == "Newer"


def test_an_override_naming_a_source_without_the_field_falls_back_to_the_newest() -> None:
    record, disagreements = _merge_one(
        _copy("berlin.json", 0, {"phone": "+1"}),
        _copy("hamburg.json", 1, {"name": "Anna", "phone": "+1"}),
        _copy("cloud.json", 2, {"name": "Anne"}),
        overrides=(Override("clients", "17", "name", "berlin.json"),),
    )

    assert record.fields["name"].source == "cloud.json"
    (disagreement,) = disagreements
    assert disagreement.overridden is False


def test_an_override_for_another_record_or_field_changes_nothing() -> None:
    copies = (_copy("a.json", 0, {"name": "Anna"}), _copy("b.json", 1, {"name": "Anne"}))

    for override in (
        Override("clients", "18", "name", "a.json"),
        Override("clients", "17", "phone", "a.json"),
        Override("appointments", "17", "name", "a.json"),
    ):
        record, disagreements = _merge_one(*copies, overrides=(override,))
        assert record.fields["name"].value == "Anne"
        assert disagreements[0].overridden is False


def test_an_override_where_copies_agree_is_no_disagreement() -> None:
    record, disagreements = _merge_one(
        _copy("a.json", 0, {"name": "Anna"}),
        _copy("b.json", 1, {"name": "Anna"}),
        overrides=(Override("clients", "17", "name", "a.json"),),
    )

    assert record.fields["name"].source == "a.json"
    assert disagreements == []


def test_records_are_grouped_by_type_and_old_id_in_first_copy_order() -> None:
    merged, _ = merge_copies(
        [
            _copy("a.json", 0, {"name": "B"}, legacy_id="2", where="a.json: [0]"),
            _copy(
                "a.json", 0, {"service": "cut"}, legacy_id="2", collection="appointments", where="a.json: [9]"
            ),
            _copy("a.json", 0, {"name": "A"}, legacy_id="1", where="a.json: [1]"),
            _copy("b.json", 9, {"name": "B2"}, legacy_id="2", where="b.json: [4]"),
        ]
    )

    assert [(m.collection, m.legacy_id, m.copies, m.where) for m in merged] == [
        ("clients", "2", 2, "a.json: [0]"),
        ("appointments", "2", 1, "a.json: [9]"),
        ("clients", "1", 1, "a.json: [1]"),
    ]
    assert merged[0].fields["name"].value == "B2"


def test_the_where_of_a_record_is_its_first_copys_even_when_older() -> None:
    record, _ = _merge_one(
        _copy("new.json", 5, {"name": "N"}, where="new.json: [2]"), _copy("old.json", 0, {"name": "O"})
    )

    assert record.where == "new.json: [2]"
    assert record.fields["name"].where == "new.json: [2]"


def test_nothing_in_nothing_out() -> None:
    assert merge_copies([]) == ([], [])


# ---- possible duplicates ----------------------------------------------------------


def _merged(legacy_id: str, collection: str = "clients", **values: Any) -> MergedRecord:
    fields = {name: Candidate(value, "a.json", "a.json: [0]", T0) for name, value in values.items()}
    return MergedRecord(collection, legacy_id, fields, f"a.json: [{legacy_id}]", 1)


def test_clients_with_the_same_name_and_phone_digits_are_possible_duplicates() -> None:
    anna = _merged("1", name="Anna  Berg", phone="+49 30 123")
    again = _merged("2", name=" anna berg ", phone="+4930123")
    other = _merged("3", name="Anna Berg", phone="+4930124")
    bob = _merged("4", name="Bob", phone="+4930123")

    assert possible_duplicates(map(sighting, [anna, other, again, bob])) == [
        [sighting(anna), sighting(again)]
    ]
    assert [seen.legacy_id for seen in possible_duplicates(map(sighting, [anna, again]))[0]] == ["1", "2"]


def test_a_client_without_a_name_or_phone_is_no_duplicate() -> None:
    records = [
        _merged("1", name="Anna"),
        _merged("2", name="Anna"),
        _merged("3", phone="+1"),
        _merged("4", phone="+1"),
    ]

    assert [sighting(record) for record in records] == [None] * 4
    assert possible_duplicates(map(sighting, records)) == []


def test_only_clients_are_compared() -> None:
    records = [
        _merged("1", "appointments", name="Anna", phone="+1"),
        _merged("2", "appointments", name="Anna", phone="+1"),
        _merged("3", name="Anna", phone="+1"),
    ]

    assert possible_duplicates(map(sighting, records)) == []


def test_several_groups_are_listed_in_first_seen_order() -> None:
    a1, b1, a2, b2, b3 = (
        _merged("1", name="A", phone="+1"),
        _merged("2", name="B", phone="+2"),
        _merged("3", name="a", phone="(+1)"),
        _merged("4", name="B", phone="2"),
        _merged("5", name="b", phone="+2"),
    )

    groups = possible_duplicates(map(sighting, [a1, b1, a2, b2, b3]))

    assert [[seen.legacy_id for seen in group] for group in groups] == [["1", "3"], ["2", "4", "5"]]


# ---- the order of copies does not matter -----------------------------------------


_copies = st.lists(
    st.tuples(
        st.sampled_from(["1", "2", "3"]),
        st.sampled_from(["a.json", "b.json", "c.csv"]),
        st.fixed_dictionaries(
            {},
            optional={
                "name": st.sampled_from(["Anna", "Anne", "Bob"]),
                "phone": st.sampled_from(["+1", "+2"]),
                "tags": st.lists(st.sampled_from(["x", "y"]), max_size=2),
            },
        ),
    ),
    max_size=12,
)


def _summary(merged: list[MergedRecord], disagreements: list[Disagreement]) -> Any:
    records = {(m.collection, m.legacy_id): (m.copies, m.fields) for m in merged}
    disputes = {
        (d.collection, d.legacy_id, d.field): (d.chosen, d.others, d.overridden) for d in disagreements
    }
    return records, disputes


@given(copies=_copies, data=st.data())
def test_merging_does_not_depend_on_the_order_of_copies_with_distinct_times(copies: Any, data: Any) -> None:
    records = [
        MappedRecord("clients", legacy_id, source, f"{source}: [{index}]", _at(index), fields)
        for index, (legacy_id, source, fields) in enumerate(copies)
    ]
    overrides = data.draw(
        st.lists(
            st.builds(
                Override,
                st.just("clients"),
                st.sampled_from(["1", "2", "3"]),
                st.sampled_from(["name", "phone", "tags"]),
                st.sampled_from(["a.json", "b.json", "c.csv"]),
            ),
            max_size=3,
            unique_by=lambda o: (o.legacy_id, o.field),
        )
    )
    shuffled = data.draw(st.permutations(records))

    assert _summary(*merge_copies(shuffled, overrides)) == _summary(*merge_copies(records, overrides))
