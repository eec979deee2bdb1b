"""`/yjs/{workspace_id}/{path}`: the y-websocket endpoint for stock Yjs clients."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from server import metrics
from server.api.websocket import CLOSE_TOO_BIG, CLOSE_UNSUPPORTED, admit, close_code, platform_of
from server.collab._protocol import ProtocolError
from server.collab.peer import Peer
from server.collab.room import RoomKey
from server.collab.rooms import Rooms
from server.errors import NexusError
from server.folders.paths import resolve_in_workspace
from server.models import Role

log = logging.getLogger("nexus.collab")


async def yjs_endpoint(websocket: WebSocket) -> None:
    nexus = platform_of(websocket)
    rooms = nexus.need(Rooms)
    try:
        principal, access = await admit(websocket, Role.viewer)
        root = Path(access.workspace.path)
        relative, path = resolve_in_workspace(root, websocket.path_params["path"])
        key = RoomKey(access.workspace.id, relative)
        room = await rooms.acquire(key, path, root)
    except NexusError as exc:
        metrics.COLLAB_REFUSED.labels(exc.code).inc()
        await websocket.close(close_code(exc), exc.message)
        return

    async def send(message: bytes) -> None:
        await websocket.send_bytes(message)

    async def close(code: int, reason: str) -> None:
        if websocket.application_state != WebSocketState.DISCONNECTED:
            await websocket.close(code, reason)

    peer = Peer(
        f"ws-{uuid.uuid4().hex[:12]}",
        principal.user.username,
        can_write=access.role.allows(Role.editor),
        send=send,
        close=close,
    )
    room.join(peer)
    limit = nexus.settings.collab_max_message_bytes
    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            data = frame.get("bytes")
            if data is None:
                raise ProtocolError(CLOSE_UNSUPPORTED, "text frames are not part of y-websocket")
            if len(data) > limit:
                raise ProtocolError(CLOSE_TOO_BIG, f"message larger than {limit} bytes")
            await room.receive(peer, data)
    except ProtocolError as exc:
        metrics.COLLAB_REFUSED.labels("protocol").inc()
        log.info("closing %s on %s: %s", peer.id, key.path, exc.reason)
        await peer.flush()
        await peer.close(exc.code, exc.reason)
    except WebSocketDisconnect:
        pass
    finally:
        peer.stop()
        await room.leave(peer)
        await rooms.release(room)
