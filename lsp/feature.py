"""The language feature: language servers shared by a workspace's collaborators, over
Socket.IO (`lsp:*`), a WebSocket for stock LSP clients (`/lsp/{workspace}/{language}`)
and the `lsp.*` commands (and `editor.format`)."""

from __future__ import annotations

from starlette.routing import WebSocketRoute

from lsp.bridge import BridgeSettings
from lsp.commands import Language, commands
from lsp.manager import LanguageServers
from lsp.socketio import Browsers, SocketLanguage
from lsp.websocket import lsp_endpoint
from server.collab import Rooms
from server.core import Feature
from server.platform import NexusApp


async def setup(app: NexusApp) -> None:
    settings = app.settings
    rooms = app.need(Rooms)
    browsers = Browsers(app.hub)
    servers = LanguageServers(
        rooms,
        BridgeSettings(
            request_timeout=settings.lsp_request_timeout_seconds,
            start_timeout=settings.lsp_start_timeout_seconds,
            sync_wait=settings.lsp_sync_wait_seconds,
            memory_mb=settings.lsp_memory_mb,
        ),
        supervisor=app.supervisor,
        idle_seconds=settings.lsp_idle_seconds,
        workspace_in_use=browsers.joined,
        listener=browsers.publish,
    )
    await servers.start()
    app.on_close(servers.close)  # before the documents close (collab comes first): it holds them
    app.provide(servers)
    app.add_commands(commands, Language(servers, rooms))
    SocketLanguage(app.hub, servers, app.access, browsers)


feature = Feature(
    "lsp",
    setup,
    websockets=[WebSocketRoute("/lsp/{workspace_id}/{language}", lsp_endpoint)],
    after=("collab",),
)
