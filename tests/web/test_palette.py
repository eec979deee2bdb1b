"""The command palette (Ctrl+Shift+P) and quick open (Ctrl+P)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from playwright.async_api import Page, expect


async def until(condition: Callable[[], bool], timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        await asyncio.sleep(0.05)


async def open_palette(page: Page, keys: str):
    await expect(page.get_by_test_id("explorer")).to_be_visible()
    await page.keyboard.press(keys)
    palette = page.get_by_test_id("command-palette")
    await expect(palette).to_be_visible()
    await expect(palette.get_by_role("combobox")).to_be_focused()
    return palette


async def test_run_a_command_and_see_its_result(web_server, open_page) -> None:
    token = await web_server.create_user("alice")
    workspace = await web_server.create_workspace(token, "demo")
    page = await open_page(token, f"/w/{workspace['id']}")

    palette = await open_palette(page, "Control+Shift+P")
    await page.keyboard.type("members")
    option = palette.get_by_role("option", name="List members")
    await expect(option).to_be_visible()
    await expect(palette.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    await expect(palette.get_by_role("option").first).to_contain_text("List members")
    await page.keyboard.press("Enter")
    await expect(palette).to_be_hidden()
    toast = page.get_by_test_id("toast-info").filter(has_text="List members")
    await expect(toast).to_contain_text('"username":"alice"')

    # The command is remembered at the top of the next palette.
    palette = await open_palette(page, "Control+Shift+P")
    await expect(palette.get_by_role("option").first).to_contain_text("List members")
    await expect(palette.get_by_role("option").first).to_contain_text("recently used")
    await page.keyboard.press("Escape")
    await expect(palette).to_be_hidden()


async def test_quick_open_finds_a_file(web_server, open_page) -> None:
    token = await web_server.create_user("alice")
    workspace = await web_server.create_workspace(token, "demo")
    folder = web_server.workspace_root / "demo" / "src" / "deep"
    folder.mkdir(parents=True)
    (folder / "quickopen_target.py").write_text("QUICK_ANSWER = 42\n")
    (folder / "other.py").write_text("OTHER = 1\n")
    page = await open_page(token, f"/w/{workspace['id']}")

    palette = await open_palette(page, "Control+P")
    await page.keyboard.type("qkopen")
    option = palette.get_by_role("option").first
    await expect(option).to_contain_text("quickopen_target.py")
    await expect(option).to_contain_text("src/deep")
    await expect(palette.get_by_role("option")).to_have_count(1)
    await page.keyboard.press("Enter")
    await expect(palette).to_be_hidden()
    await expect(page.get_by_test_id("editor")).to_contain_text("QUICK_ANSWER = 42")


async def test_a_command_with_arguments_asks_for_them(web_server, open_page) -> None:
    token = await web_server.create_user("alice")
    workspace = await web_server.create_workspace(token, "demo")
    page = await open_page(token, f"/w/{workspace['id']}")

    palette = await open_palette(page, "Control+Shift+P")
    await page.keyboard.type("files.createFolder")
    await expect(palette.get_by_role("option", name="New folder")).to_be_visible()
    await page.keyboard.press("Enter")
    form = page.get_by_test_id("command-args")
    await expect(form).to_be_visible()
    path = form.get_by_label("Path")
    await expect(path).to_be_focused()

    # A required field left empty is refused in the form, without a round trip.
    await path.fill("")
    await form.get_by_role("button", name="Run").click()
    await expect(form.get_by_role("alert")).to_have_text("Path is required.")

    await path.fill("made/by/palette")
    await page.keyboard.press("Enter")
    await expect(form).to_be_hidden()
    target = web_server.workspace_root / "demo" / "made" / "by" / "palette"
    await until(target.is_dir)
    await expect(page.get_by_test_id("toast-info").filter(has_text="New folder")).to_contain_text(
        "made/by/palette"
    )


async def test_run_file_from_the_palette_shows_its_terminal(web_server, open_page) -> None:
    token = await web_server.create_user("alice")
    workspace = await web_server.create_workspace(token, "demo")
    (web_server.workspace_root / "demo" / "hello.py").write_text("print('hello from', 6 * 7)\n")
    page = await open_page(token, f"/w/{workspace['id']}?open=hello.py")
    await expect(page.locator(".tab.active .tab-name")).to_have_text("hello.py")

    palette = await open_palette(page, "Control+Shift+P")
    await page.keyboard.type("run file")
    await expect(palette.get_by_role("option").first).to_contain_text("Run file")
    await page.keyboard.press("Enter")
    # Its argument form comes prefilled with the open file.
    form = page.get_by_role("dialog")
    await expect(form.locator("input[name=path]")).to_have_value("hello.py")
    await page.keyboard.press("Enter")
    # The terminal panel comes forward with the program's output.
    await expect(page.get_by_test_id("terminal")).to_contain_text("hello from 42", timeout=30000)


async def test_find_code_by_meaning_with_the_index_in_the_status_bar(web_server, open_page) -> None:
    token = await web_server.create_user("alice")
    workspace = await web_server.create_workspace(token, "demo")
    (web_server.workspace_root / "demo" / "uploads.py").write_text(
        "def upload_with_retries(client, path, attempts=5):\n"
        '    """Send a file; when the service fails, wait and try again."""\n'
        "    return client.put(path)\n"
    )
    (web_server.workspace_root / "demo" / "reports.py").write_text(
        "def render_invoice_table(rows):\n    return '<table></table>'\n"
    )
    page = await open_page(token, f"/w/{workspace['id']}")
    # The index builds in the background on joining, and says so where people look.
    await expect(page.get_by_test_id("index-status")).to_contain_text("Indexed", timeout=30000)

    palette = await open_palette(page, "Control+Shift+P")
    await page.keyboard.type("find code by meaning")
    await expect(palette.get_by_role("option").first).to_contain_text("Find code by meaning")
    await page.keyboard.press("Enter")
    form = page.get_by_test_id("command-args")
    await form.get_by_label("Query").fill("where do we retry failed uploads")
    await page.keyboard.press("Enter")
    toast = page.get_by_test_id("toast-info").filter(has_text="Find code by meaning")
    await expect(toast).to_contain_text('"path":"uploads.py"')
