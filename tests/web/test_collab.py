"""Two people editing together in the browser: shared text, named cursors, follow mode,
the disk following the document, and a viewer who cannot type."""

from __future__ import annotations

import asyncio
from pathlib import Path

from playwright.async_api import expect

from tests.web._ide import EDITOR, editor_ready, editor_text, two_users, type_at_end
from tests.web._server import WebServer
from tests.web.conftest import PageOpener

README_PICTURE = Path(__file__).resolve().parents[2] / "docs" / "two-people-editing.png"


async def wait_for(condition, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def test_two_people_edit_one_file_and_see_each_other(
    web_server: WebServer, open_page: PageOpener
) -> None:
    alice, bob, workspace = await two_users(
        web_server, files={"src/app.py": "def greet(name):\n    return name\n"}
    )
    link = f"/w/{workspace['id']}?open=src/app.py"
    page_a = await open_page(alice, link)
    page_b = await open_page(bob, link)
    await editor_ready(page_a, "app.py")
    await editor_ready(page_b, "app.py")
    # The login token left the address bar; the deep link stayed.
    assert "token=" not in page_a.url and "open=src" in page_a.url

    await type_at_end(page_a, "\nprint(greet('alice'))")
    await expect(page_b.locator(EDITOR)).to_contain_text("print(greet('alice'))")
    await type_at_end(page_b, "\n# reviewed by bob")
    await expect(page_a.locator(EDITOR)).to_contain_text("# reviewed by bob")

    # Each sees the other's cursor, labelled with their name.
    await expect(page_a.locator(".cm-ySelectionInfo", has_text="bob")).to_be_attached()
    await expect(page_b.locator(".cm-ySelectionInfo", has_text="alice")).to_be_attached()
    # Presence shows both, in the title bar.
    await expect(page_a.get_by_test_id("presence").locator("[data-username=bob]")).to_be_visible()

    expected = "def greet(name):\n    return name\n\nprint(greet('alice'))\n# reviewed by bob"
    assert await editor_text(page_a) == expected
    assert await editor_text(page_b) == expected
    disk = web_server.workspace_root / "demo" / "src" / "app.py"
    await wait_for(lambda: disk.read_text() == expected)

    # The README's picture: two people editing together.
    await page_b.get_by_test_id("explorer").get_by_text("app.py", exact=True).wait_for()
    await page_b.screenshot(path=README_PICTURE)


async def test_follow_mode_follows_the_other_persons_file(
    web_server: WebServer, open_page: PageOpener
) -> None:
    alice, bob, workspace = await two_users(
        web_server, files={"a.py": "x = 1\n", "b.py": "".join(f"y{i} = {i}\n" for i in range(80))}
    )
    page_a = await open_page(alice, f"/w/{workspace['id']}?open=a.py")
    page_b = await open_page(bob, f"/w/{workspace['id']}?open=a.py")
    await editor_ready(page_a, "a.py")
    await editor_ready(page_b, "a.py")

    # bob follows alice by clicking her avatar.
    await page_b.get_by_test_id("presence").locator("[data-username=alice]").click()
    await expect(page_b.get_by_text("Following alice")).to_be_visible()

    # alice opens b.py from the explorer and goes to line 70: bob's editor follows.
    await page_a.get_by_test_id("explorer").get_by_text("b.py").click()
    await editor_ready(page_a, "b.py")
    await page_a.locator(EDITOR).click()  # a single click in the explorer keeps the focus there
    await page_a.keyboard.press("Control+g")
    await page_a.get_by_role("dialog").locator("input").fill("70")
    await page_a.keyboard.press("Enter")
    await editor_ready(page_b, "b.py")
    await expect(page_b.locator(f"{EDITOR} .cm-activeLine")).to_contain_text("y69 = 69")

    # bob moves on his own: following ends.
    await page_b.locator(EDITOR).click()
    await page_b.keyboard.press("Control+Home")
    await expect(page_b.get_by_text("Following alice")).to_be_hidden()


async def test_a_viewer_watches_but_cannot_type(
    web_server: WebServer, open_page: PageOpener
) -> None:
    alice, bob, workspace = await two_users(web_server, "viewer", files={"notes.md": "# Notes\n"})
    link = f"/w/{workspace['id']}?open=notes.md"
    page_a = await open_page(alice, link)
    page_b = await open_page(bob, link)
    await editor_ready(page_a, "notes.md")
    await editor_ready(page_b, "notes.md")
    await expect(page_b.get_by_test_id("readonly-badge")).to_be_visible()

    await type_at_end(page_b, "\nbob was here")
    await type_at_end(page_a, "\nalice was here")
    await expect(page_b.locator(EDITOR)).to_contain_text("alice was here")
    assert "bob was here" not in await editor_text(page_b)
    assert "bob was here" not in await editor_text(page_a)
    disk = web_server.workspace_root / "demo" / "notes.md"
    await wait_for(lambda: "alice was here" in disk.read_text())
    assert "bob was here" not in disk.read_text()


async def test_sign_in_with_the_form_and_a_wrong_password(
    web_server: WebServer, open_page: PageOpener
) -> None:
    await web_server.create_user("carol", "correct horse")
    page = await open_page(None, "/")
    form = page.get_by_test_id("login-form")
    await form.get_by_label("User name").fill("carol")
    await form.get_by_label("Password").fill("wrong password")
    await form.get_by_role("button", name="Sign in").click()
    await expect(form.get_by_role("alert")).to_have_text("Wrong user name or password.")
    page.console_errors.clear()  # type: ignore[attr-defined]  # the 401 is the point

    await form.get_by_label("Password").fill("correct horse")
    await form.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Workspaces")).to_be_visible()
    await page.get_by_label("New workspace name").fill("carols")
    await page.get_by_role("button", name="Create workspace").click()
    await expect(page.locator(".workspace-name")).to_have_text("carols")
    assert Path(web_server.workspace_root / "carols").is_dir()
