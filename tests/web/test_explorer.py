"""The explorer shows the workspace's files live (changes by collaborators over REST and by
programs on disk appear without a reload) and creates, renames and deletes files on disk;
viewers get no editing controls."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from playwright.async_api import Locator, Page, expect

from tests.web._server import WebServer
from tests.web.conftest import PageOpener


def folder_of(web_server: WebServer, workspace: dict[str, Any]) -> Path:
    path = Path(workspace["path"])
    return path if path.is_absolute() else web_server.workspace_root / workspace["name"]


def row(page: Page, path: str) -> Locator:
    return page.get_by_test_id("explorer").locator(f'[role=treeitem][data-path="{path}"]')


async def answer_prompt(page: Page, title: str, text: str) -> None:
    dialog = page.get_by_role("dialog", name=title)
    await expect(dialog).to_be_visible()
    box = dialog.get_by_role("textbox")
    await box.fill(text)
    await box.press("Enter")
    await expect(dialog).to_be_hidden()


async def until(condition: Any, timeout: float = 10) -> None:
    """Waits for a condition on the server's side (the disk), checking often."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def test_explorer_is_live_and_edits_files(
    web_server: WebServer, open_page: PageOpener
) -> None:
    alice = await web_server.create_user("alice")
    bob = await web_server.create_user("bob")
    workspace = await web_server.create_workspace(alice, "demo")
    await web_server.add_member(alice, workspace["id"], "bob", "editor")
    folder = folder_of(web_server, workspace)
    page = await open_page(alice, f"/w/{workspace['id']}")
    explorer = page.get_by_test_id("explorer")
    await expect(explorer.get_by_text("This workspace is empty")).to_be_visible()

    # A collaborator's REST write shows up without a reload.
    response = await web_server.http.put(
        f"/api/v1/workspaces/{workspace['id']}/files/hello.py",
        content=b"print('hi')\n",
        headers=web_server.headers(bob),
    )
    assert response.status_code == 201, response.text
    await expect(row(page, "hello.py")).to_be_visible()
    await expect(row(page, "hello.py")).to_have_attribute("role", "treeitem")

    # So does a file another program writes on disk.
    (folder / "disk.txt").write_text("from disk\n")
    await expect(row(page, "disk.txt")).to_be_visible()

    # A folder, then a file inside it (the new folder is selected), through the UI.
    await explorer.get_by_role("button", name="New Folder").click()
    await answer_prompt(page, "New Folder", "docs")
    await until(lambda: (folder / "docs").is_dir())
    await expect(row(page, "docs")).to_be_visible()
    await explorer.get_by_role("button", name="New File").click()
    await answer_prompt(page, "New File", "notes.md")
    await until(lambda: (folder / "docs" / "notes.md").is_file())
    await expect(row(page, "docs/notes.md")).to_be_visible()
    await expect(row(page, "docs")).to_have_attribute("aria-expanded", "true")
    # The new file is open in the editor.
    await expect(page.get_by_test_id("editor")).to_be_visible()

    # Keyboard: ← collapses the folder, → expands it again.
    await row(page, "docs").click()
    await expect(row(page, "docs")).to_have_attribute("aria-expanded", "false")
    await row(page, "docs").press("ArrowRight")
    await expect(row(page, "docs/notes.md")).to_be_visible()
    await row(page, "docs").press("ArrowLeft")
    await expect(row(page, "docs/notes.md")).to_be_hidden()

    # ↓ moves to the next row (files after folders); F2 renames (a move, with the full path).
    await row(page, "docs").press("ArrowDown")
    await expect(row(page, "disk.txt")).to_be_focused()
    await expect(row(page, "disk.txt")).to_have_attribute("aria-selected", "true")
    await page.keyboard.press("F2")
    await answer_prompt(page, "Rename or Move", "docs/moved.txt")
    await until(
        lambda: (folder / "docs" / "moved.txt").is_file() and not (folder / "disk.txt").exists()
    )
    await expect(row(page, "disk.txt")).to_have_count(0)
    await expect(row(page, "docs/moved.txt")).to_be_visible()

    # Files dropped from the desktop onto a folder row are uploaded into it.
    files = await page.evaluate_handle(
        """() => {
            const data = new DataTransfer();
            data.items.add(new File(["uploaded\\n"], "up.txt", {type: "text/plain"}));
            return data;
        }"""
    )
    await row(page, "docs").dispatch_event("dragover", {"dataTransfer": files})
    await row(page, "docs").dispatch_event("drop", {"dataTransfer": files})
    await until(lambda: (folder / "docs" / "up.txt").is_file())
    assert (folder / "docs" / "up.txt").read_text() == "uploaded\n"
    await expect(row(page, "docs/up.txt")).to_be_visible()

    # Delete from the row's menu, after a confirmation.
    await row(page, "hello.py").click(button="right")
    await page.get_by_test_id("explorer-menu").get_by_role("menuitem", name="Delete").click()
    confirm = page.get_by_role("dialog", name="Delete File")
    await expect(confirm).to_contain_text("hello.py")
    await confirm.get_by_role("button", name="OK").click()
    await until(lambda: not (folder / "hello.py").exists())
    await expect(row(page, "hello.py")).to_have_count(0)

    # Delete with the Delete key; cancelling keeps the file.
    await row(page, "docs/moved.txt").focus()
    await page.keyboard.press("Delete")
    await (
        page.get_by_role("dialog", name="Delete File").get_by_role("button", name="Cancel").click()
    )
    await expect(row(page, "docs/moved.txt")).to_be_visible()
    assert (folder / "docs" / "moved.txt").is_file()


async def test_git_marks_and_presence_free_view_for_viewers(
    web_server: WebServer, open_page: PageOpener
) -> None:
    alice = await web_server.create_user("alice")
    carol = await web_server.create_user("carol")
    workspace = await web_server.create_workspace(alice, "demo")
    await web_server.add_member(alice, workspace["id"], "carol", "viewer")
    folder = folder_of(web_server, workspace)
    (folder / "src").mkdir()
    (folder / "src" / "app.py").write_text("x = 1\n")
    init = await web_server.http.post(
        f"/api/v1/workspaces/{workspace['id']}/git/init", headers=web_server.headers(alice)
    )
    assert init.status_code == 201, init.text

    page = await open_page(carol, f"/w/{workspace['id']}")
    explorer = page.get_by_test_id("explorer")
    await expect(row(page, "src")).to_be_visible()
    # Untracked: the folder gets a dot, the file a U once it is shown.
    await expect(row(page, "src").locator(".git-dot")).to_be_visible()
    await row(page, "src").press("Enter")
    await expect(row(page, "src/app.py").locator(".git-letter")).to_have_text("U")
    # A viewer has no editing controls.
    await expect(explorer.get_by_role("button", name="New File")).to_be_hidden()
    await expect(explorer.get_by_role("button", name="New Folder")).to_be_hidden()
    await row(page, "src/app.py").click(button="right")
    menu = page.get_by_test_id("explorer-menu")
    await expect(menu.get_by_role("menuitem", name="Delete")).to_have_count(0)
    await page.keyboard.press("Escape")
    await expect(menu).to_have_count(0)
    await expect(row(page, "src/app.py")).to_be_focused()
    # Download, from the keyboard: Shift+F10 opens the row's menu.
    await page.keyboard.press("Shift+F10")
    async with page.expect_download() as download_info:
        await menu.get_by_role("menuitem", name="Download").click()
    download = await download_info.value
    assert download.suggested_filename == "app.py"
    assert Path(await download.path()).read_text() == "x = 1\n"
