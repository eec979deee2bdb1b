"""Language intelligence in the browser: completion, diagnostics in the editor and the
problems panel, and a rename that changes a file nobody has open."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from tests.web._ide import EDITOR, editor_ready, two_users, type_at_end
from tests.web._server import WebServer
from tests.web.conftest import PageOpener


async def test_completion_diagnostics_and_rename(
    web_server: WebServer, open_page: PageOpener
) -> None:
    alice, _bob, workspace = await two_users(
        web_server,
        files={
            "util.py": "def total_count(items):\n    return len(items)\n",
            "main.py": "import os\n\nfrom util import total_count\n\nprint(total_count([1]))\n",
        },
    )
    page = await open_page(alice, f"/w/{workspace['id']}?open=main.py")
    await editor_ready(page, "main.py")

    # Completion after `os.` lists os.path, as an ARIA option.
    await type_at_end(page, "os.pa")
    option = page.get_by_role("option", name="path", exact=True)
    await expect(option.first).to_be_visible(timeout=30000)
    await page.keyboard.press("Escape")

    # An undefined name: a squiggle in the editor and an entry in the problems panel.
    await page.keyboard.press("Enter")
    await page.keyboard.type("undefined_thing + 1")
    await expect(page.locator(f"{EDITOR} .cm-lintRange-error").first).to_be_visible(timeout=30000)
    await page.keyboard.press("Control+Shift+M")
    problems = page.get_by_test_id("problems")
    await expect(problems).to_contain_text("undefined_thing", timeout=30000)
    await expect(page.get_by_test_id("status-bar")).to_contain_text("Python: ready")

    # Rename `total_count` in main.py with F2: util.py, not open anywhere, changes on disk.
    await page.locator(EDITOR).get_by_text("total_count").first.click()
    await page.keyboard.press("F2")
    dialog = page.get_by_role("dialog")
    await dialog.locator("input").fill("count_items")
    await page.keyboard.press("Enter")
    await expect(page.locator(EDITOR)).to_contain_text("from util import count_items")
    util = web_server.workspace_root / "demo" / "util.py"
    async with asyncio.timeout(15):
        while "def count_items(items)" not in util.read_text():
            await asyncio.sleep(0.05)

    # Go to definition (F12) opens util.py in a tab.
    await page.locator(EDITOR).get_by_text("count_items").first.click()
    await page.keyboard.press("F12")
    await editor_ready(page, "util.py")
