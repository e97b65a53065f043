"""The headless command line, run as IT scripts run it: the real console script, a temp data dir."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

from desktop import __version__
from desktop.cache import Cache
from desktop.cache.state import Key
from protocol.hlc import Timestamp
from protocol.messages import Change, MutationResult
from tests.integration.cli.conftest import Run

STATUS_KEYS = {
    "device_id",
    "branch",
    "branch_timezone",
    "server",
    "online",
    "cursor",
    "pending",
    "rejected",
    "conflicts",
    "last_sync",
    "clock_offset_ms",
    "clock_uncertainty_ms",
    "recovered",
}


def _export(branchsync: Run, collection: str = "clients") -> list[dict[str, object]]:
    result = branchsync("export", collection, "--format", "json")
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_status_of_a_new_installation(branchsync: Run) -> None:
    result = branchsync("status", "--json")

    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert set(status) == STATUS_KEYS
    assert status == dict.fromkeys(STATUS_KEYS) | {
        "online": False,
        "cursor": 0,
        "pending": 0,
        "rejected": 0,
        "conflicts": 0,
        "clock_offset_ms": 0,
        "clock_uncertainty_ms": 0,
    }


def test_status_reports_what_the_engine_and_local_writes_left(branchsync: Run, data_dir: Path) -> None:
    with Cache(data_dir) as cache:
        cache.set_enrollment(
            device_id="dev-1",
            branch_id="b-1",
            branch_name="North",
            server_url="https://s.example",
            branch_timezone="Europe/Vienna",
        )
        clock = {Key.CLOCK_OFFSET_MS: -1500, Key.CLOCK_UNCERTAINTY_MS: 20}
        cache.set_state({Key.ONLINE: True, Key.CURSOR: 42, **clock})
        cache.create("clients", {"name": "Ada"})

    status = json.loads(branchsync("status", "--json").stdout)
    human = branchsync("status").stdout

    keys = ("device_id", "branch", "branch_timezone", "server", "online", "cursor", "pending")
    assert {k: status[k] for k in keys} == {
        "device_id": "dev-1",
        "branch": "North",
        "branch_timezone": "Europe/Vienna",
        "server": "https://s.example",
        "online": True,
        "cursor": 42,
        "pending": 1,
    }
    assert (status["clock_offset_ms"], status["clock_uncertainty_ms"]) == (-1500, 20)
    assert "branch:          North" in human and "online:          yes" in human


def test_the_data_dir_comes_from_the_environment_or_after_the_command(
    branchsync: Run, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "env-dir"
    with Cache(elsewhere) as cache:
        cache.create("clients", {"name": "Ada"})

    from_env = branchsync("status", "--json", env={"BRANCHSYNC_DATA_DIR": str(elsewhere)}, data=False)
    after = branchsync("status", "--json", "--data-dir", str(elsewhere), data=False)

    assert json.loads(from_env.stdout)["pending"] == 1
    assert json.loads(after.stdout)["pending"] == 1


def test_import_creates_edits_and_reports_bad_lines_while_the_good_ones_go_in(
    branchsync: Run, data_dir: Path, tmp_path: Path
) -> None:
    with Cache(data_dir) as cache:
        existing = cache.create("clients", {"name": "Ada", "phone": "+1 555 0100", "notes": "keep me"})
    missing = str(uuid.uuid4())
    source = tmp_path / "clients.csv"
    source.write_text(
        "\ufeffid,name,phone,tags\n"  # Excel's BOM
        f"{existing},Ada Lovelace,,vip;math\n"
        ',Bea,+44 20 7946 0000,"[""new""]"\n'
        ",,+1 555 0111,\n"
        ",Cy,call me,\n"
        f"{missing},Di,,\n"
        ',"Eve\nSecond line",,\n',
        encoding="utf-8",
    )

    result = branchsync("import", "clients", str(source))

    assert result.returncode == 1
    assert result.stdout.strip() == "clients: 2 created, 1 updated, 0 unchanged, 3 failed (of 6 rows)"
    errors = result.stderr.strip().splitlines()
    assert errors == [
        f"branchsync: {source}:4: name is required",
        f"branchsync: {source}:5: 'call me' is not a phone number",
        f"branchsync: {source}:6: no clients row with id '{missing}'",
    ]
    rows = {row["name"]: row for row in _export(branchsync)}
    assert set(rows) == {"Ada Lovelace", "Bea", "Eve\nSecond line"}
    ada = rows["Ada Lovelace"]
    assert (ada["id"], ada["phone"], ada["notes"], ada["tags"]) == (
        existing,
        None,
        "keep me",
        ["vip", "math"],
    )
    assert rows["Bea"]["tags"] == ["new"]
    assert json.loads(branchsync("status", "--json").stdout)["pending"] == 4


def test_a_file_that_cannot_be_imported_changes_nothing(branchsync: Run, tmp_path: Path) -> None:
    unknown_column = tmp_path / "a.csv"
    unknown_column.write_text("name,colour\nAda,red\n")
    latin1 = tmp_path / "b.csv"
    latin1.write_bytes("name\nZoë\n".encode("latin-1"))

    for path, message in (
        (unknown_column, "unknown column(s) 'colour' for clients"),
        (latin1, "is not UTF-8 text"),
        (tmp_path / "absent.csv", "cannot read"),
    ):
        result = branchsync("import", "clients", str(path))
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert _export(branchsync) == []


def test_export_leaves_deleted_rows_out_and_csv_round_trips(branchsync: Run, data_dir: Path) -> None:
    with Cache(data_dir) as cache:
        kept = cache.create(
            "clients", {"name": "Ada, the first", "tags": ["a;b", "c"], "notes": "line 1\nline 2"}
        )
        gone = cache.create("clients", {"name": "Gone"})
    assert branchsync("delete", "clients", gone).returncode == 0

    result = branchsync("export", "clients")

    assert result.returncode == 0, result.stderr
    [row] = list(csv.DictReader(io.StringIO(result.stdout)))
    assert row["id"] == kept and row["name"] == "Ada, the first" and row["notes"] == "line 1\nline 2"
    assert json.loads(row["tags"]) == ["a;b", "c"]
    assert [r["id"] for r in _export(branchsync)] == [kept]


def test_appointments_import_and_export(branchsync: Run, data_dir: Path, tmp_path: Path) -> None:
    with Cache(data_dir) as cache:
        client = cache.create("clients", {"name": "Ada"})
    source = tmp_path / "appointments.csv"
    source.write_text(
        "client_id,starts_at,duration_min,status\n"
        f"{client},2026-03-01T09:30:00+01:00,45,booked\n"
        f"{client},tomorrow,45,booked\n"
        f"{client},2026-03-01T10:30:00+01:00,0,maybe\n"
    )

    result = branchsync("import", "appointments", str(source))

    assert result.returncode == 1
    assert "line" not in result.stdout and "1 created" in result.stdout
    assert f"{source}:3: starts_at 'tomorrow' is not" in result.stderr
    assert f"{source}:4: duration_min must be between 1 and 1440; status must be one of" in result.stderr
    [appointment] = _export(branchsync, "appointments")
    assert (appointment["starts_at"], appointment["duration_min"]) == ("2026-03-01T08:30:00+00:00", 45)


def test_delete_refuses_unknown_ids_and_collections_in_one_line(branchsync: Run) -> None:
    unknown_id = branchsync("delete", "clients", str(uuid.uuid4()))
    unknown_collection = branchsync("delete", "invoices", str(uuid.uuid4()))
    missing_argument = branchsync("delete", "clients")

    assert unknown_id.returncode == 1 and unknown_id.stderr.startswith("branchsync: no clients row with id")
    assert unknown_collection.returncode == 2
    assert (
        unknown_collection.stderr
        == "branchsync: unknown collection 'invoices' (known: clients, appointments)\n"
    )
    assert missing_argument.returncode == 2 and len(missing_argument.stderr.splitlines()) == 1


def test_conflicts_and_rejected_list_what_staff_must_see(branchsync: Run, data_dir: Path) -> None:
    with Cache(data_dir) as cache:
        row_id = cache.create("clients", {"name": "Ada", "phone": "+1 555 0100"})
        [entry] = cache.pending_batch()
        later = str(Timestamp(Timestamp.parse(entry.hlc).wall_ms + 60_000, 0, "branch-b"))
        change = Change(
            seq=1,
            collection="clients",
            row_id=uuid.UUID(row_id),
            fields={"name": "Ada", "phone": "+1 555 0999"},
            clocks={"name": later, "phone": later, "_deleted": later},
            deleted=False,
        )
        cache.apply_changes([change], 1)
        cache.apply_push_results(
            [entry],
            [
                MutationResult.model_validate(
                    {
                        "id": entry.mutation_id,
                        "status": "rejected",
                        "error": {"code": "too_long", "message": "no"},
                    }
                )
            ],
        )

    conflicts = json.loads(branchsync("conflicts", "--json").stdout)
    rejected = json.loads(branchsync("rejected", "--json").stdout)
    human = branchsync("conflicts").stdout

    assert [
        (c["row_id"], c["field"], c["my_value"], c["winning_value"], c["winning_device"]) for c in conflicts
    ] == [(row_id, "phone", "+1 555 0100", "+1 555 0999", "branch-b")]
    assert [(r["mutation_id"], r["code"], r["message"], r["fields"]) for r in rejected] == [
        (entry.mutation_id, "too_long", "no", {"name": "Ada", "phone": "+1 555 0100"})
    ]
    assert 'phone: mine "+1 555 0100" lost to "+1 555 0999" from branch-b' in human
    status = json.loads(branchsync("status", "--json").stdout)
    assert (status["conflicts"], status["rejected"], status["pending"]) == (1, 1, 0)


def test_an_unusable_data_dir_is_a_storage_error_exit(branchsync: Run, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")

    result = branchsync("--data-dir", str(not_a_folder), "status", data=False)

    assert result.returncode == 4
    assert result.stderr.startswith("branchsync: the Branchsync data folder cannot be used")
    assert len(result.stderr.splitlines()) == 1


def test_version_and_no_command_opening_the_window(branchsync: Run) -> None:
    version = branchsync("--version", data=False)
    # Without a command the desktop window opens: on a new installation, the enrolment
    # dialog. The start-up probe closes it as soon as it has painted.
    bare = branchsync(env={"BRANCHSYNC_EXIT_WHEN_READY": "1", "QT_QPA_PLATFORM": "offscreen"})

    assert version.returncode == 0 and version.stdout.strip() == f"branchsync {__version__}"
    assert bare.returncode == 0, bare.stderr
    assert "window ready" in bare.stdout + bare.stderr
