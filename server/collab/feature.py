"""The collaboration feature: shared documents (`Rooms`, provided to every feature that
reads or writes what people are typing), over y-websocket (`/yjs`) and Socket.IO
(`doc:*`)."""

from __future__ import annotations

from starlette.routing import WebSocketRoute

from server.collab.rooms import Rooms
from server.collab.socketio import SocketDocuments
from server.collab.store import DocumentStore
from server.collab.websocket import yjs_endpoint
from server.core import Feature
from server.leases import create_leases
from server.platform import NexusApp


async def setup(app: NexusApp) -> None:
    settings = app.settings
    rooms = Rooms(
        DocumentStore(app.engine),
        app.bus,
        app.watchers,
        node_id=app.node_id,
        max_rooms=settings.collab_max_documents,
        grace_seconds=settings.collab_grace_seconds,
        max_file_bytes=settings.collab_max_file_bytes,
        owners=create_leases(settings.redis_url, app.node_id, "nexus:collab:owner"),
    )
    await rooms.start()
    app.on_close(rooms.close)
    app.provide(rooms)
    SocketDocuments(app.hub, rooms, app.access)


feature = Feature(
    "collab",
    setup,
    websockets=[WebSocketRoute("/yjs/{workspace_id}/{path:path}", yjs_endpoint)],
)
