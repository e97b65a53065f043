"""``branchsync import COLLECTION FILE.json``, run as IT scripts run it (the real console script)."""

from __future__ import annotations

import json
from pathlib import Path

from desktop.cache import Cache
from tests.integration.cli.conftest import Run


def _names(data_dir: Path) -> dict[str, dict[str, object]]:
    with Cache(data_dir) as cache:
        return {str(r.fields["name"]): dict(r.fields) for r in cache.list_rows("clients", limit=None)}


def test_import_of_json_reports_each_refused_item_by_where_and_exits_1_while_the_others_go_in(
    branchsync: Run, data_dir: Path, tmp_path: Path
) -> None:
    with Cache(data_dir) as cache:
        existing = cache.create("clients", {"name": "Ada", "phone": "+1 555 0100", "notes": "keep me"})
    source = tmp_path / "clients.json"
    items = [
        {"id": existing, "name": "Ada Lovelace", "phone": None},
        {"name": "Bea", "email": "not an address"},
        {"name": {"first": "Cy"}},
        {"name": "Di", "tags": ["new"]},
    ]
    source.write_text(json.dumps({"clients": items}), encoding="utf-8")

    result = branchsync("import", "clients", str(source))

    assert result.returncode == 1
    assert result.stdout.strip() == "clients: 1 created, 1 updated, 0 unchanged, 2 failed (of 4 rows)"
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2
    assert errors[0] == f"branchsync: {source}:clients[1]: 'not an address' is not an email address"
    assert errors[1].startswith(f"branchsync: {source}:clients[2]: name: ")
    assert "cannot be used as text" in errors[1]
    assert _names(data_dir) == {
        "Ada Lovelace": {"name": "Ada Lovelace", "notes": "keep me"},
        "Di": {"name": "Di", "tags": ["new"]},
    }


def test_a_json_export_imports_back_through_the_command_line_unchanged_and_queues_nothing(
    branchsync: Run, data_dir: Path, tmp_path: Path
) -> None:
    with Cache(data_dir) as cache:
        cache.create("clients", {"name": "Ada", "tags": ["a;b", "c"], "notes": "line 1\nline 2"})
        cache.create("clients", {"name": "Bo"})
        queued = cache.counts().pending
    exported = branchsync("export", "clients", "--format", "json")
    source = tmp_path / "export.json"
    source.write_text(exported.stdout, encoding="utf-8")
    edited = json.loads(exported.stdout)
    edited[1]["notes"] = "called back"
    changed = tmp_path / "edited.json"
    changed.write_text(json.dumps(edited), encoding="utf-8")

    again = branchsync("import", "clients", str(source))
    with Cache(data_dir) as cache:
        after_again = cache.counts().pending
    one_edit = branchsync("import", "clients", str(changed))

    assert (again.returncode, again.stderr) == (0, "")
    assert again.stdout.strip() == "clients: 0 created, 0 updated, 2 unchanged, 0 failed (of 2 rows)"
    assert after_again == queued  # nothing to send: the cache held every value already
    assert one_edit.stdout.strip() == "clients: 0 created, 1 updated, 1 unchanged, 0 failed (of 2 rows)"
    with Cache(data_dir) as cache:
        assert cache.counts().pending == queued + 1
    assert branchsync("export", "clients", "--format", "json").stdout == json.dumps(edited, indent=2) + "\n"


def test_a_json_file_that_cannot_be_imported_changes_nothing(
    branchsync: Run, data_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "clients.json"
    source.write_text(json.dumps([{"name": "Ada"}, {"name": "Bea", "colour": "red"}]), encoding="utf-8")

    result = branchsync("import", "clients", str(source))

    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "branchsync: unknown key(s) 'colour' for clients "
        "(known: email, home_branch_id, id, name, notes, phone, tags)"
    ]
    assert _names(data_dir) == {}
