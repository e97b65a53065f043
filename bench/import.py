"""Import: 100,000 clients and 300,000 appointments from the old system's JSON, end to end.

Generates (seeded, deterministic) what the old "salonbook" system wrote to a synced cloud
folder: one JSON file ``{"app", "version", "exportedAt", "clients": [...], "appointments": [...]}``
with its camelCase fields (``fullName``, ``tel`` as UK national numbers that are valid per
``phonenumbers``, ``mail``, ``memo``, ``labels`` "vip, colour", ``updatedAt`` epoch ms or ISO;
appointments with ``clientId``, ``salon``, naive local ``start``, ``mins``, ``treatment``,
``state``, ``modified``), where ``--overlap`` (5 %) of the clients and of the appointments
appear twice with a different time and one changed field, so the merge has work to do;
and a mapping YAML for it (the format: ``docs/migration.md``).

Then, on a fresh scratch database migrated and given the four branches by the real CLI
(``branchsync-server migrate``, ``branch create NAME --timezone Europe/London``):

1. ``branchsync-server import FILE --mapping MAP --json`` runs as a subprocess, timed from
   its start to its exit; its ``--json`` summary must say every generated record was created
   (the run fails loudly otherwise). Meanwhile a live ``branchsync-server serve`` on the same
   database takes a single-mutation push (``POST /api/v1/sync/push``) from one enrolled
   device every ``--push-interval`` (100 ms); its latency is compared with an idle baseline
   taken just before, in the same run.
2. The same command again (nothing changed at the source): timed; it must write nothing.
3. The floor, in the same run: the rows the import produced (typed fields, clocks, bases,
   deleted, seq, updated_by_*), read back with ``SELECT`` and loaded by PostgreSQL ``COPY``
   (asyncpg ``copy_records_to_table``) into the clients and appointments tables of a second
   fresh migrated database; only the COPY is timed (median of ``--floor-rounds``).

``--profile`` instead runs ``server.ops.importing.run.run_import`` in this process (as the CLI
does), once for its phase timings and once under cProfile, and prints the top entries by
cumulative and by own time: where to make the import faster. Use it with smaller
``--clients/--appointments``.

Usage::

    python bench/import.py [--clients 100000] [--appointments 300000] [--overlap 0.05]
        [--seed 14] [--push-interval 0.1] [--idle-seconds 10] [--floor-rounds 3]
        [--profile [--top 25]] [--keep-data DIR] [--admin-url URL]

``--admin-url`` is a superuser URL of the PostgreSQL to use (default: the local server at
127.0.0.1:5432, else an embedded one); the scratch databases are dropped after, also on
failure. Goal: the whole import in under 60 s; connected branches stay responsive.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from _engine_setup import ROOT, client_fields, machine_line, new_row, run_bench

from protocol.hlc import HybridLogicalClock
from tests.support import postgres
from tests.support.devices import Device, enrolled_device
from tests.support.server_process import cli_env, server_processes

GOAL_S = 60.0
SYSTEM = "salonbook"
BRANCHES = ("North", "South", "East", "West")
ZONE = "Europe/London"
TYPED = {
    "clients": ("name", "phone", "email", "notes", "home_branch_id", "tags"),
    "appointments": ("client_id", "branch_id", "starts_at", "duration_min", "service", "status", "notes"),
}
"""The typed columns the import fills (``protocol.collections``), before the bookkeeping ones."""
BOOKKEEPING = (
    "id", "clocks", "bases", "deleted", "seq", "updated_by_device", "updated_by_branch", "updated_at",
)  # fmt: skip

_FIRST = (
    "Amelia", "Oliver", "Isla", "George", "Harriet", "Priya", "Noah", "Ava", "Leo", "Freya", "Arthur",
    "Mia", "Theo", "Evie", "Oscar", "Zara", "Jack", "Ruby", "Harry", "Grace", "Alfie", "Lily", "Charlie",
    "Sophie", "Henry", "Ella", "Muhammad", "Aisha", "Jacob", "Poppy", "Thomas", "Chloe", "William", "Maya",
    "Finley", "Erin", "Joshua", "Niamh", "Samuel", "Rosie", "Daniel", "Hannah", "Ethan", "Layla", "Max",
    "Imogen", "Lucas", "Esme", "Rhys", "Anya",
)  # fmt: skip
_LAST = (
    "Hart", "Bennett", "Shah", "O'Neill", "Murphy", "Cole", "Smith", "Jones", "Taylor", "Brown",
    "Williams", "Wilson", "Johnson", "Davies", "Patel", "Robinson", "Wright", "Thompson", "Evans",
    "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "Khan", "Lewis", "Hughes",
    "Edwards", "Turner", "Hill", "Moore", "Cooper", "Ward", "Morris", "King", "Watson", "Harris", "Baker",
    "Young", "Allen", "Mitchell", "Kelly", "Begum", "Campbell", "Stewart", "Price", "Ahmed", "Reid",
    "McDonald", "Scott", "Bell", "Kaur", "Singh", "Chen", "Nguyen", "Kowalski", "Ferreira",
)  # fmt: skip
_NOTES = (
    "", "", "", "Prefers Saturday mornings", "Sensitive scalp", "Patch test before colour",
    "Allergic to nuts (snacks at reception)", "Brings her own towel", "Likes a quiet chair",
    "Pays by bank transfer", "Wheelchair user: ground-floor chair", "Student discount",
)  # fmt: skip
_LABELS = ("vip", "colour", "student", "curly", "regular", "walk-in", "loyalty")
_TREATMENTS = (
    "Cut & Finish", "Full Colour", "Fringe Trim", "Blow Dry", "Beard & Cut", "Balayage", "Gloss",
    "Highlights", "Wash & Set", "Consultation",
)  # fmt: skip
_STATES = ("Booked", "Done", "Cancelled", "No show")
_STATE_WEIGHTS = (50, 40, 7, 3)
_MINS = (15, 30, 45, 60, 90, 120)

MAPPING_YAML = f"""\
# The mapping bench/import.py generates its data for (the format: docs/migration.md).
system: {SYSTEM}
country: GB               # tel is written as UK national numbers
records:
  clients:
    from: clients
    legacy_id: id
    updated_at: updatedAt
    fields:
      name: fullName
      phone: {{from: tel}}
      email: {{from: mail}}
      notes: {{from: memo}}
      tags: {{from: labels, split: ","}}
      home_branch_id: {{from: salon, link: branches}}
  appointments:
    from: appointments
    legacy_id: id
    updated_at: modified
    fields:                 # naive start times are in the branch's zone ({ZONE})
      client_id: {{from: clientId, link: clients}}
      branch_id: {{from: salon, link: branches}}
      starts_at: {{from: start}}
      duration_min: {{from: mins}}
      service: {{from: treatment}}
      status: {{from: state, values: {{Booked: booked, Done: done, Cancelled: cancelled, "No show": no_show}},
               default: booked}}
"""


# ---- the data ---------------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    """What was written, and what the import must therefore report."""

    path: Path
    mapping: Path
    clients: int
    appointments: int
    client_copies: int
    """Clients that appear twice (each with one field changed: a disagreement)."""
    appointment_copies: int
    bytes: int
    seconds: float

    @property
    def records(self) -> int:
        return self.clients + self.appointments + self.client_copies + self.appointment_copies


_EPOCH_START = datetime(2024, 1, 1, tzinfo=UTC)
_SPAN_S = int((datetime(2026, 11, 30, tzinfo=UTC) - _EPOCH_START).total_seconds())


def _stamp(rng: random.Random, at: datetime | None = None) -> Any:
    """A source timestamp as salonbook wrote them: epoch ms (mostly) or ISO 8601 UTC."""
    moment = at if at is not None else _EPOCH_START + timedelta(seconds=rng.randrange(_SPAN_S))
    if rng.random() < 0.7:
        return int(moment.timestamp() * 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _moment(stamp: Any) -> datetime:
    if isinstance(stamp, int):
        return datetime.fromtimestamp(stamp / 1000, UTC)
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _phone(rng: random.Random, i: int) -> str:
    """A unique, valid London number (020 3xxx xxxx), written one of the ways people write it."""
    digits = f"{i:07d}"
    local = f"3{digits[:3]} {digits[3:]}"
    shape = rng.random()
    if shape < 0.6:
        return f"020 {local}"
    if shape < 0.8:
        return f"(020) {local}"
    if shape < 0.95:
        return f"+44 20 {local}"
    return f"0203{digits}"


def _changed_phone(i: int) -> str:
    """The number a newer copy holds (0161 2xx xxxx: valid, and unique too)."""
    digits = f"{i:06d}"
    return f"0161 2{digits[:2]} {digits[2:]}"


def _client(rng: random.Random, i: int) -> dict[str, Any]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    mail = f"{first}.{last}{i + 1}@example.co.uk".lower().replace("'", "")
    labels = rng.sample(_LABELS, rng.choice((0, 0, 1, 1, 2, 3)))
    return {
        "id": f"c-{i + 1}",
        "fullName": f"{first} {last}",
        "tel": _phone(rng, i) if rng.random() < 0.9 else "",
        "mail": mail if rng.random() < 0.85 else None,
        "memo": rng.choice(_NOTES),
        "labels": ", ".join(labels),
        "salon": rng.choice(BRANCHES),
        "updatedAt": _stamp(rng),
    }


def _appointment(rng: random.Random, j: int, clients: int) -> dict[str, Any]:
    day = datetime(2025, 1, 1) + timedelta(days=rng.randrange(910))
    start = day.replace(hour=rng.randrange(8, 19), minute=rng.choice((0, 15, 30, 45)))  # never in a DST gap
    mins: Any = rng.choice(_MINS)
    return {
        "id": f"a-{j + 1}",
        "clientId": f"c-{rng.randrange(clients) + 1}",
        "salon": rng.choice(BRANCHES),
        "start": start.strftime("%Y-%m-%dT%H:%M:%S"),
        "mins": str(mins) if rng.random() < 0.05 else mins,  # some exports hold numbers as text
        "treatment": rng.choice(_TREATMENTS),
        "state": rng.choices(_STATES, _STATE_WEIGHTS)[0],
        "modified": _stamp(rng),
    }


def _later_copy(rng: random.Random, record: dict[str, Any], key: str) -> dict[str, Any]:
    """Another copy of ``record``, newer or older, so the merge must choose by time."""
    copy = dict(record)
    shift = timedelta(hours=rng.randrange(1, 24 * 30)) * rng.choice((1, -1))
    copy[key] = _stamp(rng, _moment(record[key]) + shift)
    return copy


def generate(folder: Path, clients: int, appointments: int, overlap: float, seed: int) -> Generated:
    """The JSON file and its mapping, in ``folder``; the same arguments give the same bytes."""
    started = time.perf_counter()
    rng = random.Random(seed)
    client_rows = [_client(rng, i) for i in range(clients)]
    appointment_rows = [_appointment(rng, j, clients) for j in range(appointments)]
    with_tel = [i for i, c in enumerate(client_rows) if c["tel"]]
    copied_clients = sorted(rng.sample(with_tel, min(len(with_tel), int(clients * overlap))))
    copies: list[dict[str, Any]] = []
    for i in copied_clients:
        copy = _later_copy(rng, client_rows[i], "updatedAt")
        copy["tel"] = _changed_phone(i)  # one field differs: a disagreement per copy
        copies.append(copy)
    appointment_copies: list[dict[str, Any]] = []
    for j in sorted(rng.sample(range(appointments), int(appointments * overlap))):
        copy = _later_copy(rng, appointment_rows[j], "modified")
        copy["state"] = rng.choice([s for s in _STATES if s != copy["state"]])
        appointment_copies.append(copy)
    rng.shuffle(copies)
    rng.shuffle(appointment_copies)
    document = {
        "app": "salonbook",
        "version": 3,
        "exportedAt": "2026-11-30T18:00:00Z",
        "clients": client_rows + copies,
        "appointments": appointment_rows + appointment_copies,
    }
    path = folder / "bookings.json"
    with path.open("w", encoding="utf-8") as out:
        json.dump(document, out, ensure_ascii=False, indent=1)
    mapping = folder / "mapping.yaml"
    mapping.write_text(MAPPING_YAML, encoding="utf-8")
    _check_phones(client_rows, copies, rng)
    return Generated(
        path, mapping, clients, appointments, len(copies), len(appointment_copies),
        path.stat().st_size, time.perf_counter() - started,
    )  # fmt: skip


def _check_phones(
    clients: Sequence[dict[str, Any]], copies: Sequence[dict[str, Any]], rng: random.Random
) -> None:
    """A sample of the numbers is valid per phonenumbers (the import's ``kept_as_written``
    must be 0 too, which checks all of them)."""
    import phonenumbers

    numbers = [c["tel"] for c in clients if c["tel"]] + [c["tel"] for c in copies]
    for number in rng.sample(numbers, min(2000, len(numbers))):
        if not phonenumbers.is_valid_number(phonenumbers.parse(number, "GB")):
            raise AssertionError(f"generated an invalid phone number: {number!r}")


# ---- databases and the CLI --------------------------------------------------------


def _cli() -> list[str]:
    """The installed ``branchsync-server`` next to this Python, else ``python -m server``."""
    script = Path(sys.executable).parent / "branchsync-server"
    return [str(script)] if script.exists() else [sys.executable, "-m", "server"]


def _run_cli(database_url: str, *args: str) -> str:
    done = subprocess.run(
        [*_cli(), *args], env=cli_env(database_url), cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        command = " ".join(args)
        raise RuntimeError(f"branchsync-server {command} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


async def _scratch(admin: str, made: list[str], *, with_branches: bool = True) -> str:
    """A fresh database migrated (and given the branches) by the CLI, as IT would prepare it."""
    database_url = await postgres.create_database(admin)
    made.append(database_url)
    await asyncio.to_thread(_run_cli, database_url, "migrate")
    if with_branches:
        for name in BRANCHES:
            await asyncio.to_thread(_run_cli, database_url, "branch", "create", name, "--timezone", ZONE)
    return database_url


@dataclass(frozen=True)
class Run:
    """One ``import`` subprocess: its wall time and its ``--json`` summary."""

    seconds: float
    summary: dict[str, Any]
    began: float
    """Wall-clock (``time.time()``) start of the subprocess."""


async def _import(database_url: str, data: Generated, options: Sequence[str] = ()) -> Run:
    command = [*_cli(), "import", str(data.path), "--mapping", str(data.mapping), "--json", *options]
    began = time.time()
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command,
        env=cli_env(database_url),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await process.communicate()
    finally:
        if process.returncode is None:  # cancelled or failed here: never leave it running
            process.kill()
            await process.wait()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        said = err.decode(errors="replace").strip()[-3000:]
        raise RuntimeError(f"`{' '.join(command)}` exited {process.returncode}: {said}")
    return Run(seconds, json.loads(out), began)


def _expect(summary: dict[str, Any], checks: dict[str, tuple[Any, Any]], what: str) -> None:
    wrong = [f"{name}: expected {want!r}, got {got!r}" for name, (got, want) in checks.items() if got != want]
    if wrong:
        raise AssertionError(f"{what}: " + "; ".join(wrong) + f"\nsummary: {json.dumps(summary)[:3000]}")


def check_first_run(summary: dict[str, Any], data: Generated) -> None:
    """Every generated record created, nothing refused, every copy merged: or fail loudly."""
    clients, appointments = summary["by_type"]["clients"], summary["by_type"]["appointments"]
    _expect(
        summary,
        {
            "records_read": (summary["records_read"], data.records),
            "clients.created": (clients["created"], data.clients),
            "clients.merged": (clients["merged"], data.client_copies),
            "appointments.created": (appointments["created"], data.appointments),
            "appointments.merged": (appointments["merged"], data.appointment_copies),
            "rejected": (summary["rejected"], 0),
            "copies_rejected": (summary["copies_rejected"], 0),
            "kept_as_written": (summary["kept_as_written"], 0),
            "unresolved_links": (summary["unresolved_links"], 0),
            "disagreements": (summary["disagreements"], data.client_copies + data.appointment_copies),
            "written": (summary["written"], data.clients + data.appointments),
        },
        "the import did not create what was generated",
    )


def check_rerun(summary: dict[str, Any], data: Generated) -> None:
    clients, appointments = summary["by_type"]["clients"], summary["by_type"]["appointments"]
    _expect(
        summary,
        {
            "clients.unchanged": (clients["unchanged"], data.clients),
            "appointments.unchanged": (appointments["unchanged"], data.appointments),
            "written": (summary["written"], 0),
        },
        "the re-run of an unchanged source was not a no-op",
    )


async def _imported_rows(database_url: str) -> Rows:
    """The import's rows (no device wrote them) of each table, with their columns."""
    conn = await asyncpg.connect(database_url)
    try:
        found = {}
        for table, typed in TYPED.items():
            columns = [*typed, *BOOKKEEPING]
            rows = await conn.fetch(
                f"SELECT {', '.join(columns)} FROM {table} WHERE updated_by_device IS NULL ORDER BY seq"
            )
            found[table] = (columns, rows)
        legacy = await conn.fetch("SELECT * FROM legacy_ids")
        found["legacy_ids"] = (list(legacy[0].keys()) if legacy else [], legacy)
        return found
    finally:
        await conn.close()


async def _writing_window(database_url: str) -> tuple[float, float]:
    """When the import's first and last write transactions began (``updated_at`` is the
    transaction's ``now()``), as wall-clock seconds: its writing phase."""
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT min(t) AS first, max(t) AS last FROM ("
            " SELECT updated_at AS t FROM clients WHERE updated_by_device IS NULL"
            " UNION ALL SELECT updated_at FROM appointments WHERE updated_by_device IS NULL) AS w"
        )
        assert row is not None and row["first"] is not None
        return row["first"].timestamp(), row["last"].timestamp()
    finally:
        await conn.close()


async def _changes(database_url: str) -> tuple[int, int]:
    """(rows written by the import, the highest change number): a re-run must move neither."""
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM clients WHERE updated_by_device IS NULL)"
            " + (SELECT count(*) FROM appointments WHERE updated_by_device IS NULL) AS rows,"
            " greatest((SELECT max(seq) FROM clients), (SELECT max(seq) FROM appointments)) AS seq"
        )
        assert row is not None
        return int(row["rows"]), int(row["seq"] or 0)
    finally:
        await conn.close()


@dataclass(frozen=True)
class Floor:
    seconds: list[float]
    """COPY of clients + appointments, per round."""
    legacy_seconds: list[float]
    """COPY of legacy_ids (the import keeps them too), per round."""


Rows = dict[str, tuple[list[str], list[asyncpg.Record]]]
"""Per table: its columns and the import's rows of it."""


async def _floor(database_url: str, rows: Rows, rounds: int) -> Floor:
    """The same rows by COPY into an empty migrated database, ``rounds`` times (TRUNCATE between)."""
    conn = await asyncpg.connect(database_url)
    try:
        typed, legacy = [], []
        for _ in range(rounds):
            await conn.execute("TRUNCATE clients, appointments, legacy_ids")
            await conn.execute("CHECKPOINT")  # each round starts with the same dirty-page state
            started = time.perf_counter()
            for table in TYPED:
                columns, records = rows[table]
                await conn.copy_records_to_table(table, records=records, columns=columns)
            typed.append(time.perf_counter() - started)
            columns, records = rows["legacy_ids"]
            started = time.perf_counter()
            await conn.copy_records_to_table("legacy_ids", records=records, columns=columns)
            legacy.append(time.perf_counter() - started)
        return Floor(typed, legacy)
    finally:
        await conn.close()


# ---- a branch pushing meanwhile ---------------------------------------------------


@dataclass
class Pushes:
    """Single-mutation pushes sent on a fixed cadence: their seconds and failures."""

    latencies: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    """The wall-clock time (``time.time()``) each answered push was sent."""
    errors: list[str] = field(default_factory=list)

    def between(self, start: float, end: float) -> Pushes:
        """The pushes sent in the window [start, end] (wall-clock seconds)."""
        inside = [(t, s) for t, s in zip(self.sent_at, self.latencies, strict=True) if start <= t <= end]
        return Pushes([s for _, s in inside], [t for t, _ in inside])

    def ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")

    def line(self) -> str:
        errors = f", {len(self.errors)} failed ({', '.join(sorted(set(self.errors)))})" if self.errors else ""
        return (
            f"{len(self.latencies)} pushes: p50 {self.ms(0.5):6.1f} ms  p99 {self.ms(0.99):6.1f} ms"
            f"  max {max(self.latencies, default=float('nan')) * 1000:6.1f} ms{errors}"
        )


class Pusher:
    """One enrolled device pushing one new client every ``interval`` seconds."""

    def __init__(self, http: httpx.AsyncClient, device: Device, interval: float) -> None:
        self._http = http
        self._headers = {**device.headers, "content-type": "application/json"}
        self._clock = HybridLogicalClock(device.id)
        self._interval = interval
        self._sent = 0

    async def push_once(self, into: Pushes) -> None:
        body = json.dumps({"mutations": [new_row(self._clock, client_fields(10_000_000 + self._sent))]})
        self._sent += 1
        sent_at = time.time()
        started = time.perf_counter()
        try:
            answer = await self._http.post("/api/v1/sync/push", content=body, headers=self._headers)
        except httpx.HTTPError as exc:
            into.errors.append(type(exc).__name__)
            return
        if answer.status_code == 200 and answer.json()["results"][0]["status"] == "applied":
            into.latencies.append(time.perf_counter() - started)
            into.sent_at.append(sent_at)
        else:
            into.errors.append(f"HTTP {answer.status_code}")

    async def run(self, until: asyncio.Event | float) -> Pushes:
        """Push on the cadence until the event is set or for that many seconds; a push that
        takes longer than the interval delays the next one (no burst to catch up)."""
        pushes = Pushes()
        deadline = None if isinstance(until, asyncio.Event) else time.perf_counter() + until
        next_at = time.perf_counter()
        while True:
            if deadline is not None and time.perf_counter() >= deadline:
                return pushes
            if isinstance(until, asyncio.Event) and until.is_set():
                return pushes
            await self.push_once(pushes)
            next_at = max(next_at + self._interval, time.perf_counter())
            await asyncio.sleep(next_at - time.perf_counter())  # sleep-ok: the device's push cadence


async def _while_importing(
    pusher: Pusher, database_url: str, data: Generated, options: Sequence[str]
) -> tuple[Run, Pushes]:
    done = asyncio.Event()
    pushing = asyncio.create_task(pusher.run(done))
    try:
        run = await _import(database_url, data, options)
    finally:
        done.set()
        pushes = await pushing
    return run, pushes


# ---- the benchmark ----------------------------------------------------------------


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


async def bench(args: argparse.Namespace, admin: str, folder: Path) -> int:
    print(
        f"import: {args.clients:,} clients and {args.appointments:,} appointments from one JSON file"
        f" ({args.overlap:.0%} of each appear twice), push every {args.push_interval * 1000:.0f} ms"
    )
    print(machine_line())
    print(f"load average (1/5/15 min) at the start: {_load()}", flush=True)
    options = ("--workers", str(args.workers)) if args.workers else ()
    data = await asyncio.to_thread(generate, folder, args.clients, args.appointments, args.overlap, args.seed)
    print(
        f"generated {data.records:,} source records ({data.client_copies:,} + {data.appointment_copies:,}"
        f" second copies), {data.bytes / 1e6:.0f} MB, in {data.seconds:.1f} s: {data.path}",
        flush=True,
    )
    made: list[str] = []
    try:
        database_url = await _scratch(admin, made)
        with server_processes(database_url) as (server,):
            device = await enrolled_device(server.url, database_url, BRANCHES[0], "Front desk")
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
                pusher = Pusher(http, device, args.push_interval)
                await pusher.run(1.0)  # warm up: connection, caches
                idle = await pusher.run(args.idle_seconds)
                first, during = await _while_importing(pusher, database_url, data, options)
                check_first_run(first.summary, data)
                after = await pusher.run(min(3.0, args.idle_seconds))
        window = await _writing_window(database_url)
        before = await _changes(database_url)
        again = await _import(database_url, data, options)
        check_rerun(again.summary, data)
        if (moved := await _changes(database_url)) != before:
            raise AssertionError(f"the re-run wrote: (rows, max seq) {before} -> {moved}")
        rows = await _imported_rows(database_url)
        if len(rows["clients"][1]) != data.clients or len(rows["appointments"][1]) != data.appointments:
            raise AssertionError(
                f"the database holds {len(rows['clients'][1])} imported clients and"
                f" {len(rows['appointments'][1])} appointments"
            )
        floor_url = await _scratch(admin, made, with_branches=False)
        floor = await _floor(floor_url, rows, args.floor_rounds)
    finally:
        for url in made:
            await postgres.drop_database(admin, url)
    copy_s = statistics.median(floor.seconds)
    legacy_s = statistics.median(floor.legacy_seconds)
    records = data.clients + data.appointments
    print(f"load average at the end: {_load()}")
    print(
        f"  import (CLI, end to end):  {first.seconds:7.1f} s  ({records / first.seconds:7,.0f} records/s,"
        f" {first.summary['workers']} worker process(es))"
    )
    reading = window[0] - first.began
    writing = window[1] - window[0]
    print(
        f"    start, read, map, merge, plan: {reading:6.1f} s;  writing (first to last batch):"
        f" {writing:6.1f} s ({records / max(writing, 1e-9):,.0f} records/s);"
        f"  last batch to exit: {first.began + first.seconds - window[1]:5.1f} s"
    )
    print(f"  re-run, nothing changed:   {again.seconds:7.1f} s  (wrote nothing)")
    print(
        f"  floor, COPY of the same clients + appointments rows: {copy_s:5.1f} s"
        f"  (rounds: {', '.join(f'{s:.1f}' for s in floor.seconds)});"
        f" + legacy_ids COPY {legacy_s:.1f} s"
    )
    print(
        f"  import / floor: {first.seconds / copy_s:.1f}x"
        f" ({first.seconds / (copy_s + legacy_s):.1f}x of COPY incl. legacy_ids)"
    )
    print(f"  pushes, idle before:       {idle.line()}")
    print(f"  pushes, during the import: {during.line()}")
    print(f"    of which while writing:  {during.between(*window).line()}")
    print(f"  pushes, just after:        {after.line()}")
    met = first.seconds < GOAL_S
    print(f"  goal < {GOAL_S:.0f} s: {'met' if met else 'NOT met'}")
    return 0 if met else 1


# ---- profiling ---------------------------------------------------------------------


class _PhaseClock:
    """A ``run_import`` progress that notes when each phase starts and last advances."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float, float]] = []

    def start(self, phase: str, total: int) -> None:
        now = time.perf_counter()
        self.marks.append((phase, now, now))

    def advance(self, done: int) -> None:
        phase, began, _ = self.marks[-1]
        self.marks[-1] = (phase, began, time.perf_counter())

    def report(self, started: float, ended: float) -> list[tuple[str, float]]:
        """Seconds per phase; the gaps before reading (branches, earlier old ids) and between
        mapping and writing (merge, duplicates, plan) are phases of their own."""
        out: list[tuple[str, float]] = []
        cursor = started
        for number, (phase, began, last) in enumerate(self.marks, start=1):
            if began - cursor > 0.001:
                out.append(("load state" if not out else "merge + plan", began - cursor))
            out.append((phase, (ended if number == len(self.marks) else last) - began))
            cursor = last
        return out


async def _in_process(
    database_url: str, data: Generated, profiler: cProfile.Profile | None
) -> tuple[float, list[tuple[str, float]]]:
    from protocol.transfer.mapping import load_mapping
    from server.api.runtime import new_server_clock
    from server.ops.importing.run import ImportRequest, run_import
    from server.ops.importing.writing import WRITERS, NotCounted
    from server.store.engine import create_engine
    from server.sync.write_path import Writer

    engine = create_engine(database_url, pool_size=WRITERS)  # as the CLI makes it
    try:
        # one process: cProfile sees only its own (the CLI would use one worker per core)
        request = ImportRequest(sources=[data.path], mapping=load_mapping(data.mapping), workers=1)
        writer = Writer(engine, new_server_clock(), 300.0, NotCounted())
        phases = _PhaseClock()
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        try:
            await run_import(engine, writer, request, phases)
        finally:
            if profiler is not None:
                profiler.disable()
        ended = time.perf_counter()
        return ended - started, phases.report(started, ended)
    finally:
        await engine.dispose()


def _where(key: tuple[str, int, str]) -> str:
    path, line, name = key
    if path == "~":
        return name
    shown = Path(path)
    try:
        text = str(shown.relative_to(ROOT))
    except ValueError:
        parts = shown.parts
        text = "/".join(parts[parts.index("site-packages") + 1 :]) if "site-packages" in parts else shown.name
    return f"{text}:{line}({name})"


def _print_stats(stats: pstats.Stats, order: int, top: int, title: str) -> None:
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    ranked = sorted(entries.items(), key=lambda item: item[1][order], reverse=True)[:top]
    print(title)
    print(f"  {'calls':>10} {'own s':>7} {'cum s':>7} {'cum µs/call':>12}  function")
    for key, (_, calls, own, cumulative, _) in ranked:
        print(f"  {calls:>10,} {own:7.2f} {cumulative:7.2f} {cumulative / calls * 1e6:12.1f}  {_where(key)}")


async def profile(args: argparse.Namespace, admin: str, folder: Path) -> int:
    print(f"import profile: {args.clients:,} clients, {args.appointments:,} appointments, in this process")
    print(machine_line())
    print(f"load average at the start: {_load()}", flush=True)
    data = await asyncio.to_thread(generate, folder, args.clients, args.appointments, args.overlap, args.seed)
    made: list[str] = []
    profiler = cProfile.Profile()
    try:
        plain_s, phases = await _in_process(await _scratch(admin, made), data, None)
        profiled_s, _ = await _in_process(await _scratch(admin, made), data, profiler)
    finally:
        for url in made:
            await postgres.drop_database(admin, url)
    print(f"run_import: {plain_s:.1f} s ({(data.clients + data.appointments) / plain_s:,.0f} records/s)")
    for phase, seconds in phases:
        print(f"  {phase:<13} {seconds:6.1f} s  {seconds / plain_s:4.0%}")
    print(f"under cProfile: {profiled_s:.1f} s (the figures below include its overhead)")
    stats = pstats.Stats(profiler)
    _print_stats(stats, 3, args.top, f"top {args.top} by cumulative time:")
    _print_stats(stats, 2, args.top, f"top {args.top} by own time:")
    if args.profile_out is not None:
        stats.dump_stats(args.profile_out)
        print(f"stats written to {args.profile_out} (python -m pstats)")
    return 0


async def run(args: argparse.Namespace, admin: str) -> int:
    with tempfile.TemporaryDirectory(prefix="bs-import-") as scratch:
        folder = Path(args.keep_data) if args.keep_data else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        return await (profile if args.profile else bench)(args, admin, folder)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=100_000, help="clients (default 100,000)")
    parser.add_argument("--appointments", type=int, default=300_000, help="appointments (default 300,000)")
    parser.add_argument(
        "--overlap", type=float, default=0.05, help="share of each that appears twice (default 0.05)"
    )
    parser.add_argument("--seed", type=int, default=14, help="random seed of the data (default 14)")
    parser.add_argument(
        "--push-interval", type=float, default=0.1, help="seconds between a branch's pushes (default 0.1)"
    )
    parser.add_argument(
        "--idle-seconds", type=float, default=10.0, help="seconds of pushes before the import (default 10)"
    )
    parser.add_argument("--floor-rounds", type=int, default=3, help="COPY rounds, median (default 3)")
    parser.add_argument(
        "--workers", type=int, help="the CLI's --workers (default: its own, one per core but one)"
    )
    parser.add_argument("--profile", action="store_true", help="profile run_import in-process instead")
    parser.add_argument("--top", type=int, default=25, help="--profile: entries per table (default 25)")
    parser.add_argument("--profile-out", type=Path, help="--profile: also write the pstats file here")
    parser.add_argument("--keep-data", metavar="DIR", help="write the JSON and mapping here and keep them")


def main() -> int:
    return run_bench(__doc__ or "", _arguments, run)


if __name__ == "__main__":
    raise SystemExit(main())
