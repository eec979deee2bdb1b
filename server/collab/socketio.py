"""Shared documents over the hub's Socket.IO connection, for the web app.

The same y-websocket messages as `/yjs`, carried as binary Socket.IO payloads:

    client → server  doc:join {workspace, path}        ack {ok, result: {workspace, path}}
    both ways        doc:message {workspace, path, data: <bytes>}
    client → server  doc:leave {workspace, path}
    server → client  doc:closed {workspace, path, code, reason}

Both transports feed the same room, so a browser tab and a stock Yjs client co-edit.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.collab._protocol import ProtocolError
from server.collab.peer import Peer
from server.collab.room import Room, RoomKey
from server.errors import NexusError
from server.folders.paths import resolve_in_workspace
from server.hub.events import DocumentRef
from server.models import Role

if TYPE_CHECKING:
    from server.auth import AccessControl
    from server.collab.rooms import Rooms
    from server.hub import Hub, SocketSession


class DocumentMessage(DocumentRef):
    data: bytes


class SocketDocuments:
    def __init__(self, hub: Hub, rooms: Rooms, access: AccessControl) -> None:
        self.hub = hub
        self.rooms = rooms
        self.access = access
        # (sid, workspace id, path) → the room and this connection's peer in it
        self._open: dict[tuple[str, str, str], tuple[Room, Peer]] = {}
        hub.on("doc:join", DocumentRef)(self.join)
        hub.on("doc:message", DocumentMessage)(self.message)
        hub.on("doc:leave", DocumentRef)(self.leave)
        hub.on_disconnect(self.disconnected)

    async def join(self, sid: str, session: SocketSession, payload: DocumentRef) -> dict[str, str]:
        access = await self.access.require(session.principal, payload.workspace, Role.viewer)
        root = Path(access.workspace.path)
        relative, path = resolve_in_workspace(root, payload.path)
        key = (sid, access.workspace.id, relative)
        if key in self._open:
            raise NexusError("this document is already open on this connection")
        room = await self.rooms.acquire(RoomKey(access.workspace.id, relative), path, root)
        ref = {"workspace": access.workspace.id, "path": relative}

        async def send(message: bytes) -> None:
            await self.hub.sio.emit("doc:message", {**ref, "data": message}, to=sid)

        async def close(code: int, reason: str) -> None:
            self._open.pop(key, None)
            await room.leave(peer)
            await self.rooms.release(room)
            await self.hub.sio.emit("doc:closed", {**ref, "code": code, "reason": reason}, to=sid)

        peer = Peer(
            f"sio-{uuid.uuid4().hex[:12]}",
            session.principal.user.username,
            can_write=access.role.allows(Role.editor),
            send=send,
            close=close,
        )
        self._open[key] = (room, peer)
        room.join(peer)
        return ref

    async def message(self, sid: str, session: SocketSession, payload: DocumentMessage) -> None:
        room, peer = self._get(sid, payload)
        try:
            await room.receive(peer, payload.data)
        except ProtocolError as exc:
            await peer.close(exc.code, exc.reason)
            raise NexusError(exc.reason) from None

    async def leave(self, sid: str, session: SocketSession, payload: DocumentRef) -> dict[str, Any]:
        room, peer = self._get(sid, payload)
        del self._open[(sid, room.key.workspace_id, room.key.path)]
        peer.stop()
        await room.leave(peer)
        await self.rooms.release(room)
        return {"workspace": room.key.workspace_id, "path": room.key.path}

    async def disconnected(self, sid: str) -> None:
        for key in [key for key in self._open if key[0] == sid]:
            room, peer = self._open.pop(key)
            peer.stop()
            await room.leave(peer)
            await self.rooms.release(room)

    def _get(self, sid: str, payload: DocumentRef) -> tuple[Room, Peer]:
        path = "/".join(part for part in payload.path.split("/") if part not in ("", "."))
        try:
            return self._open[(sid, payload.workspace, path)]
        except KeyError:
            raise NexusError("open the document with doc:join first") from None
