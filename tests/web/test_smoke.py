"""The web app loads from the server and signs in without an error in the console."""

from __future__ import annotations

from tests.web._server import WebServer
from tests.web.conftest import PageOpener


async def test_index_loads_without_console_errors(
    web_server: WebServer, open_page: PageOpener
) -> None:
    token = await web_server.create_user("alice")
    page = await open_page(token)
    await page.wait_for_load_state("networkidle")
    assert "NEXUS" in await page.title()
    assert page.console_errors == []  # type: ignore[attr-defined]
