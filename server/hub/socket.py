"""The Socket.IO hub: authenticates connections, keeps rooms and presence, and turns
socket events into core intents and bus events. It owns no business logic.

Every event is acknowledged with `{"ok": true, "result": …}` or
`{"ok": false, "error": {"code", "message"}}`; a bad payload never drops the connection.

Events from clients: `workspace:join`, `workspace:leave`, `workspace:broadcast`,
`command:execute`. Events to clients: `presence`, `workspace:message`,
`workspace:removed`, `workspace:role`. Features add their own events with `on`, react to
joins and leaves with `on_join`/`on_leave`, and reach sessions with `emit_room`,
`emit_joined` and `emit_user`; the hub imports none of them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import socketio
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from server import metrics
from server.auth import MembershipChanged, Principal
from server.bus import Envelope
from server.config import Settings
from server.core import CommandIntent, describe_validation_error
from server.errors import Forbidden, InternalError, InvalidInput, NexusError, Unauthorized
from server.hub.events import BroadcastPayload, ExecutePayload, WorkspaceRef
from server.hub.presence import PresenceChanged, PresenceEntry
from server.logs import request_id_var
from server.models import Role, Workspace
from server.storage import utcnow

if TYPE_CHECKING:
    from server.platform import NexusApp

log = logging.getLogger("nexus.hub")


PRESENCE_DEBOUNCE_SECONDS = 0.05


def room(workspace_id: str) -> str:
    return f"ws:{workspace_id}"


@functools.cache
def _counter(event: str, outcome: str) -> Any:
    return metrics.SOCKET_EVENTS.labels(event, outcome)


def _count(event: str, outcome: str) -> None:
    _counter(event, outcome).inc()


JoinHook = Callable[[str, Workspace], Awaitable[dict[str, Any] | None]]
LeaveHook = Callable[[str, str], Awaitable[None]]


@dataclass
class SocketSession:
    principal: Principal
    joined: dict[str, Role] = field(default_factory=dict)  # workspace id → role


class Hub:
    """Made with the settings when the app is built; `attach` hands it the platform once
    it is open (at startup), `close` lets go of it (at shutdown)."""

    def __init__(self, settings: Settings) -> None:
        self._platform: NexusApp | None = None
        manager = (
            socketio.AsyncRedisManager(settings.redis_url, channel="nexus:socketio")
            if settings.redis_url
            else None
        )
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=manager,
            cors_allowed_origins=self._origin_allowed,
            max_http_buffer_size=settings.max_body_bytes,
            ping_interval=20,
            ping_timeout=20,
        )
        self.sessions: dict[str, SocketSession] = {}
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
        self.on("workspace:join", WorkspaceRef)(self.join)
        self.on("workspace:leave", WorkspaceRef)(self.leave)
        self.on("workspace:broadcast", BroadcastPayload)(self.broadcast)
        self.on("command:execute", ExecutePayload)(self.execute)
        self._announcements: dict[str, asyncio.Task[None]] = {}
        self._disconnect_hooks: list[Callable[[str], Awaitable[None]]] = []
        self._join_hooks: list[JoinHook] = []
        self._leave_hooks: list[LeaveHook] = []

    @property
    def platform(self) -> NexusApp:
        if self._platform is None:
            raise Unauthorized("the server is starting")
        return self._platform

    def attach(self, platform: NexusApp) -> None:
        self._platform = platform
        platform.subscribe("workspace.*.members", self._membership_changed, name="hub.members")

    async def close(self) -> None:
        """Shutdown: forget sessions without announcing each departure; the presence store
        drops this node's entries when it closes."""
        for task in self._announcements.values():
            task.cancel()
        self.sessions.clear()
        self._platform = None

    # -- plumbing ---------------------------------------------------------------

    def _origin_allowed(self, origin: str | None, environ: dict[str, Any]) -> bool:
        allowed = self.platform.origins.allows(origin, environ.get("HTTP_HOST"))
        if not allowed:
            metrics.SOCKET_REFUSED.labels("origin").inc()
            log.warning("refused a socket from origin %s", origin)
        return allowed

    def on(
        self, event: str, payload_model: type[BaseModel]
    ) -> Callable[[Callable[[str, SocketSession, Any], Awaitable[Any]]], Any]:
        """Register a handler `(sid, session, payload) -> result` with validation and acks."""

        def register(handler: Callable[[str, SocketSession, Any], Awaitable[Any]]) -> Any:
            @functools.wraps(handler)
            async def wrapper(sid: str, data: Any = None) -> dict[str, Any]:
                request_id = request_id_var.set(uuid.uuid4().hex[:16])
                try:
                    session = self.sessions.get(sid)
                    if session is None:
                        raise Unauthorized("not authenticated")
                    try:
                        payload = payload_model.model_validate(data)
                    except ValidationError as exc:
                        raise InvalidInput(describe_validation_error(exc)) from None
                    result = await handler(sid, session, payload)
                except NexusError as exc:
                    _count(event, exc.code)
                    return {"ok": False, **exc.to_dict()}
                except Exception:
                    log.exception("socket event %s failed", event)
                    _count(event, "internal")
                    return {"ok": False, **InternalError(f"{event} failed").to_dict()}
                finally:
                    request_id_var.reset(request_id)
                _count(event, "ok")
                return {"ok": True, "result": to_jsonable_python(result)}

            self.sio.on(event, wrapper)
            return handler

        return register

    def on_disconnect(self, hook: Callable[[str], Awaitable[None]]) -> None:
        """Call `hook(sid)` when a connection ends (features release what it held)."""
        self._disconnect_hooks.append(hook)

    def on_join(self, hook: JoinHook) -> None:
        """Call `hook(sid, workspace)` when a session joins a workspace; a dict it returns
        joins the ack (what a late joiner must see at once, such as a debug session)."""
        self._join_hooks.append(hook)

    def on_leave(self, hook: LeaveHook) -> None:
        """Call `hook(sid, workspace_id)` when a session leaves a workspace (or drops)."""
        self._leave_hooks.append(hook)

    # -- reaching sessions --------------------------------------------------------

    async def emit_room(self, workspace_id: str, event: str, payload: Any) -> None:
        """To everyone in the workspace on every node (the Socket.IO manager carries it):
        emit this from the one node where the change happened."""
        await self.sio.emit(event, payload, room=room(workspace_id))

    async def emit_joined(self, workspace_id: str, event: str, payload: Any) -> None:
        """To this node's sessions in the workspace only (for what each node sees itself)."""
        for sid, session in list(self.sessions.items()):
            if workspace_id in session.joined:
                await self.sio.emit(event, payload, to=sid)

    async def emit_user(self, user_id: int, workspace_id: str, event: str, payload: Any) -> int:
        """To one user's sessions in the workspace on this node; returns how many."""
        delivered = 0
        for sid, session in list(self.sessions.items()):
            if session.principal.user.id == user_id and workspace_id in session.joined:
                await self.sio.emit(event, payload, to=sid)
                delivered += 1
        return delivered

    # -- connection -------------------------------------------------------------

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not token:
            token = (parse_qs(environ.get("QUERY_STRING", "")).get("token") or [None])[0]
        try:
            principal = await self.platform.authenticator.authenticate(token)
        except NexusError as exc:
            metrics.SOCKET_REFUSED.labels("auth").inc()
            raise socketio.exceptions.ConnectionRefusedError(
                exc.message, {"code": exc.code}
            ) from None
        self.sessions[sid] = SocketSession(principal)
        metrics.SOCKET_CONNECTIONS.inc()

    async def _disconnect(self, sid: str, *_reason: Any) -> None:
        if sid in self.sessions:
            metrics.SOCKET_CONNECTIONS.dec()
        await self._forget(sid)

    async def _forget(self, sid: str) -> None:
        session = self.sessions.pop(sid, None)
        if session is None:
            return
        for hook in self._disconnect_hooks:
            try:
                await hook(sid)
            except Exception:
                log.exception("disconnect hook failed for %s", sid)
        for workspace_id in list(session.joined):
            await self._leave_room(sid, session, workspace_id)

    # -- rooms and presence -----------------------------------------------------

    async def join(self, sid: str, session: SocketSession, payload: WorkspaceRef) -> dict[str, Any]:
        access = await self.platform.access.require(
            session.principal, payload.workspace, Role.viewer
        )
        workspace_id = access.workspace.id
        if workspace_id not in session.joined:
            self.platform.watchers.acquire(workspace_id, Path(access.workspace.path))
        session.joined[workspace_id] = access.role
        await self.sio.enter_room(sid, room(workspace_id))
        user = session.principal.user
        await self.platform.presence.add(
            workspace_id,
            PresenceEntry(
                sid=sid,
                user_id=user.id,
                username=user.username,
                role=access.role,
                node=self.platform.node_id,
                joined_at=utcnow(),
            ),
        )
        self._announce_presence(workspace_id)
        result: dict[str, Any] = {}
        for hook in self._join_hooks:
            result.update(await hook(sid, access.workspace) or {})
        users = await self.platform.presence.users(workspace_id)
        return {**result, "workspace": access.workspace, "role": access.role, "presence": users}

    async def leave(
        self, sid: str, session: SocketSession, payload: WorkspaceRef
    ) -> dict[str, str]:
        if payload.workspace not in session.joined:
            raise NexusError("you have not joined this workspace")
        await self._leave_room(sid, session, payload.workspace)
        return {"workspace": payload.workspace}

    async def _leave_room(self, sid: str, session: SocketSession, workspace_id: str) -> None:
        joined = session.joined.pop(workspace_id, None) is not None
        if joined:
            self.platform.watchers.release(workspace_id)
        await self.sio.leave_room(sid, room(workspace_id))
        await self.platform.presence.remove(workspace_id, sid)
        self._announce_presence(workspace_id)
        if joined:
            for hook in self._leave_hooks:
                try:
                    await hook(sid, workspace_id)
                except Exception:
                    log.exception("leave hook failed for %s", sid)

    def _announce_presence(self, workspace_id: str) -> None:
        """Send the room its presence list soon. Joins and leaves within one debounce
        window share one announcement, so a crowd arriving or a node restarting costs
        O(N) messages, not O(N²)."""
        if workspace_id not in self._announcements:
            self._announcements[workspace_id] = asyncio.create_task(
                self._announce_later(workspace_id), name=f"presence:{workspace_id}"
            )

    async def _announce_later(self, workspace_id: str) -> None:
        try:
            await asyncio.sleep(PRESENCE_DEBOUNCE_SECONDS)
        finally:
            self._announcements.pop(workspace_id, None)
        try:
            users = await self.platform.presence.users(workspace_id)
            payload = {"workspace": workspace_id, "users": to_jsonable_python(users)}
            await self.sio.emit("presence", payload, room=room(workspace_id))
            await self.platform.bus.publish(
                f"workspace.{workspace_id}.presence",
                PresenceChanged(workspace_id=workspace_id, users=users),
            )
        except Exception:
            log.exception("presence announcement for %s failed", workspace_id)

    # -- messages and commands ---------------------------------------------------

    async def broadcast(
        self, sid: str, session: SocketSession, payload: BroadcastPayload
    ) -> dict[str, Any]:
        self._require_joined(session, payload.workspace)
        message = {
            "workspace": payload.workspace,
            "topic": payload.topic,
            "from": session.principal.user.username,
            "data": payload.data,
        }
        await self.sio.emit("workspace:message", message, room=room(payload.workspace))
        return {"delivered": True}

    async def execute(self, sid: str, session: SocketSession, payload: ExecutePayload) -> Any:
        intent = CommandIntent(
            workspace=payload.workspace, command=payload.command, args=payload.args
        )
        return await self.platform.core.dispatch(session.principal, intent, source="socket")

    @staticmethod
    def _require_joined(session: SocketSession, workspace_id: str) -> Role:
        role = session.joined.get(workspace_id)
        if role is None:
            raise Forbidden("join the workspace first")
        return role

    # -- membership changes from anywhere ---------------------------------------------

    async def _membership_changed(self, envelope: Envelope) -> None:
        """Keep joined sessions' roles current; a removed member leaves the room."""
        change = envelope.event
        if not isinstance(change, MembershipChanged):
            return
        for sid, session in list(self.sessions.items()):
            if session.principal.user.id != change.user_id:
                continue
            if change.workspace_id not in session.joined:
                continue
            if change.role is None:
                await self._leave_room(sid, session, change.workspace_id)
                await self.sio.emit("workspace:removed", {"workspace": change.workspace_id}, to=sid)
            else:
                role = session.principal.cap(change.role)  # a scoped key stays capped
                session.joined[change.workspace_id] = role
                await self.sio.emit(
                    "workspace:role",
                    {"workspace": change.workspace_id, "role": role.value},
                    to=sid,
                )
