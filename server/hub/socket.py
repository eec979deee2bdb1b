"""The Socket.IO hub: authenticates connections, keeps rooms and presence, and turns
socket events into core intents and bus events. It owns no business logic.

Every event is acknowledged with `{"ok": true, "result": …}` or
`{"ok": false, "error": {"code", "message"}}`; a bad payload never drops the connection.

Events from clients: `workspace:join`, `workspace:leave`, `workspace:broadcast`,
`command:execute`. Events to clients: `presence`, `workspace:message`,
`workspace:removed`, `workspace:role`, `git:changed`.
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

from lsp.socketio import SocketLanguage
from server import metrics
from server.ai.socketio import SocketAi
from server.auth import Principal
from server.bus import Envelope, Subscription
from server.collab.socketio import SocketDocuments
from server.config import Settings
from server.core import CommandIntent, describe_validation_error
from server.debug.manager import DebugChanged, DebugOutput
from server.errors import Forbidden, InternalError, InvalidInput, NexusError, Unauthorized
from server.hub._events import BroadcastPayload, ExecutePayload, WorkspaceRef
from server.hub.presence import PresenceChanged, PresenceEntry
from server.logs import request_id_var
from server.models import Role
from server.storage import utcnow
from server.terminals.socketio import SocketTerminals
from server.workspaces.git_commands import GitChanged
from server.workspaces.service import MembershipChanged
from server.workspaces.watcher import FilesChanged
from voice.socketio import SocketVoice

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger("nexus.hub")


PRESENCE_DEBOUNCE_SECONDS = 0.05


def room(workspace_id: str) -> str:
    return f"ws:{workspace_id}"


@functools.cache
def _counter(event: str, outcome: str) -> Any:
    return metrics.SOCKET_EVENTS.labels(event, outcome)


def _count(event: str, outcome: str) -> None:
    _counter(event, outcome).inc()


@dataclass
class SocketSession:
    principal: Principal
    joined: dict[str, Role] = field(default_factory=dict)  # workspace id → role


class Hub:
    """Made with the settings when the app is built; `attach` hands it the services once
    they are open (at startup), `close` lets go of them (at shutdown)."""

    def __init__(self, settings: Settings) -> None:
        self._services: Services | None = None
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
        self._subscriptions: list[Subscription] = []
        self._announcements: dict[str, asyncio.Task[None]] = {}
        self._disconnect_hooks: list[Callable[[str], Awaitable[None]]] = []
        SocketDocuments(self)
        SocketTerminals(self)
        self._ai = SocketAi(self)
        self.language = SocketLanguage(self)
        self.voice = SocketVoice(self)

    @property
    def services(self) -> Services:
        if self._services is None:
            raise Unauthorized("the server is starting")
        return self._services

    def attach(self, services: Services) -> None:
        self._services = services
        self.language.attach(services)
        self.voice.attach(services)
        self._subscriptions = [
            services.bus.subscribe(
                "workspace.*.members", self._membership_changed, name="hub.members"
            ),
            services.bus.subscribe("workspace.*.files", self._files_changed, name="hub.files"),
            services.bus.subscribe("workspace.*.git", self._git_changed, name="hub.git"),
            services.bus.subscribe("workspace.*.debug", self._debug_changed, name="hub.debug"),
        ]
        self._ai.attach(services)

    async def close(self) -> None:
        """Shutdown: forget sessions without announcing each departure; the presence store
        drops this node's entries when it closes."""
        for subscription in self._subscriptions:
            subscription.close()
        for task in self._announcements.values():
            task.cancel()
        self.sessions.clear()
        self._services = None

    # -- plumbing ---------------------------------------------------------------

    def _origin_allowed(self, origin: str | None, environ: dict[str, Any]) -> bool:
        allowed = self.services.origins.allows(origin, environ.get("HTTP_HOST"))
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

    # -- connection -------------------------------------------------------------

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not token:
            token = (parse_qs(environ.get("QUERY_STRING", "")).get("token") or [None])[0]
        try:
            principal = await self.services.authenticator.authenticate(token)
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
        access = await self.services.access.require(
            session.principal, payload.workspace, Role.viewer
        )
        workspace_id = access.workspace.id
        if workspace_id not in session.joined:
            self.services.watchers.acquire(workspace_id, Path(access.workspace.path))
        session.joined[workspace_id] = access.role
        await self.sio.enter_room(sid, room(workspace_id))
        user = session.principal.user
        await self.services.presence.add(
            workspace_id,
            PresenceEntry(
                sid=sid,
                user_id=user.id,
                username=user.username,
                role=access.role,
                node=self.services.node_id,
                joined_at=utcnow(),
            ),
        )
        self._announce_presence(workspace_id)
        users = await self.services.presence.users(workspace_id)
        debugging = self.services.debug.sessions.get(workspace_id)  # a late joiner sees it too
        return {
            "workspace": access.workspace,
            "role": access.role,
            "presence": users,
            "debug": None if debugging is None or debugging.ended else debugging.state,
        }

    async def leave(
        self, sid: str, session: SocketSession, payload: WorkspaceRef
    ) -> dict[str, str]:
        if payload.workspace not in session.joined:
            raise NexusError("you have not joined this workspace")
        await self._leave_room(sid, session, payload.workspace)
        return {"workspace": payload.workspace}

    async def _leave_room(self, sid: str, session: SocketSession, workspace_id: str) -> None:
        if session.joined.pop(workspace_id, None) is not None:
            self.services.watchers.release(workspace_id)
        await self.sio.leave_room(sid, room(workspace_id))
        await self.services.presence.remove(workspace_id, sid)
        self._announce_presence(workspace_id)
        await self.language.left(sid, workspace_id)  # the last to leave closes its servers

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
            users = await self.services.presence.users(workspace_id)
            payload = {"workspace": workspace_id, "users": to_jsonable_python(users)}
            await self.sio.emit("presence", payload, room=room(workspace_id))
            await self.services.bus.publish(
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
        return await self.services.core.dispatch(session.principal, intent, source="socket")

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
                session.joined[change.workspace_id] = change.role
                await self.sio.emit(
                    "workspace:role",
                    {"workspace": change.workspace_id, "role": change.role.value},
                    to=sid,
                )

    async def _files_changed(self, envelope: Envelope) -> None:
        """Tell explorer panels what changed on disk. Each node forwards only what its own
        watcher saw, to its own sessions, so a shared volume watched by several nodes
        does not announce a change twice."""
        change = envelope.event
        if not isinstance(change, FilesChanged) or envelope.origin != self.services.node_id:
            return
        payload = {
            "workspace": change.workspace_id,
            "changes": [c.model_dump(mode="json") for c in change.changes],
            "overflow": change.overflow,
        }
        for sid, session in list(self.sessions.items()):
            if change.workspace_id in session.joined:
                await self.sio.emit("explorer:changed", payload, to=sid)

    async def _git_changed(self, envelope: Envelope) -> None:
        """Tell source-control panels to refresh. Only the node where the change happened
        emits; the Socket.IO manager carries it to the room on every node."""
        change = envelope.event
        if not isinstance(change, GitChanged) or envelope.origin != self.services.node_id:
            return
        payload = {"workspace": change.workspace_id, **change.model_dump(exclude={"workspace_id"})}
        await self.sio.emit("git:changed", payload, room=room(change.workspace_id))

    async def _debug_changed(self, envelope: Envelope) -> None:
        """Show every collaborator where the debugged program is and what it printed.
        Only the node running the session emits; the Socket.IO manager reaches the rest."""
        event = envelope.event
        if envelope.origin != self.services.node_id:
            return
        if isinstance(event, DebugChanged):
            payload = event.state.model_dump(mode="json")
            await self.sio.emit("debug:state", payload, room=room(event.workspace_id))
        elif isinstance(event, DebugOutput):
            payload = {
                "workspace": event.workspace_id,
                "category": event.category,
                "output": event.output,
            }
            await self.sio.emit("debug:output", payload, room=room(event.workspace_id))
