"""Fixtures for the browser tests: a real `nexus serve`, Debian's chromium, and pages opened
as a user.

    async def test_something(web_server: WebServer, open_page: PageOpener) -> None:
        token = await web_server.create_user("alice")
        workspace = await web_server.create_workspace(token, "demo")
        page = await open_page(token, f"/w/{workspace['id']}?open=main.py")

Every page's console errors and uncaught exceptions are collected in `page.console_errors`
(also `open_page.errors[page]`); the test fails at teardown if any page has one. A test that
provokes errors on purpose (the server killed or restarted under the page, offline mode)
clears the list once it has looked at them: `page.console_errors.clear()`. Each page's
screenshot is saved at teardown in tests/web/screenshots/<test>-<n>.png.

The tests need Debian's chromium (`apt-get install chromium`; never `playwright install`)
and the built web app (`make web`); without either they skip, or fail when `CI` is set.
`NEXUS_WEB_DIR` points them at another build.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright
from playwright.async_api import Error as PlaywrightError

from tests.web._server import ROOT, WebServer

CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WEB_DIR = Path(os.environ.get("NEXUS_WEB_DIR") or ROOT / "web" / "dist").resolve()
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


def _unavailable(message: str) -> None:
    """Fail in CI (`make test` installs and builds everything); skip with the reason
    elsewhere, as tests/_backing.py does for PostgreSQL and Redis."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _chromium_and_a_built_app() -> None:
    if not CHROMIUM.is_file():
        _unavailable(f"Debian's chromium is not installed ({CHROMIUM}): apt-get install chromium")
    if not (WEB_DIR / "index.html").is_file():
        _unavailable(f"the web app is not built (no {WEB_DIR / 'index.html'}): run make web")


@pytest.fixture
async def web_server(tmp_path: Path) -> AsyncIterator[WebServer]:
    """A real `nexus serve` (SQLite, in-process bus) serving the built web app."""
    server = WebServer(tmp_path, WEB_DIR)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


class PageOpener:
    """`await open_page(token, path)`: a new browser context (a separate user: own storage,
    own connections) at `path` of the server, signed in with `?token=`."""

    def __init__(self, browser: Browser, server: WebServer, test_name: str) -> None:
        self.browser = browser
        self.server = server
        self.test_name = re.sub(r"[^\w.-]+", "_", test_name)
        self.errors: dict[Page, list[str]] = {}

    def url(self, path: str = "/", token: str | None = None) -> str:
        url = self.server.url + path
        if token is not None:
            url += ("&" if "?" in path else "?") + "token=" + token
        return url

    async def __call__(self, token: str | None = None, path: str = "/", **context: Any) -> Page:
        """`context` goes to `Browser.new_context` (`offline=True`, `permissions=[…]`, …)."""
        browser_context = await self.browser.new_context(**{"viewport": VIEWPORT, **context})
        page = await browser_context.new_page()
        errors: list[str] = []

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                errors.append(f"console error: {message.text} at {message.location.get('url')}")

        def on_page_error(error: PlaywrightError) -> None:
            errors.append(f"uncaught: {error.name}: {error.message}\n{error.stack}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.console_errors = errors  # type: ignore[attr-defined]
        self.errors[page] = errors
        await page.goto(self.url(path, token))
        return page

    async def close(self) -> None:
        """Screenshots first (they show what the test saw), then the contexts."""
        SCREENSHOTS.mkdir(exist_ok=True)
        for number, page in enumerate(self.errors, 1):
            if not page.is_closed():
                with contextlib.suppress(PlaywrightError):
                    await page.screenshot(path=SCREENSHOTS / f"{self.test_name}-{number}.png")
            with contextlib.suppress(PlaywrightError):
                await page.context.close()


@pytest.fixture
async def open_page(
    browser: Browser, web_server: WebServer, request: pytest.FixtureRequest
) -> AsyncIterator[PageOpener]:
    opener = PageOpener(browser, web_server, request.node.name)
    try:
        yield opener
    finally:
        await opener.close()
    reported = [
        f"page {number} ({page.url}):\n  " + "\n  ".join(errors)
        for number, (page, errors) in enumerate(opener.errors.items(), 1)
        if errors
    ]
    assert not reported, "errors in the browser console:\n" + "\n".join(reported)
