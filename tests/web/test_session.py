"""A session that ends under the page: sign in again over the workbench, nothing typed lost."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from tests.web._ide import EDITOR, editor_ready, two_users, type_at_end
from tests.web._server import WebServer
from tests.web.conftest import PageOpener


async def test_an_ended_session_asks_to_sign_in_and_keeps_typing(
    web_server: WebServer, open_page: PageOpener
) -> None:
    alice, _bob, workspace = await two_users(web_server, files={"notes.txt": "first\n"})
    page = await open_page(alice, f"/w/{workspace['id']}?open=notes.txt")
    await editor_ready(page, "notes.txt")

    # The token is revoked (signed out elsewhere) while the network is down; alice types.
    await page.context.set_offline(True)
    await expect(page.get_by_text("You are offline")).to_be_visible(timeout=30000)
    response = await web_server.http.post("/api/v1/auth/logout", headers=web_server.headers(alice))
    assert response.status_code == 204
    await type_at_end(page, "typed before signing in again")
    await page.context.set_offline(False)

    # Back online the server refuses the old token: the page asks her to sign in, on top
    # of the workbench, which keeps her text.
    form = page.get_by_test_id("login-form")
    await expect(form).to_be_visible(timeout=30000)
    await expect(form.get_by_role("alert")).to_contain_text("Sign in again")
    await expect(page.locator(EDITOR)).to_contain_text("typed before signing in again")
    await form.get_by_label("User name").fill("alice")
    await form.get_by_label("Password").fill("correct horse")
    await form.get_by_role("button", name="Sign in").click()
    await expect(form).to_be_hidden()

    disk = web_server.workspace_root / "demo" / "notes.txt"
    async with asyncio.timeout(30):
        while "typed before signing in again" not in disk.read_text():
            await asyncio.sleep(0.1)
    assert disk.read_text().count("typed before signing in again") == 1
    page.console_errors.clear()  # type: ignore[attr-defined]  # the refused token
