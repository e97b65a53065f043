"""The ``/admin`` dashboard in a real headless Chromium (Debian's, driven by Playwright):
log in, watch a branch go offline and come back, see a rejected write appear, live.
The screenshot in ``docs/dashboard.png`` is refreshed when BRANCHSYNC_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from tests.integration.server.ops.test_admin_web import PASSWORD, make_admin
from tests.support.devices import enrolled_device
from tests.support.live_server import LiveServer
from tests.support.sync_client import mutation, push, stamper
from tests.support.sync_socket import open_socket

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[4] / "docs" / "dashboard.png"
LIVE = 15_000
"""ms to wait for the page to show a change (it polls every 2 s)."""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


def branch_row(page: Page, name: str) -> Locator:
    return page.locator(f'tr.branch[data-branch="{name}"]')


async def test_dashboard_shows_the_fleet_live(
    browser: Browser, ops_server: LiveServer, ops_http: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    await make_admin(database_url)
    north = await enrolled_device(ops_server.url, database_url, "North", name="North front desk")
    south = await enrolled_device(ops_server.url, database_url, "South", name="South reception")
    await push(ops_http, south, [mutation(stamper(south).now(), {"name": f"Client {i}"}) for i in range(5)])

    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(f"{ops_server.url}/admin")
    await page.fill("#login-name", "alice")
    await page.fill("#login-password", "wrong password!")
    await page.click("#login-form button[type=submit]")
    await expect(page.locator("#login-error")).to_have_text("wrong name or password")
    await page.fill("#login-password", PASSWORD)
    await page.click("#login-form button[type=submit]")

    await expect(branch_row(page, "North")).to_have_attribute("data-status", "offline", timeout=LIVE)
    await expect(page.locator("#user")).to_have_text("alice")

    south_socket = await open_socket(ops_server.ws_url, south)
    north_socket = await open_socket(ops_server.ws_url, north)
    try:
        await north_socket.send(
            json.dumps({"type": "status", "cursor": 2, "pending": 4, "app_version": "1.0.3"})
        )
        await expect(branch_row(page, "North")).to_have_attribute("data-status", "online", timeout=LIVE)
        await north_socket.close()
        await expect(branch_row(page, "North")).to_have_attribute("data-status", "offline", timeout=LIVE)
        north_socket = await open_socket(ops_server.ws_url, north)  # it comes back
        await expect(branch_row(page, "North")).to_have_attribute("data-status", "online", timeout=LIVE)

        rejected = mutation(stamper(north).now(), {"name": "Dora", "email": "dora@"})
        accepted = mutation(stamper(north).now(), {"name": "Dora", "email": "dora@example.com"})
        answer = await push(ops_http, north, [rejected, accepted])
        assert [r["status"] for r in answer["results"]] == ["rejected", "applied"]
        await expect(page.locator("#tile-propagation")).to_contain_text("ms", timeout=LIVE)
        first = page.locator("#rejections tr.rejection").first
        await expect(first).to_contain_text("invalid_email", timeout=LIVE)
        await expect(first).to_contain_text("North front desk")
        await expect(page.locator(f'tr.device[data-device="{north.id}"]')).to_contain_text("1.0.3")
        await expect(page.locator("#no-rejections")).to_be_hidden()

        shot = tmp_path / "dashboard.png"
        await page.screenshot(path=str(shot), full_page=True)
    finally:
        await north_socket.close()
        await south_socket.close()
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
    if os.environ.get("BRANCHSYNC_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, SCREENSHOT)
