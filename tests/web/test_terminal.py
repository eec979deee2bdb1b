"""Shared terminals in the browser: one person opens a terminal, the others attach and see
its output, editors type into it, viewers only watch."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.web._ide import two_users
from tests.web._server import WebServer
from tests.web.conftest import PageOpener

TERMINAL = "[data-testid=terminal]"


async def show_terminal_panel(page: Page) -> None:
    """The bottom panel's Terminal tab, as a person opens it: Ctrl+` (View: Toggle terminal)."""
    await expect(page.locator(".title-bar")).to_be_visible(timeout=20000)
    panel_tab = page.get_by_role("tab", name="Terminal", exact=True)
    if not await panel_tab.is_visible():
        await page.keyboard.press("Control+Backquote")
    await panel_tab.click()
    await expect(page.locator(".terminal-view")).to_be_visible()


PROMPT = re.compile(r"[$#] ?")


async def type_in_terminal(page: Page, text: str) -> None:
    # As a person does: wait for the shell's prompt, then type.
    await expect(page.locator(TERMINAL)).to_contain_text(PROMPT, timeout=20000)
    await page.locator(TERMINAL).click()
    await page.keyboard.type(text)
    await page.keyboard.press("Enter")


async def test_two_editors_share_a_terminal(web_server: WebServer, open_page: PageOpener) -> None:
    alice, bob, workspace = await two_users(web_server)
    page_a = await open_page(alice, f"/w/{workspace['id']}")
    await show_terminal_panel(page_a)
    await page_a.get_by_test_id("terminal-new").click()
    await expect(page_a.locator(TERMINAL)).to_have_count(1)
    await expect(page_a.locator(".terminal-tab.active")).to_contain_text("alice")
    await type_in_terminal(page_a, "echo hello-$((6*7))")
    await expect(page_a.locator(TERMINAL)).to_contain_text("hello-42")

    # bob arrives later: showing the panel attaches him to the terminal, scrollback first.
    page_b = await open_page(bob, f"/w/{workspace['id']}")
    await show_terminal_panel(page_b)
    await expect(page_b.locator(TERMINAL)).to_contain_text("hello-42")
    await expect(page_b.locator(".terminal-tab")).to_have_count(1)
    await expect(page_b.locator(".terminal-tab.active")).to_contain_text("alice")
    await expect(page_b.locator(".terminal-state.running")).to_have_count(1)

    await type_in_terminal(page_b, "echo from-bob")
    await expect(page_a.locator(TERMINAL)).to_contain_text("from-bob")
    await expect(page_b.locator(TERMINAL)).to_contain_text("from-bob")

    # A second terminal of bob's: a second tab; switching back shows the first one's screen.
    await page_b.get_by_test_id("terminal-new").click()
    await expect(page_b.locator(".terminal-tab")).to_have_count(2)
    await expect(page_b.locator(TERMINAL)).to_have_count(1)
    await type_in_terminal(page_b, "echo second-$((2*3))")
    await expect(page_b.locator(TERMINAL)).to_contain_text("second-6")
    await expect(page_b.locator(TERMINAL)).not_to_contain_text("hello-42")
    await page_b.locator(".terminal-tab", has_text="alice").click()
    await expect(page_b.locator(TERMINAL)).to_contain_text("hello-42")

    # alice refreshes her list and sees bob's terminal; its program ending marks it exited.
    await page_a.get_by_role("button", name="Refresh terminals").click()
    await expect(page_a.locator(".terminal-tab")).to_have_count(2)
    await page_a.locator(".terminal-tab", has_text="bob").click()
    await expect(page_a.locator(TERMINAL)).to_contain_text("second-6")
    await type_in_terminal(page_a, "exit")
    await expect(page_a.locator(".terminal-state.exited")).to_have_count(1)
    await expect(page_a.locator(TERMINAL)).to_contain_text("process exited with code 0")

    # Closing alice's own terminal removes it for both.
    await page_a.locator(".terminal-tab", has_text="alice").click()
    await page_a.get_by_role("button", name="Close terminal 1: ").click()
    await expect(page_a.locator(".terminal-tab")).to_have_count(1)
    await expect(page_b.locator(".terminal-tab")).to_have_count(1)


async def test_a_viewer_watches_but_cannot_type(
    web_server: WebServer, open_page: PageOpener
) -> None:
    alice, carol, workspace = await two_users(web_server, second_role="viewer")
    page_a = await open_page(alice, f"/w/{workspace['id']}")
    await show_terminal_panel(page_a)
    await page_a.get_by_test_id("terminal-new").click()
    await type_in_terminal(page_a, "echo hello-$((6*7))")
    await expect(page_a.locator(TERMINAL)).to_contain_text("hello-42")

    page_c = await open_page(carol, f"/w/{workspace['id']}")
    await show_terminal_panel(page_c)
    await expect(page_c.locator(TERMINAL)).to_contain_text("hello-42")
    await expect(page_c.get_by_test_id("terminal-new")).to_be_hidden()
    await expect(page_c.get_by_text("read-only: viewers can watch")).to_be_visible()
    await expect(page_c.get_by_role("button", name="Close terminal 1: ")).to_have_count(0)

    # What the viewer types never reaches the shell; what alice types reaches the viewer.
    await type_in_terminal(page_c, "echo typed-by-carol")
    await type_in_terminal(page_a, "echo done-$((2+3))")
    await expect(page_c.locator(TERMINAL)).to_contain_text("done-5")
    await expect(page_a.locator(TERMINAL)).to_contain_text("done-5")
    assert "typed-by-carol" not in (await page_a.locator(TERMINAL).inner_text())
    assert "typed-by-carol" not in (await page_c.locator(TERMINAL).inner_text())


async def test_the_terminal_comes_back_after_a_reconnect(
    web_server: WebServer, open_page: PageOpener
) -> None:
    alice, _bob, workspace = await two_users(web_server)
    page = await open_page(alice, f"/w/{workspace['id']}")
    await expect(page.locator(".title-bar")).to_be_visible(timeout=20000)
    # Ctrl+Shift+` (Terminal: Create new terminal) opens the panel with a new terminal.
    await page.keyboard.press("Control+Shift+Backquote")
    await expect(page.locator(".terminal-tab")).to_have_count(1)
    await type_in_terminal(page, "echo before-$((1+2))")
    await expect(page.locator(TERMINAL)).to_contain_text("before-3")

    # The connection drops and returns: the terminal is attached again (its scrollback
    # replaces the screen) and typing works as before.
    await page.context.set_offline(True)
    await expect(page.locator(".offline-banner")).to_be_visible()
    await page.context.set_offline(False)
    await expect(page.locator(".offline-banner")).to_be_hidden(timeout=20000)
    await type_in_terminal(page, "echo after-$((2+3))")
    await expect(page.locator(TERMINAL)).to_contain_text("after-5")
    await expect(page.locator(TERMINAL)).to_contain_text("before-3")
    page.console_errors.clear()  # type: ignore[attr-defined]
