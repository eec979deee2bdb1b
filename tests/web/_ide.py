"""What the browser tests do as a person would: open a workspace, type, read the editor."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

from tests.web._server import WebServer

EDITOR = "[data-testid=editor] .cm-content"


async def two_users(
    server: WebServer, second_role: str = "editor", files: dict[str, str] | None = None
) -> tuple[str, str, dict[str, Any]]:
    """alice owns a workspace `demo` holding `files`; bob is a member with `second_role`."""
    alice = await server.create_user("alice")
    bob = await server.create_user("bob")
    workspace = await server.create_workspace(alice, "demo")
    await server.add_member(alice, workspace["id"], "bob", second_role)
    folder = server.workspace_root / "demo"
    for path, text in (files or {}).items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    return alice, bob, workspace


async def editor_ready(page: Page, name: str) -> None:
    """The active tab shows `name` and its shared text has arrived."""
    await expect(page.locator(".tab.active .tab-name")).to_have_text(name, timeout=20000)
    await expect(page.locator(EDITOR)).to_be_visible()
    await expect(page.locator(".tab.active")).not_to_have_class("loading")


async def type_at_end(page: Page, text: str) -> None:
    await page.locator(EDITOR).click()
    await page.keyboard.press("Control+End")
    await page.keyboard.type(text)


async def editor_text(page: Page) -> str:
    """The document's text as the editor shows it (remote cursors' name labels left out)."""
    return str(
        await page.evaluate(
            """() => {
                const content = document.querySelector('[data-testid=editor] .cm-content');
                const lines = [...content.querySelectorAll('.cm-line')];
                return lines.map(line => {
                    const copy = line.cloneNode(true);
                    copy.querySelectorAll('.cm-ySelectionCaret, .cm-widgetBuffer')
                        .forEach(e => e.remove());
                    return copy.textContent.replace(/\\u2060/g, '');
                }).join('\\n');
            }"""
        )
    )
