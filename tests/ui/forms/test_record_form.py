"""Forms in the real window over a real cache: typing, saving, inline errors, delete, Esc, remote changes."""

from __future__ import annotations

import uuid
from datetime import timedelta

from PySide6.QtCore import QDate, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QMessageBox, QPlainTextEdit, QWidget
from pytestqt.qtbot import QtBot

from desktop.cache import Cache
from desktop.demo.sample_data import pulled_changes
from desktop.ui.forms.record_form import RecordForm
from desktop.ui.main_window import MainWindow
from desktop.ui.timefmt import to_local, today
from protocol.validate import normalise_datetime
from tests.support.seeding import seed_clients


def _line(form: RecordForm, name: str) -> QLineEdit:
    widget = form.fields[name].editor.widget
    assert isinstance(widget, QLineEdit)
    return widget


def _type(qtbot: QtBot, widget: QWidget, text: str) -> None:
    widget.setFocus()
    if isinstance(widget, QLineEdit):
        widget.selectAll()
    QTest.keyClicks(widget, text)


def _save(qtbot: QtBot, window: MainWindow, form: RecordForm) -> None:
    """Ctrl+S from inside the form, then wait for the writes thread."""
    first = next(iter(form.fields.values())).editor.widget
    QTest.keyClick(first, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.session.writes.busy)


def test_ctrl_n_typing_and_ctrl_s_create_a_client_shown_selected_in_the_list(
    window: MainWindow, cache: Cache, qtbot: QtBot
) -> None:
    QTest.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    form = window.clients.form
    assert window.clients.side.currentWidget() is form and form.is_new
    assert form.fields["name"].editor.widget.hasFocus()
    _type(qtbot, form.fields["name"].editor.widget, "  Nadia Novak ")
    QTest.keyClick(form.fields["name"].editor.widget, Qt.Key.Key_Tab)
    QTest.keyClicks(form.fields["phone"].editor.widget, "+44 20 7946 0101")
    _type(qtbot, form.fields["tags"].editor.widget, "vip, new")
    _save(qtbot, window, form)
    (record,) = cache.list_rows("clients")
    assert dict(record.fields) == {"name": "Nadia Novak", "phone": "+44 20 7946 0101", "tags": ["vip", "new"]}
    assert cache.counts().pending == 1
    assert form.record_id == record.id and not form.dirty
    (selected,) = window.clients.view.selectionModel().selectedRows()
    assert selected.data() == "Nadia Novak"


def test_invalid_values_are_shown_next_to_their_field_and_nothing_is_saved(
    window: MainWindow, cache: Cache, qtbot: QtBot
) -> None:
    window.new_record()
    form = window.clients.form
    _type(qtbot, form.fields["email"].editor.widget, "not-an-email")
    _type(qtbot, form.fields["phone"].editor.widget, "call me")
    _save(qtbot, window, form)
    assert form.messages["email"].isVisible()
    assert form.messages["email"].text() == "'not-an-email' is not an email address"
    assert form.messages["phone"].text() == "'call me' is not a phone number"
    assert form.messages["name"].text() == "name is required"
    assert not form.messages["tags"].isVisible()
    assert cache.count("clients") == 0 and cache.counts().pending == 0
    _type(qtbot, form.fields["name"].editor.widget, "Omar Haddad")
    assert not form.messages["name"].isVisible()  # editing a field clears its message
    _type(qtbot, form.fields["email"].editor.widget, "omar@example.com")
    _type(qtbot, form.fields["phone"].editor.widget, "+44 20 7946 0102")
    _save(qtbot, window, form)
    assert [r.fields["email"] for r in cache.list_rows("clients")] == ["omar@example.com"]
    assert not any(label.isVisible() for label in form.messages.values())


def test_a_text_longer_than_the_protocol_allows_is_refused_inline(
    window: MainWindow, cache: Cache, qtbot: QtBot
) -> None:
    window.new_record()
    form = window.clients.form
    form.fields["name"].editor.set_value("x" * 201)
    _save(qtbot, window, form)
    assert form.messages["name"].text() == "name is longer than 200 characters"
    assert cache.count("clients") == 0


def test_escape_leaves_the_form_without_saving(window: MainWindow, cache: Cache, qtbot: QtBot) -> None:
    window.new_record()
    form = window.clients.form
    _type(qtbot, form.fields["name"].editor.widget, "Never Saved")
    QTest.keyClick(form.fields["name"].editor.widget, Qt.Key.Key_Escape)
    assert window.clients.side.currentWidget() is window.clients.placeholder
    assert cache.count("clients") == 0


def test_ctrl_f_searches_and_down_enters_the_list(window: MainWindow, cache: Cache, qtbot: QtBot) -> None:
    seed_clients(cache, 50)
    window.refresh()
    QTest.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    search = window.clients.search
    assert search.hasFocus()
    model = window.clients.model
    names = [model.record_values(row)["name"] for row in range(model.rowCount())]
    target = next(name for name in names[5:] if name.isascii())  # QTest types ASCII only
    QTest.keyClicks(search, target)
    assert model.rowCount() >= 1
    assert all(model.index(row, 0).data().startswith(target) for row in range(model.rowCount()))
    QTest.keyClick(search, Qt.Key.Key_Down)
    assert window.clients.view.hasFocus()
    assert window.clients.form.fields["name"].editor.value() == model.index(0, 0).data()


def _open_first_client(window: MainWindow, cache: Cache) -> str:
    (row_id,) = seed_clients(cache, 1)
    window.refresh()
    window.clients.view.selectRow(0)
    assert window.clients.form.record_id == row_id
    return row_id


def test_delete_asks_first_and_cancel_keeps_the_record(
    window: MainWindow, cache: Cache, qtbot: QtBot
) -> None:
    row_id = _open_first_client(window, cache)
    form = window.clients.form
    QTest.mouseClick(form.delete_button, Qt.MouseButton.LeftButton)
    box = form.confirm_box
    assert box is not None and box.isVisible()
    assert "Every branch will see it deleted" in box.text()
    QTest.mouseClick(box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.session.writes.busy)
    assert cache.get("clients", row_id) is not None
    QTest.mouseClick(form.delete_button, Qt.MouseButton.LeftButton)
    box = form.confirm_box
    assert box is not None
    QTest.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: cache.get("clients", row_id) is None)
    qtbot.waitUntil(lambda: window.clients.model.rowCount() == 0)
    assert window.clients.side.currentWidget() is window.clients.placeholder


def _change_elsewhere(cache: Cache, row_id: str, fields: dict[str, object]) -> None:
    """An edit from another branch arriving through a pull: the whole row, stamped later."""
    record = cache.get("clients", row_id)
    assert record is not None
    (change,) = pulled_changes(
        "clients", [(row_id, {**record.fields, **fields})], first_seq=900, node="other-pc"
    )
    later = {key: "999999999999999-000000-other-pc" for key in change.clocks}
    cache.apply_changes([change.model_copy(update={"clocks": later})], 900)


def test_a_change_elsewhere_shows_in_the_open_form_and_mine_can_be_kept(
    window: MainWindow, cache: Cache, qtbot: QtBot
) -> None:
    row_id = _open_first_client(window, cache)
    form = window.clients.form
    _type(qtbot, form.fields["phone"].editor.widget, "+44 20 7946 0999")
    _change_elsewhere(cache, row_id, {"phone": "+44 20 7946 0555", "email": "new@example.com"})
    window.refresh()
    assert form.banner.isVisible()
    assert "Email" in form.banner.text.text() and "Phone" in form.banner.text.text()
    assert _line(form, "email").text() == "new@example.com"  # untouched: takes the new value
    assert _line(form, "phone").text() == "+44 20 7946 0999"  # touched: still mine until I choose
    assert form.banner.keep.isVisible()
    QTest.mouseClick(form.banner.keep, Qt.MouseButton.LeftButton)
    assert not form.banner.isVisible()
    _save(qtbot, window, form)
    record = cache.get("clients", row_id)
    assert record is not None
    assert record.fields["phone"] == "+44 20 7946 0999" and record.fields["email"] == "new@example.com"


def test_a_change_elsewhere_can_replace_my_unsaved_edit(
    window: MainWindow, cache: Cache, qtbot: QtBot
) -> None:
    row_id = _open_first_client(window, cache)
    form = window.clients.form
    notes = form.fields["notes"].editor.widget
    assert isinstance(notes, QPlainTextEdit)
    notes.setFocus()
    QTest.keyClicks(notes, "Mine")
    _change_elsewhere(cache, row_id, {"notes": "Theirs"})
    window.refresh()
    QTest.mouseClick(form.banner.take, Qt.MouseButton.LeftButton)
    assert notes.toPlainText() == "Theirs"
    assert not form.dirty
    _save(qtbot, window, form)
    assert cache.counts().pending == 0


def test_a_record_deleted_elsewhere_says_so_and_cannot_be_saved(
    window: MainWindow, cache: Cache, qtbot: QtBot
) -> None:
    row_id = _open_first_client(window, cache)
    cache.delete("clients", row_id)
    window.refresh()
    form = window.clients.form
    assert "deleted on another device" in form.banner.text.text()
    assert not form.save_button.isEnabled()


def test_a_new_appointment_defaults_to_today_here_and_picks_its_client_by_search(
    window: MainWindow, cache: Cache, qtbot: QtBot
) -> None:
    ids = seed_clients(cache, 30)
    client = cache.get("clients", ids[4])
    assert client is not None
    window.tabs.setCurrentWidget(window.appointments)
    window.new_record()
    form = window.appointments.form
    picker = form.fields["client_id"].editor
    assert picker.value() is None
    _type(qtbot, picker.widget, client.fields["phone"])
    completer = picker.completer  # type: ignore[attr-defined]
    assert completer.popup().isVisible()
    index = completer.completionModel().index(0, 0)
    completer.activated[type(index)].emit(index)
    assert picker.value() == client.id
    _type(qtbot, form.fields["service"].editor.widget, "Haircut")
    when = form.fields["starts_at"].editor.value()
    _save(qtbot, window, form)
    (appointment,) = cache.list_rows("appointments")
    assert appointment.fields["client_id"] == client.id
    assert appointment.fields["duration_min"] == 30 and appointment.fields["status"] == "booked"
    assert appointment.fields["starts_at"] == normalise_datetime(when)
    local_day = to_local(appointment.fields["starts_at"], None).date()
    assert local_day - today(None) in (timedelta(0), timedelta(days=1))  # the next quarter hour
    # the list shows today; after 23:45 the next quarter hour is tomorrow: show that day too
    window.filters.last.setDate(QDate(local_day.year, local_day.month, local_day.day))
    qtbot.waitUntil(lambda: window.appointments.model.rowCount() == 1)
    assert window.appointments.model.index(0, 1).data() == client.fields["name"]


def test_an_appointment_without_a_client_is_refused_inline(
    window: MainWindow, cache: Cache, qtbot: QtBot
) -> None:
    window.tabs.setCurrentWidget(window.appointments)
    window.new_record()
    form = window.appointments.form
    _save(qtbot, window, form)
    assert form.messages["client_id"].text() == "client_id is required"
    assert cache.count("appointments") == 0


def test_unknown_ids_in_fields_are_shown_not_lost(window: MainWindow, cache: Cache, qtbot: QtBot) -> None:
    stranger = str(uuid.uuid4())
    window.tabs.setCurrentWidget(window.appointments)
    window.new_record()
    form = window.appointments.form
    form.fields["client_id"].editor.set_value(stranger)
    assert stranger[:8] in form.fields["client_id"].editor.widget.text()  # type: ignore[attr-defined]
    assert form.fields["client_id"].editor.value() == stranger


def _click_row(window: MainWindow, row: int) -> None:
    view = window.clients.view
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(view.model().index(row, 0)).center()
    )


def test_after_unsaved_edits_are_cancelled_the_first_click_on_a_row_opens_it(
    window: MainWindow, cache: Cache, qtbot: QtBot
) -> None:
    """The bug: edits kept the form on the first row while the second was selected; after
    Cancel, clicking the second (already selected) row opened nothing."""
    first, second = seed_clients(cache, 2)
    window.refresh()
    ids = [window.clients.model.row_id(row) for row in (0, 1)]
    _click_row(window, 0)
    form = window.clients.form
    assert form.record_id == ids[0]
    notes = form.fields["notes"].editor.widget
    assert isinstance(notes, QPlainTextEdit)
    notes.setFocus()
    QTest.keyClicks(notes, "half typed")
    _click_row(window, 1)  # unsaved edits: the form stays on the first row
    assert form.dirty and form.record_id == ids[0]
    QTest.mouseClick(form.cancel_button, Qt.MouseButton.LeftButton)
    assert window.clients.side.currentWidget() is not form

    _click_row(window, 1)

    assert window.clients.side.currentWidget() is form and form.record_id == ids[1]
    assert {first, second} == set(ids)
    _click_row(window, 0)  # and back to the first: opened afresh, without the cancelled edit
    assert form.record_id == ids[0] and not form.dirty and "half typed" not in notes.toPlainText()


def test_tags_read_as_a_file_holds_them_and_a_save_of_another_field_leaves_them_whole(
    window: MainWindow, cache: Cache, qtbot: QtBot
) -> None:
    """The bug: tags split on ';' in CSV but on ',' here, and an unrelated save re-split
    a tag that holds a comma."""
    row_id = cache.create("clients", {"name": "Ada", "tags": ["colour, cut", "vip"]})  # as a CSV cell gave it
    window.refresh()
    window.clients.view.selectRow(0)
    form = window.clients.form
    assert form.record_id == row_id
    notes = form.fields["notes"].editor.widget
    assert isinstance(notes, QPlainTextEdit)
    notes.setFocus()
    QTest.keyClicks(notes, "prefers mornings")
    _save(qtbot, window, form)
    record = cache.get("clients", row_id)
    assert record is not None and record.fields["tags"] == ["colour, cut", "vip"]
    assert record.fields["notes"] == "prefers mornings"

    window.clients.view.selectRow(0)
    tags = form.fields["tags"].editor.widget
    assert isinstance(tags, QLineEdit)
    tags.selectAll()
    _type(qtbot, tags, "vip; allergy, new")
    _save(qtbot, window, form)
    record = cache.get("clients", row_id)
    assert record is not None and record.fields["tags"] == ["vip", "allergy", "new"]
