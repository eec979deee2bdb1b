"""Search across files in the browser: Ctrl+Shift+F, results grouped by file with the match
highlighted, a click opens the file there, and a bad regular expression says what is wrong."""

from __future__ import annotations

from playwright.async_api import expect

from tests.web._ide import EDITOR, editor_ready
from tests.web._server import WebServer
from tests.web.conftest import PageOpener


async def test_search_finds_groups_and_opens(web_server: WebServer, open_page: PageOpener) -> None:
    token = await web_server.create_user("alice")
    workspace = await web_server.create_workspace(token, "demo")
    folder = web_server.workspace_root / "demo"
    (folder / "src").mkdir()
    (folder / "src" / "app.py").write_text(
        "def greet(name):\n    return 'hello ' + name\n\n\nprint(greet('world'))\n"
    )
    (folder / "notes.md").write_text("# Notes\n\nSay hello to greet people.\nGreeting done.\n")
    page = await open_page(token, f"/w/{workspace['id']}")
    await expect(page.locator(".title-bar")).to_be_visible(timeout=20000)

    await page.keyboard.press("Control+Shift+F")
    query = page.get_by_role("textbox", name="Search", exact=True)
    await expect(query).to_be_focused()
    await query.fill("greet")
    view = page.locator(".search-view")
    await expect(view.get_by_role("status")).to_have_text("4 results in 2 files")
    files = view.locator(".search-file")
    await expect(files).to_have_count(2)
    await expect(files.nth(0)).to_contain_text("notes.md")
    await expect(files.nth(0).locator(".badge")).to_have_text("2")
    await expect(files.nth(1)).to_contain_text("app.py")
    await expect(files.nth(1).locator(".badge")).to_have_text("2")
    await expect(view.locator("mark").first).to_have_text("greet")

    # Match case: "Greeting" no longer matches; a file folds and unfolds.
    await view.get_by_role("button", name="Match case").click()
    await expect(view.get_by_role("button", name="Match case")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(view.get_by_role("status")).to_have_text("3 results in 2 files")
    await files.nth(0).click()
    await expect(files.nth(0)).to_have_attribute("aria-expanded", "false")
    await expect(view.locator(".search-match:visible")).to_have_count(2)
    await files.nth(0).click()
    await expect(view.locator(".search-match:visible")).to_have_count(3)

    # A click on a match opens its file at that line.
    await view.locator(".search-match", has_text="print(greet('world'))").click()
    await editor_ready(page, "app.py")
    await expect(page.locator(EDITOR)).to_contain_text("return 'hello ' + name")
    await expect(page.locator(".cm-activeLine")).to_contain_text("print(greet('world'))")

    # Enter on a match row (keyboard only) opens it too.
    await query.focus()
    await query.fill("Say hello")
    await query.press("Enter")
    await expect(view.get_by_role("status")).to_have_text("1 result in 1 file")
    await query.press("ArrowDown")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    await editor_ready(page, "notes.md")

    # Files to include narrows the search.
    await query.fill("greet")
    await view.get_by_role("textbox", name="Files to include").fill("*.py")
    await expect(view.get_by_role("status")).to_have_text("2 results in 1 file")


async def test_an_invalid_regex_shows_the_servers_message(
    web_server: WebServer, open_page: PageOpener
) -> None:
    token = await web_server.create_user("alice")
    workspace = await web_server.create_workspace(token, "demo")
    (web_server.workspace_root / "demo" / "a.txt").write_text("one (two) three\n")
    page = await open_page(token, f"/w/{workspace['id']}")
    await expect(page.locator(".title-bar")).to_be_visible(timeout=20000)
    await page.keyboard.press("Control+Shift+F")
    view = page.locator(".search-view")
    await view.get_by_role("button", name="Use regular expression").click()
    query = page.get_by_role("textbox", name="Search", exact=True)
    await query.fill("(")
    error = view.get_by_role("alert")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("regular expression")
    await expect(view.locator(".search-match")).to_have_count(0)
    # The browser logs the 422 response itself; that line is expected here.
    errors = page.console_errors  # type: ignore[attr-defined]
    errors[:] = [e for e in errors if not ("422" in e and "search/text" in e)]

    # Fixing the expression clears the message and shows the match.
    await query.fill(r"\(two\)")
    await expect(error).to_be_hidden()
    await expect(view.get_by_role("status")).to_have_text("1 result in 1 file")
    await expect(view.locator("mark")).to_have_text("(two)")
