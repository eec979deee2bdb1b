"""`/yjs/{workspace_id}/{path}`: the y-websocket endpoint for stock Yjs clients."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from server import metrics
from server.auth import Principal, WorkspaceAccess
from server.collab._protocol import (
    CLOSE_BAD_REQUEST,
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_TOO_BIG,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHORIZED,
    CLOSE_UNSUPPORTED,
    ProtocolError,
)
from server.collab.peer import Peer
from server.collab.room import RoomKey
from server.errors import Forbidden, NexusError, NotFound, Unauthorized
from server.models import Role
from server.services import Services
from server.workspaces.paths import resolve_in_workspace

log = logging.getLogger("nexus.collab")

_CLOSE_CODES: dict[type[NexusError], int] = {
    Unauthorized: CLOSE_UNAUTHORIZED,
    Forbidden: CLOSE_FORBIDDEN,
    NotFound: CLOSE_NOT_FOUND,
}


def close_code(error: NexusError) -> int:
    for kind, code in _CLOSE_CODES.items():
        if isinstance(error, kind):
            return code
    return CLOSE_TRY_AGAIN if error.status >= 500 else CLOSE_BAD_REQUEST


class OriginRefused(Forbidden):
    code = "origin"


async def admit(websocket: WebSocket, needed: Role) -> tuple[Principal, WorkspaceAccess]:
    """What every workspace WebSocket endpoint checks first: the page's origin (refused
    before the handshake completes), then, once accepted, the `token` query parameter and
    the caller's role in the `workspace_id` of the path. Raises `NexusError`; the caller
    closes with `close_code(error)`."""
    services: Services = websocket.app.state.services
    if not services.origins.allows(websocket.headers.get("origin"), websocket.headers.get("host")):
        raise OriginRefused("origin not allowed")
    await websocket.accept()
    principal = await services.authenticator.authenticate(websocket.query_params.get("token"))
    access = await services.access.require(principal, websocket.path_params["workspace_id"], needed)
    return principal, access


async def yjs_endpoint(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    try:
        principal, access = await admit(websocket, Role.viewer)
        root = Path(access.workspace.path)
        relative, path = resolve_in_workspace(root, websocket.path_params["path"])
        key = RoomKey(access.workspace.id, relative)
        room = await services.rooms.acquire(key, path, root)
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
    limit = services.settings.collab_max_message_bytes
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
        await services.rooms.release(room)
