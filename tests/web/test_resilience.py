"""Nothing typed is lost or doubled: not while offline, not across a server restart."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from tests.web._ide import EDITOR, editor_ready, editor_text, two_users, type_at_end
from tests.web._server import WebServer
from tests.web.conftest import PageOpener


async def test_typing_offline_arrives_once(web_server: WebServer, open_page: PageOpener) -> None:
    alice, bob, workspace = await two_users(web_server, files={"notes.txt": "start\n"})
    link = f"/w/{workspace['id']}?open=notes.txt"
    page_a = await open_page(alice, link)
    page_b = await open_page(bob, link)
    await editor_ready(page_a, "notes.txt")
    await editor_ready(page_b, "notes.txt")

    await page_a.context.set_offline(True)
    await expect(page_a.get_by_text("You are offline")).to_be_visible(timeout=30000)
    await type_at_end(page_a, "typed while offline")
    await expect(page_a.locator(EDITOR)).to_contain_text("typed while offline")
    await page_a.context.set_offline(False)

    await expect(page_b.locator(EDITOR)).to_contain_text("typed while offline", timeout=30000)
    await expect(page_a.get_by_text("You are offline")).to_be_hidden(timeout=30000)
    # Exactly once, on both sides, and on disk.
    await asyncio.sleep(0)  # let nothing else arrive before reading both
    assert (await editor_text(page_b)).count("typed while offline") == 1
    assert (await editor_text(page_a)) == (await editor_text(page_b))
    disk = web_server.workspace_root / "demo" / "notes.txt"
    async with asyncio.timeout(15):
        while "typed while offline" not in disk.read_text():
            await asyncio.sleep(0.05)
    assert disk.read_text().count("typed while offline") == 1
    # Losing the network is the point here: the browser logged the failed reconnects.
    page_a.console_errors.clear()  # type: ignore[attr-defined]


async def test_a_server_restart_keeps_what_was_typed(
    web_server: WebServer, open_page: PageOpener
) -> None:
    alice, _bob, workspace = await two_users(web_server, files={"main.py": "x = 1\n"})
    page = await open_page(alice, f"/w/{workspace['id']}?open=main.py")
    await editor_ready(page, "main.py")
    await expect(page.locator(EDITOR)).to_contain_text("x = 1")  # typed after it, not before
    await type_at_end(page, "y = 2\n")
    await expect(page.locator(EDITOR)).to_contain_text("y = 2")

    await web_server.stop()
    await expect(page.get_by_text("You are offline")).to_be_visible(timeout=30000)
    await page.keyboard.type("z = 3\n")
    await web_server.start()

    await expect(page.get_by_text("You are offline")).to_be_hidden(timeout=30000)
    disk = web_server.workspace_root / "demo" / "main.py"
    async with asyncio.timeout(30):
        while "z = 3" not in disk.read_text():
            await asyncio.sleep(0.1)
    assert disk.read_text() == "x = 1\ny = 2\nz = 3\n"
    assert await editor_text(page) == "x = 1\ny = 2\nz = 3\n"

    # A second person opening the file now sees it once.
    page_2 = await open_page(alice, f"/w/{workspace['id']}?open=main.py")
    await editor_ready(page_2, "main.py")
    await expect(page_2.locator(EDITOR)).to_contain_text("z = 3")
    assert await editor_text(page_2) == "x = 1\ny = 2\nz = 3\n"
    page.console_errors.clear()  # type: ignore[attr-defined]  # the server was down
