"""Mixed versions: a branch on the previous release and one on this tree sync through either server.

Servers are upgraded first and PCs over weeks (docs/deploy.md), so for a while every
pairing runs: an old PC with a new server, and a new PC with a server one release older.
Each test runs the server of one release (``branchsync-server serve``, migrating its own
fresh database) and two PCs, North on the previous release and South on this tree, each
``branchsync run`` behind its own link relay. Both write a client before they are enrolled,
create, edit and delete clients and appointments, edit rows the other made, and work
offline for a while; then both caches must equal the server row for row, with nothing
rejected, nothing pending and no conflict (no two writes raced for one field).

Found by it: this server refused the previous release's writes from before its
enrolment (stamped with the installation's local node, not the device id), so they
never reached the server; now such a stamp is taken as the pushing device's.

The previous release is built from git (``PREVIOUS_RELEASE`` in tests/support/releases.py).
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from desktop.demo.link_proxy import LinkProxy
from protocol.collections import COLLECTIONS
from protocol.version import PROTOCOL_HEADER, PROTOCOL_VERSION
from server.ops.backup import create_backup, restore_backup
from tests.support.desktop_cli import CommandLinePC
from tests.support.desktop_engine import wait_until
from tests.support.releases import CURRENT, Release
from tests.support.server_process import ServerProcess, run_cli, server_processes

Rows = dict[str, dict[str, dict[str, Any]]]
"""Collection -> row id -> fields."""

pytestmark = pytest.mark.timeout(240)

_CONVERGED_WITHIN = 60.0


@pytest.fixture(params=["previous", "current"], ids=["old server", "new server"])
def server_release(request: pytest.FixtureRequest, previous_release: Release) -> Release:
    return previous_release if request.param == "previous" else CURRENT


def test_an_old_and_a_new_branch_sync_through_the_server(
    server_release: Release, previous_release: Release, database_url: str, tmp_path: Path
) -> None:
    with server_processes(database_url, release=server_release) as (server,), ExitStack() as stack:
        assert _schema_head(database_url) == _newest_migration(server_release), "not that release's server"

        def branch_pc(branch: str, release: Release) -> tuple[CommandLinePC, LinkProxy]:
            return _branch_pc(stack, server, database_url, server_release, branch, release, tmp_path)

        north, north_link = branch_pc("North", previous_release)
        south, south_link = branch_pc("South", CURRENT)
        pcs = [north, south]
        wait_until(lambda: all(pc.status()["online"] for pc in pcs), 30, "both engines online")

        north.write("clients", [{"name": "Ada North", "phone": "0161 496 0000"}, {"name": "Bo North"}])
        south.write("clients", [{"name": "Cy South", "email": "cy@example.com"}, {"name": "Di South"}])
        rows = _converged(server, pcs)
        ada, bo, cy, di = (_named(rows, name) for name in ("Ada North", "Bo North", "Cy South", "Di South"))

        # each branch books, edits and deletes the other's rows as well as its own
        north.write("appointments", [_booking(cy, "2026-12-10T09:00:00+00:00", "Cut")])
        south.write("appointments", [_booking(ada, "2026-12-11T14:30:00+01:00", "Colour")])
        north.write("clients", [{"id": di, "email": "di@example.com", "tags": "vip;new"}])
        south.write("clients", [{"id": ada, "notes": "prefers mornings"}])
        north.delete("clients", bo)
        rows = _converged(server, pcs)
        (north_booking,) = (i for i, r in rows["appointments"].items() if r["client_id"] == cy)
        (south_booking,) = (i for i, r in rows["appointments"].items() if r["client_id"] == ada)

        # North offline: its edit queues while South edits the same client and drops a booking
        _offline(north, north_link, [{"id": cy, "notes": "written offline at North"}])
        south.write("clients", [{"id": cy, "phone": "0161 496 0001"}])
        south.delete("appointments", north_booking)
        north_link.restore()
        _converged(server, pcs)

        # South offline: the same the other way round
        _offline(south, south_link, [{"id": ada, "name": "Ada N. Smith"}])
        north.write("appointments", [{"id": south_booking, "status": "done", "duration_min": "45"}])
        south_link.restore()
        rows = _converged(server, pcs)

        clients, appointments = rows["clients"], rows["appointments"]
        early = {_named(rows, f"Eve, before {branch} enrolled") for branch in ("North", "South")}
        assert set(clients) == {ada, cy, di, *early} and set(appointments) == {south_booking}
        assert (clients[ada]["name"], clients[ada]["phone"]) == ("Ada N. Smith", "0161 496 0000")
        assert clients[ada]["notes"] == "prefers mornings"
        assert (clients[cy]["notes"], clients[cy]["phone"]) == ("written offline at North", "0161 496 0001")
        assert (clients[di]["email"], clients[di]["tags"]) == ("di@example.com", ["vip", "new"])
        booked = appointments[south_booking]
        assert (booked["status"], booked["duration_min"], booked["service"]) == ("done", 45, "Colour")
        for pc in pcs:
            pc.stop()  # cleanly: exit 0


def test_after_a_restore_an_old_branch_gives_back_another_branch_s_writes(
    previous_release: Release, database_url: str, tmp_path: Path
) -> None:
    """An epoch push-back of the previous release relays what other branches wrote with their
    stamps; this server takes them as the relaying device's (it used to refuse them)."""
    with ExitStack() as stack:
        first = stack.enter_context(ExitStack())
        (server,) = first.enter_context(server_processes(database_url))
        north, north_link = _branch_pc(
            stack, server, database_url, CURRENT, "North", previous_release, tmp_path
        )
        south, south_link = _branch_pc(stack, server, database_url, CURRENT, "South", CURRENT, tmp_path)
        pcs = [north, south]
        north.write("clients", [{"name": "Ada North"}])
        ada = _named(_converged(server, pcs), "Ada North")
        backup = asyncio.run(create_backup(database_url, tmp_path / "backups", keep=1))
        south.write("clients", [{"name": "Grace South"}])
        south.write("clients", [{"id": ada, "phone": "0161 496 0002"}])
        written = _converged(server, pcs)
        for pc in pcs:
            pc.stop()
        first.close()
        asyncio.run(restore_backup(database_url, backup.path, force=True))  # Grace and the phone are lost

        (server,) = stack.enter_context(server_processes(database_url))
        for link in (north_link, south_link):
            link.retarget("127.0.0.1", int(server.url.rsplit(":", 1)[1]))
        north.start()  # North alone: what comes back, it gives back
        wait_until(lambda: _server_rows(server.url, north.token) == written, 30, "South's writes back")
        assert north.status()["rejected"] == 0
        south.start()
        assert _converged(server, pcs) == written


def _branch_pc(
    stack: ExitStack,
    server: ServerProcess,
    database_url: str,
    server_release: Release,
    branch: str,
    release: Release,
    tmp_path: Path,
) -> tuple[CommandLinePC, LinkProxy]:
    """A PC of ``release`` in ``branch``, behind its own link to ``server``, enrolled and running."""
    link = stack.enter_context(LinkProxy("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
    pc = CommandLinePC(release, tmp_path / branch.lower())
    stack.callback(pc.stop)
    # written before IT enrols the PC: the previous release stamps it with its local node
    pc.write("clients", [{"name": f"Eve, before {branch} enrolled"}])
    pc.enroll(link.url, _enrolment_code(database_url, server_release, branch), f"{branch} PC")
    pc.start()
    return pc, link


def _converged(server: ServerProcess, pcs: list[CommandLinePC]) -> Rows:
    """Wait until every PC is online with nothing pending and its cache equals the server's
    live rows; AssertionError if any change was refused or one field's writes raced."""
    seen: list[tuple[Rows, list[tuple[dict[str, Any], Rows]]]] = []

    def agreed() -> bool:
        with ThreadPoolExecutor(3 * len(pcs)) as pool:  # each command is a process: all at once
            asked = [
                (pool.submit(pc.status), {c: pool.submit(pc.rows, c) for c in COLLECTIONS}) for pc in pcs
            ]
            local = [
                (status.result(), {c: got.result() for c, got in rows.items()}) for status, rows in asked
            ]
        on_server = _server_rows(server.url, pcs[0].token)
        seen.append((on_server, local))
        for status, _ in local:
            assert (status["rejected"], status["conflicts"]) == (0, 0), status
        return all(
            status["online"] and status["pending"] == 0 and rows == on_server for status, rows in local
        )

    try:
        wait_until(agreed, _CONVERGED_WITHIN, "every cache equal to the server, nothing pending")
    except AssertionError as exc:
        logs = "\n".join(f"--- {pc.release.name} engine:\n{pc.engine_log()}" for pc in pcs)
        raise AssertionError(f"{exc}\nlast seen (server, [(status, cache)]): {seen[-1:]}\n{logs}") from None
    return seen[-1][0]


def _server_rows(server_url: str, token: str) -> Rows:
    """The server's live rows, as a new device bootstraps them (pull from 0)."""
    headers = {PROTOCOL_HEADER: str(PROTOCOL_VERSION), "Authorization": f"Bearer {token}"}
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    since, more = 0, True
    with httpx.Client(base_url=server_url, headers=headers, timeout=10) as http:
        while more:
            answer = http.get("/api/v1/sync/pull", params={"since": since, "limit": 1000})
            answer.raise_for_status()
            page = answer.json()
            for change in page["changes"]:
                latest[(change["collection"], change["row_id"])] = change
            since, more = page["cursor"], page["has_more"]
    rows: Rows = {name: {} for name in COLLECTIONS}
    for (collection, row_id), change in latest.items():
        if not change["deleted"]:
            names = COLLECTIONS[collection].field_names
            rows[collection][row_id] = {name: change["fields"].get(name) for name in names}
    return rows


def _offline(pc: CommandLinePC, link: LinkProxy, edits: list[dict[str, Any]]) -> None:
    """Cut ``pc``'s link, wait until its engine knows, and make ``edits`` there (they queue)."""
    link.cut()
    wait_until(lambda: not pc.status()["online"], 30, f"{pc.release.name} offline")
    pc.write("clients", edits)
    assert pc.status()["pending"] == len(edits)


def _booking(client_id: str, starts_at: str, service: str) -> dict[str, Any]:
    return {"client_id": client_id, "starts_at": starts_at, "duration_min": "30", "service": service}


def _named(rows: Rows, name: str) -> str:
    (row_id,) = (row_id for row_id, fields in rows["clients"].items() if fields["name"] == name)
    return row_id


def _enrolment_code(database_url: str, release: Release, branch: str) -> str:
    """A code for ``branch`` from the admin command line of ``release`` (the server's)."""
    for args in (("branch", "create", branch), ("enroll-code", "--branch", branch, "--json")):
        ran = run_cli(*args, database_url=database_url, release=release)
        assert ran.returncode == 0, ran.stderr
    (issued,) = json.loads(ran.stdout)
    code: str = issued["code"]
    return code


def _schema_head(database_url: str) -> str:
    async def read() -> str:
        conn = await asyncpg.connect(database_url)
        try:
            head: str = await conn.fetchval("SELECT version_num FROM alembic_version")
            return head
        finally:
            await conn.close()

    return asyncio.run(read())


def _newest_migration(release: Release) -> str:
    """The revision ``release``'s server migrates to: its newest migration's number."""
    root = release.path if release.path is not None else Path(__file__).resolve().parents[3]
    newest = max((root / "server" / "store" / "migrations" / "versions").glob("[0-9]*.py"))
    return newest.name.split("_", 1)[0]
