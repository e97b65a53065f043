"""``branchsync-server import`` and ``legacy-ids`` run as IT runs them, on the salonbook fixtures
of ``tests/data/migration`` (whose README's tables give every number asserted here) and the
mapping files beside them, against a real database."""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml

from server.store.engine import asyncpg_url
from tests.support import postgres
from tests.support.server_process import run_cli

DATA = Path(__file__).resolve().parents[3] / "data" / "migration"
SALONBOOK = [
    DATA / "localstorage-north.json",
    DATA / "localstorage-south.json",
    DATA / "cloud-folder" / "bookings.json",
    DATA / "cloud-folder" / "bookings (conflicted copy 2026-11-28).json",
]
CONFLICTED = "bookings (conflicted copy 2026-11-28).json"
UK_BRANCHES = (("North", "Europe/London"), ("South", "Europe/London"))
BERLIN = (("Berlin Mitte", "Europe/Berlin"),)

pytestmark = pytest.mark.timeout(180)


# ---- helpers --------------------------------------------------------------------------


def prepare(database_url: str, branches: tuple[tuple[str, str], ...]) -> None:
    done = run_cli("migrate", database_url=database_url)
    assert done.returncode == 0, done.stderr
    for name, zone in branches:
        done = run_cli("branch", "create", name, "--timezone", zone, database_url=database_url)
        assert done.returncode == 0, done.stderr


def cli(database_url: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*(str(arg) for arg in args), database_url=database_url)


def import_json(
    database_url: str, sources: list[Path], mapping: Path, *options: str | Path
) -> dict[str, Any]:
    """Run an import with ``--json``; its summary (the run must succeed)."""
    done = cli(database_url, "import", *sources, "--mapping", mapping, "--json", *options)
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


def counts(summary: dict[str, Any]) -> dict[str, dict[str, int]]:
    by_type: dict[str, dict[str, int]] = summary["by_type"]
    return by_type


def report_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def rows_of(rows: list[dict[str, Any]], kind: str, legacy_id: str | None = None) -> list[dict[str, Any]]:
    return [r for r in rows if r["kind"] == kind and (legacy_id is None or r["legacy_id"] == legacy_id)]


def one(rows: list[dict[str, Any]], kind: str, legacy_id: str) -> dict[str, Any]:
    found = rows_of(rows, kind, legacy_id)
    assert len(found) == 1, f"{kind} rows for {legacy_id}: {found}"
    return found[0]


async def _fetch(database_url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_url(database_url))
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql)
        return rows
    finally:
        await conn.close()


def fetch(database_url: str, sql: str) -> list[asyncpg.Record]:
    return asyncio.run(_fetch(database_url, sql))


def row_counts(database_url: str) -> tuple[int, int, int]:
    (row,) = fetch(
        database_url,
        "SELECT (SELECT count(*) FROM clients), (SELECT count(*) FROM appointments),"
        " (SELECT count(*) FROM legacy_ids)",
    )
    return row[0], row[1], row[2]


def by_legacy_id(database_url: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Every imported record's fields by record type and old id (branches by name)."""
    clients = fetch(
        database_url,
        "SELECT l.legacy_id, c.id, c.name, c.phone, c.email, c.notes, c.tags FROM legacy_ids l"
        " JOIN clients c ON c.id = l.record_id WHERE l.collection = 'clients'",
    )
    appointments = fetch(
        database_url,
        "SELECT l.legacy_id, a.id, k.legacy_id AS client, b.name AS branch, a.starts_at, a.duration_min,"
        " a.service, a.status FROM legacy_ids l JOIN appointments a ON a.id = l.record_id"
        " LEFT JOIN legacy_ids k ON k.record_id = a.client_id AND k.collection = 'clients'"
        " LEFT JOIN branches b ON b.id = a.branch_id WHERE l.collection = 'appointments'",
    )
    return {
        "clients": {row["legacy_id"]: dict(row) for row in clients},
        "appointments": {row["legacy_id"]: dict(row) for row in appointments},
    }


def other_database(pg_admin_url: str) -> Iterator[str]:
    url = asyncio.run(postgres.create_database(pg_admin_url))
    try:
        yield url
    finally:
        asyncio.run(postgres.drop_database(pg_admin_url, url))


# ---- salonbook: one imported database, read by several tests ---------------------------


class Imported:
    """The salonbook files imported once, then the same command run again."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.report_csv, self.report_json = folder / "report.csv", folder / "report.json"
        self.first = import_json(url, SALONBOOK, DATA / "salonbook.yaml", "--report", self.report_csv)
        self.after_first = by_legacy_id(url)
        self.counts_after_first = row_counts(url)
        self.again = import_json(url, SALONBOOK, DATA / "salonbook.yaml", "--report", self.report_json)
        self.after_again = by_legacy_id(url)


@pytest.fixture(scope="module")
def salonbook(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    for url in other_database(pg_admin_url):
        prepare(url, UK_BRANCHES)
        yield Imported(url, tmp_path_factory.mktemp("salonbook"))


SALONBOOK_COUNTS = {
    # c-101..c-106: c-106's exact duplicate and every other copy are one record each
    "clients": {"created": 6, "updated": 0, "unchanged": 0, "rejected": 0, "merged": 4},
    # a-201..a-207 and a-301..a-304; a-203 (c-999), a-204 (no client), a-303 (no such time) refused
    "appointments": {"created": 8, "updated": 0, "unchanged": 0, "rejected": 3, "merged": 3},
}


def test_salonbook_imports_each_record_once_with_the_counts_the_fixtures_give(salonbook: Imported) -> None:
    summary = salonbook.first
    assert counts(summary) == SALONBOOK_COUNTS
    assert summary["records_read"] == 32  # North 4 + 5, South 4 + 4, bookings 5 + 5, conflicted 3 + 2
    assert summary["rejected"] == 3
    assert summary["copies_rejected"] == 1  # a-303, its only copy
    assert summary["disagreements"] == 7
    assert summary["written"] == 14
    assert summary["unmapped_tables"] == []
    assert len(summary["ignored"]) == 11
    assert salonbook.counts_after_first == (6, 8, 14)
    assert sorted(salonbook.after_first["clients"]) == [f"c-10{n}" for n in range(1, 7)]
    assert sorted(salonbook.after_first["appointments"]) == [
        "a-201", "a-202", "a-205", "a-206", "a-207", "a-301", "a-302", "a-304",
    ]  # fmt: skip


def test_the_newest_copy_of_each_record_wins_field_by_field(salonbook: Imported) -> None:
    clients, appointments = salonbook.after_first["clients"], salonbook.after_first["appointments"]
    assert clients["c-101"]["phone"] == "+442078406199"  # South and bookings.json, not North's 6180
    assert clients["c-102"]["email"] == "oliver.bennett@example.com"  # North's (11-29), not South's
    assert clients["c-102"]["notes"] == "Sensitive scalp"  # bookings.json [1], not its older [4]
    assert clients["c-102"]["tags"] == ["colour"]
    assert clients["c-106"]["phone"] == "07700 900790"  # the conflicted copy is the newer one
    assert clients["c-106"]["tags"] == ["vip"]
    assert appointments["a-206"]["duration_min"] == 60
    assert appointments["a-207"]["status"] == "cancelled"
    assert (appointments["a-304"]["duration_min"], appointments["a-304"]["status"]) == (60, "done")
    assert appointments["a-207"]["client"] == "c-101" and appointments["a-207"]["branch"] == "South"
    # naive local times read in the branch's zone: London is on UTC in December
    assert appointments["a-201"]["starts_at"].isoformat() == "2026-12-03T10:00:00+00:00"
    assert appointments["a-201"]["branch"] == "North"

    rows = report_csv(salonbook.report_csv)
    chosen = {(r["legacy_id"], r["field"]): (r["value"], r["source"]) for r in rows_of(rows, "merged")}
    assert chosen[("c-106", "phone")] == ("07700 900790", CONFLICTED)
    assert chosen[("a-206", "duration_min")] == ("60", CONFLICTED)
    assert chosen[("a-207", "status")] == ("cancelled", "bookings.json")
    a206 = one(rows, "merged", "a-206")
    assert (json.loads(a206["other_values"]), json.loads(a206["other_sources"])) == ([45], ["bookings.json"])
    assert a206["reason"] == "the newest copy"


def test_refused_records_are_in_the_report_with_their_reasons(salonbook: Imported) -> None:
    for rows in (report_csv(salonbook.report_csv), json.loads(salonbook.report_json.read_text())["rows"]):
        rejected = {r["legacy_id"]: r for r in rows_of(rows, "rejected")}
        assert sorted(rejected) == ["a-203", "a-204", "a-303"]
        assert rejected["a-203"]["reason"] == (
            "client_id: no client has the old id 'c-999' in these sources or an earlier import"
        )
        assert rejected["a-203"]["where"] == "localstorage-north.json: salonbook:appointments[2]"
        assert "does not exist in Europe/London" in rejected["a-303"]["reason"]
        assert rejected["a-303"]["reason"].startswith('starts_at (from start): "2027-03-28T01:30:00"')
        assert rejected["a-303"]["where"] == "localstorage-south.json: salonbook:appointments[2]"
        # no clientId at all: refused as a booking without its required client, not imported orphaned
        assert rejected["a-204"]["reason"] == "client_id is required"
        assert rejected["a-204"]["where"] == "localstorage-north.json: salonbook:appointments[3]"
        copy = one(rows, "rejected_copy", "a-303")
        assert copy["source"] == "localstorage-south.json"
    assert "a-204" not in salonbook.after_first["appointments"]


def test_running_the_same_import_again_changes_nothing(salonbook: Imported) -> None:
    again = salonbook.again
    assert counts(again) == {
        "clients": {"created": 0, "updated": 0, "unchanged": 6, "rejected": 0, "merged": 4},
        "appointments": {"created": 0, "updated": 0, "unchanged": 8, "rejected": 3, "merged": 3},
    }
    assert again["written"] == 0
    assert salonbook.after_again == salonbook.after_first
    assert row_counts(salonbook.url) == salonbook.counts_after_first


def test_a_dry_run_writes_nothing_and_reports_what_the_real_run_did(
    salonbook: Imported, database_url: str, tmp_path: Path
) -> None:
    prepare(database_url, UK_BRANCHES)
    report = tmp_path / "dry.csv"
    dry = import_json(database_url, SALONBOOK, DATA / "salonbook.yaml", "--dry-run", "--report", report)

    assert row_counts(database_url) == (0, 0, 0)
    assert dry["dry_run"] is True and salonbook.first["dry_run"] is False
    assert dry["written"] == 0
    assert {k: v for k, v in dry.items() if k not in ("dry_run", "written")} == {
        k: v for k, v in salonbook.first.items() if k not in ("dry_run", "written")
    }
    assert report.read_text(encoding="utf-8") == salonbook.report_csv.read_text(encoding="utf-8")


def test_worker_processes_import_what_one_process_does(
    salonbook: Imported, database_url: str, tmp_path: Path
) -> None:
    prepare(database_url, UK_BRANCHES)
    report = tmp_path / "parallel.csv"
    parallel = import_json(
        database_url, SALONBOOK, DATA / "salonbook.yaml", "--workers", "3", "--report", report
    )

    assert parallel["workers"] == 3 and salonbook.first["workers"] == 1
    assert {k: v for k, v in parallel.items() if k != "workers"} == {
        k: v for k, v in salonbook.first.items() if k != "workers"
    }
    assert by_legacy_id(database_url) == salonbook.after_first  # the same ids, links and values
    lines = report.read_text(encoding="utf-8").splitlines()
    expected = salonbook.report_csv.read_text(encoding="utf-8").splitlines()
    assert lines[0] == expected[0] and sorted(lines[1:]) == sorted(expected[1:])


def test_an_override_makes_an_older_copy_win_one_field(database_url: str, tmp_path: Path) -> None:
    prepare(database_url, UK_BRANCHES)
    mapping = DATA / "salonbook.yaml"
    import_json(database_url, SALONBOOK, mapping)
    overrides, report = tmp_path / "overrides.csv", tmp_path / "report.csv"
    overrides.write_text(
        f'type,legacy_id,field,source\nclients,c-101,phone,"{CONFLICTED}"\n', encoding="utf-8"
    )
    before = by_legacy_id(database_url)

    chosen = import_json(database_url, SALONBOOK, mapping, "--overrides", overrides, "--report", report)
    after = by_legacy_id(database_url)
    again = import_json(database_url, SALONBOOK, mapping, "--overrides", overrides)

    assert before["clients"]["c-101"]["phone"] == "+442078406199"
    assert after["clients"]["c-101"]["phone"] == "+442078406180"  # the conflicted copy's, from 11-20
    assert counts(chosen)["clients"] == {
        "created": 0,
        "updated": 1,
        "unchanged": 5,
        "rejected": 0,
        "merged": 4,
    }
    assert chosen["written"] == 1
    row = next(r for r in rows_of(report_csv(report), "merged", "c-101") if r["field"] == "phone")
    assert (row["value"], row["source"], row["reason"]) == (
        "+442078406180",
        CONFLICTED,
        "chosen by the overrides file",
    )
    # everything else as the newest copies had it
    assert {k: v for k, v in after["clients"]["c-101"].items() if k != "phone"} == {
        k: v for k, v in before["clients"]["c-101"].items() if k != "phone"
    }
    assert after["clients"]["c-102"] == before["clients"]["c-102"]
    assert (again["written"], counts(again)["clients"]["unchanged"]) == (0, 6)


# ---- the German workbook and its CSV twin ----------------------------------------------


def test_the_workbook_and_its_csv_twin_import_the_same_records(
    database_url: str, pg_admin_url: str, tmp_path: Path
) -> None:
    mapping = DATA / "kunden.toml"
    prepare(database_url, BERLIN)
    xlsx_report, csv_report = tmp_path / "xlsx.csv", tmp_path / "csv.csv"
    from_xlsx = import_json(database_url, [DATA / "kunden.xlsx"], mapping, "--report", xlsx_report)
    workbook = by_legacy_id(database_url)
    for other in other_database(pg_admin_url):
        prepare(other, BERLIN)
        sources = [DATA / "Kunden.csv", DATA / "Termine.csv"]
        from_csv = import_json(other, sources, mapping, "--report", csv_report)
        twin = by_legacy_id(other)

    expected = {
        "clients": {"created": 5, "updated": 0, "unchanged": 0, "rejected": 0, "merged": 0},
        # 5003 (37.5 min), the row-7 problem (5005) and 5006 (02:30 on 29 March) refused
        "appointments": {"created": 3, "updated": 0, "unchanged": 0, "rejected": 3, "merged": 0},
    }
    assert counts(from_xlsx) == counts(from_csv) == expected
    assert from_xlsx["records_read"] == from_csv["records_read"] == 11
    assert from_xlsx["ignored"] == ["kunden.xlsx: Hinweise (an empty sheet)"]
    assert twin == workbook
    assert sorted(workbook["clients"]) == ["1001", "1002", "1003", "1004", "1005"]
    assert sorted(workbook["appointments"]) == ["5001", "5002", "5004"]
    client = workbook["clients"]["1001"]
    assert (client["name"], client["phone"], client["notes"]) == (
        "Jürgen Müller",
        "+49301234567",
        "Färbung nur nach Allergietest",
    )
    assert workbook["clients"]["1003"]["email"] is None
    assert workbook["clients"]["1005"]["notes"] == "Kommt mit Hund; bitte Wassernapf"
    booked, done, no_show = (workbook["appointments"][n] for n in ("5001", "5002", "5004"))
    assert (booked["starts_at"].isoformat(), booked["status"], booked["client"]) == (
        "2026-12-02T12:00:00+00:00",
        "booked",
        "1001",
    )  # text 02.12.2026 13:00, Berlin time
    assert (done["starts_at"].isoformat(), done["status"]) == ("2026-12-03T08:30:00+00:00", "done")
    assert (no_show["status"], no_show["duration_min"], no_show["branch"]) == ("no_show", 90, "Berlin Mitte")

    for report, source, where, dauer in (
        (xlsx_report, "kunden.xlsx", "kunden.xlsx: Termine row {}", "37.5"),
        (csv_report, "Termine.csv", "Termine.csv line {}", '"37,5"'),
    ):
        rows = report_csv(report)
        rejected = {r["legacy_id"]: r for r in rows_of(rows, "rejected")}
        assert sorted(rejected) == ["5003", "5005", "5006"]
        assert rejected["5003"]["reason"] == (
            f"duration_min (from Dauer): {dauer} is not a whole number: use digits such as 45 or 45 min"
        )
        assert rejected["5003"]["where"] == where.format(4)
        time_reason, status_reason = rejected["5006"]["reason"].split("; ")  # every bad field at once
        assert time_reason.startswith('starts_at (from Beginn): "29.03.2026 02:30" does not exist')
        assert status_reason.startswith('status (from Status): "Verschoben" is not in the mapping')
        assert rejected["5006"]["where"] == where.format(8)
        (problem,) = [r for r in rows_of(rows, "rejected_copy") if r["where"] == where.format(7)]
        why = (
            "has values right of the header's 7 columns"
            if source == "kunden.xlsx"
            else "has 8 cells but the header has 7"
        )
        assert problem["reason"] == rejected["5005"]["reason"] == why
        assert (problem["source"], problem["legacy_id"]) == (source, "5005")


def test_a_status_the_values_table_lacks_is_refused_naming_the_known_values(
    database_url: str, tmp_path: Path
) -> None:
    """Read in UTC, row 8's time exists, and its status is the one reason it is refused."""
    prepare(database_url, BERLIN)
    text = (DATA / "kunden.toml").read_text(encoding="utf-8")
    utc = 'starts_at = { from = "Beginn", format = "%d.%m.%Y %H:%M", timezone = "UTC" }'
    assert text.count("starts_at = {") == 1
    mapping = tmp_path / "kunden-utc.toml"
    mapping.write_text(
        "\n".join(utc if line.startswith("starts_at = {") else line for line in text.splitlines()),
        encoding="utf-8",
    )
    report = tmp_path / "report.json"

    summary = import_json(database_url, [DATA / "kunden.xlsx"], mapping, "--dry-run", "--report", report)

    rows = json.loads(report.read_text(encoding="utf-8"))["rows"]
    assert one(rows, "rejected", "5006")["reason"] == (
        'status (from Status): "Verschoben" is not in the mapping\'s values table '
        '(known values: "Gebucht", "Erledigt", "Storniert", "Nicht erschienen")'
    )
    assert counts(summary)["appointments"]["rejected"] == 3
    assert row_counts(database_url) == (0, 0, 0)


# ---- the Latin-1 CSV ------------------------------------------------------------------


def test_a_latin1_csv_is_read_in_its_detected_encoding(database_url: str, tmp_path: Path) -> None:
    prepare(database_url, ())
    report = tmp_path / "report.csv"
    summary = import_json(
        database_url, [DATA / "clients-latin1.csv"], DATA / "latin1.yaml", "--report", report
    )

    clients = by_legacy_id(database_url)["clients"]
    assert counts(summary)["clients"] == {
        "created": 5,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
        "merged": 0,
    }
    assert {key: row["name"] for key, row in clients.items()} == {
        "L-01": "Jürgen Müller",
        "L-02": "Zoë Brontë",
        "L-03": "Café Crème Ltd",
        "L-04": "François Légère",
        "L-06": "Renée Noël",
    }
    assert clients["L-02"]["notes"] == "Prefers the café, not the salon"
    assert clients["L-03"]["notes"] == "Allergie: Nüsse\nbitte beachten"
    assert clients["L-06"]["phone"] == "+441614960123"
    (problem,) = rows_of(report_csv(report), "rejected_copy")
    assert (problem["reason"], problem["where"], problem["source"]) == (
        "has 6 cells but the header has 5",
        "clients-latin1.csv line 8",
        "clients-latin1.csv",
    )


# ---- legacy-ids -----------------------------------------------------------------------


def test_legacy_ids_lists_which_old_id_became_which_record(salonbook: Imported, tmp_path: Path) -> None:
    listed = cli(salonbook.url, "legacy-ids", "--system", "salonbook", "--type", "clients", "--json")
    output = tmp_path / "ids.csv"
    written = cli(
        salonbook.url, "legacy-ids", "--system", "salonbook", "--type", "clients", "--output", output
    )
    none = cli(salonbook.url, "legacy-ids", "--system", "other", "--type", "clients", "--json")

    assert listed.returncode == 0, listed.stderr
    expected = {key: str(row["id"]) for key, row in salonbook.after_first["clients"].items()}
    rows = json.loads(listed.stdout)
    assert {row["legacy_id"]: row["record_id"] for row in rows} == expected
    assert {(row["system"], row["type"]) for row in rows} == {("salonbook", "clients")}
    assert len(rows) == 6
    assert written.returncode == 0, written.stderr
    assert written.stdout.strip() == f"wrote 6 old ids to {output}"
    with output.open(encoding="utf-8", newline="") as file:
        from_file = list(csv.DictReader(file))
    assert list(from_file[0]) == [
        "system",
        "type",
        "legacy_id",
        "record_id",
        "first_imported_at",
        "imported_at",
    ]
    assert {row["legacy_id"]: row["record_id"] for row in from_file} == expected
    assert none.returncode == 0 and json.loads(none.stdout) == []


# ---- bad input ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def empty_database(pg_admin_url: str) -> Iterator[str]:
    for url in other_database(pg_admin_url):
        prepare(url, UK_BRANCHES)
        yield url


def _edited(name: str, old: str, new: str) -> str:
    text = (DATA / name).read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


BAD_INPUT = {
    "a missing source": (
        [DATA / "localstorage-north.json", DATA / "no-such-file.json"],
        None,
        "cannot read",
        "no-such-file.json: No such file or directory (nothing was imported)",
    ),
    "an unknown key": (
        SALONBOOK,
        ("salonbook.yaml", "    updated_at: modified", "    updated: modified"),
        "records.appointments: unknown key 'updated'",
        "(known: fields, from, legacy_id, updated_at, updated_at_format)",
    ),
    "an unknown field": (
        SALONBOOK,
        ("salonbook.yaml", "      phone: tel", "      fone: tel"),
        "records.clients.fields: unknown key 'fone'",
        "(known: email, home_branch_id, name, notes, phone, tags)",
    ),
    "a table in none of the sources": (
        [DATA / "clients-latin1.csv"],
        ("latin1.yaml", "from: clients-latin1", "from: clients-latin9"),
        "no source holds a table the mapping reads ('clients-latin9')",
        "the sources' tables: 'clients-latin1' (nothing was imported)",
    ),
}


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_refused_with_a_clear_error_and_writes_nothing(
    case: str, workers: str, empty_database: str, tmp_path: Path
) -> None:
    sources, edit, *messages = BAD_INPUT[case]
    assert isinstance(sources, list)
    mapping = DATA / "salonbook.yaml"
    if edit is not None:
        name, old, new = edit
        mapping = tmp_path / name
        mapping.write_text(_edited(name, old, new), encoding="utf-8")

    done = cli(empty_database, "import", *sources, "--mapping", mapping, "--json", "--workers", workers)

    assert done.returncode == 1
    assert done.stdout == ""
    for message in messages:
        assert message in done.stderr
    assert done.stderr.startswith("branchsync-server: error: ")
    assert row_counts(empty_database) == (0, 0, 0)


@pytest.mark.parametrize("workers", ["0", "many", "65"])
def test_a_number_of_workers_that_is_no_number_of_processes_is_refused(
    workers: str, empty_database: str
) -> None:
    done = cli(
        empty_database, "import", *SALONBOOK, "--mapping", DATA / "salonbook.yaml", "--workers", workers
    )

    assert done.returncode == 2
    assert f"{workers!r} is not a number of processes from 1 to 64" in done.stderr
    assert row_counts(empty_database) == (0, 0, 0)


def test_an_import_without_a_mapping_says_how_to_name_one(empty_database: str) -> None:
    done = cli(empty_database, "import", *SALONBOOK)

    assert done.returncode == 1
    assert done.stderr.strip() == (
        "branchsync-server: error: name the mapping with --mapping FILE"
        " (or print a starting one with --infer)"
    )
    assert row_counts(empty_database) == (0, 0, 0)


# ---- --infer --------------------------------------------------------------------------


def test_infer_prints_a_mapping_that_names_the_tables_and_imports_them(
    empty_database: str, tmp_path: Path
) -> None:
    done = cli(empty_database, "import", *SALONBOOK, "--infer")

    assert done.returncode == 0, done.stderr
    inferred = yaml.safe_load(done.stdout)
    records = inferred["records"]
    assert sorted(records) == ["appointments", "clients"]
    assert sorted(records["clients"]["from"]) == ["clients", "salonbook:clients"]
    assert sorted(records["appointments"]["from"]) == ["appointments", "salonbook:appointments"]
    assert records["clients"]["legacy_id"] == "id"  # in every copy (South's `_key` is not)
    assert "branchsync-server: note: " in done.stderr
    mapping = tmp_path / "inferred.yaml"
    mapping.write_text(done.stdout, encoding="utf-8")
    rehearsed = import_json(empty_database, SALONBOOK, mapping, "--dry-run")
    assert counts(rehearsed)["clients"]["created"] == 6
    assert counts(rehearsed)["appointments"]["created"] == 8
    assert row_counts(empty_database) == (0, 0, 0)
