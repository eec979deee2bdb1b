"""Language features over the hub's Socket.IO connection, for the web app.

    client → server  lsp:request {workspace, method, params, language?, id?}
                       ack {ok, result} (the LSP result) or {ok: false, error}
                     lsp:notification {workspace, method, params, language?}
                       textDocument/didOpen, textDocument/didClose, $/cancelRequest {id}
    server → client  lsp:diagnostics {workspace, language, uri, path, version, diagnostics}
                     lsp:notification {workspace, language, method, params}
                       ($/nexus/status, window/showMessage)

`language` defaults to the one of `params.textDocument.uri`; URIs are `file:` URIs inside
the workspace folder or paths relative to it. Server → client events go to everyone who
joined the workspace (`workspace:join`); the last of them to leave closes the workspace's
servers (after a grace).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from lsp.errors import INVALID_PARAMS, LspError, as_nexus_error
from server.errors import NexusError
from server.hub.events import WorkspaceRef
from server.models import Role

if TYPE_CHECKING:
    from lsp.bridge import Bridge
    from lsp.manager import LanguageServers
    from server.auth import AccessControl
    from server.hub import Hub, SocketSession


class LspMessage(WorkspaceRef):
    method: str = Field(min_length=1, max_length=128)
    params: dict[str, Any] | None = None
    language: str | None = Field(None, min_length=1, max_length=32)


class LspRequest(LspMessage):
    id: int | str | None = None  # for `$/cancelRequest`


class Browsers:
    """The browsers of a workspace on this node's hub, as the language servers see them:
    whether any has the workspace open, and what the servers publish for them."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._sending: set[asyncio.Task[None]] = set()

    def joined(self, workspace_id: str) -> bool:
        return any(workspace_id in s.joined for s in self.hub.sessions.values())

    def publish(self, bridge: Bridge, method: str, params: Any) -> None:
        """Diagnostics and status to everyone in the workspace (sent in the background:
        a server's output is read in a loop that must not wait on sockets)."""
        base = {"workspace": bridge.workspace_id, "language": bridge.language}
        if method == "textDocument/publishDiagnostics":
            path = next(
                (d.path for d in bridge.documents.values() if d.uri == params.get("uri")), None
            )
            event, data = "lsp:diagnostics", {**base, "path": path, **params}
        else:
            event, data = "lsp:notification", {**base, "method": method, "params": params}
        task = asyncio.get_running_loop().create_task(
            self.hub.emit_room(bridge.workspace_id, event, data)
        )
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)


class SocketLanguage:
    def __init__(
        self, hub: Hub, servers: LanguageServers, access: AccessControl, browsers: Browsers
    ) -> None:
        self.servers = servers
        self.access = access
        self.browsers = browsers
        self._pending: dict[tuple[str, int | str], asyncio.Task[Any]] = {}
        self._holders: dict[str, set[Bridge]] = {}
        hub.on("lsp:request", LspRequest)(self.request)
        hub.on("lsp:notification", LspMessage)(self.notification)
        hub.on_disconnect(self.disconnected)
        hub.on_leave(self.left)

    async def left(self, sid: str, workspace_id: str) -> None:
        """`sid` left a workspace (or disconnected): it no longer holds the workspace's
        documents open; the last one to leave closes the workspace's servers (after a
        grace, and only once no LSP WebSocket client is left either)."""
        held = self._holders.get(sid, set())
        for bridge in [b for b in held if b.workspace_id == workspace_id]:
            held.discard(bridge)
            await bridge.release_holder(sid)
        if not self.browsers.joined(workspace_id):
            self.servers.workspace_closed(workspace_id)

    async def _bridge(self, session: SocketSession, payload: LspMessage) -> Bridge:
        access = await self.access.require(session.principal, payload.workspace, Role.viewer)
        try:
            language = payload.language
            if language is None:
                uri = ((payload.params or {}).get("textDocument") or {}).get("uri")
                if not isinstance(uri, str):
                    raise LspError(INVALID_PARAMS, "give a language or params.textDocument.uri")
                language = self.servers.language_for(uri)
            return await self.servers.bridge(
                access.workspace.id, language, Path(access.workspace.path)
            )
        except LspError as exc:
            raise as_nexus_error(exc) from None

    async def request(self, sid: str, session: SocketSession, payload: LspRequest) -> Any:
        bridge = await self._bridge(session, payload)
        if payload.method == "initialize":
            await asyncio.wait_for(bridge.ready.wait(), bridge.settings.start_timeout)
            return bridge.initialize_result()
        self._holders.setdefault(sid, set()).add(bridge)
        work = asyncio.ensure_future(bridge.request(payload.method, payload.params, holder=sid))
        key = (sid, payload.id) if payload.id is not None else None
        if key is not None:
            self._pending[key] = work
        try:
            return await work
        except LspError as exc:
            raise as_nexus_error(exc) from None
        except asyncio.CancelledError:
            if work.cancelled() and not asyncio.current_task().cancelling():  # type: ignore[union-attr]
                raise NexusError("the request was cancelled") from None
            raise
        finally:
            if key is not None:
                self._pending.pop(key, None)

    async def notification(self, sid: str, session: SocketSession, payload: LspMessage) -> None:
        params = payload.params or {}
        if payload.method == "$/cancelRequest":
            request_id = params.get("id")
            task = self._pending.get((sid, request_id)) if request_id is not None else None
            if task is not None:
                task.cancel()
            return
        bridge = await self._bridge(session, payload)
        uri = (params.get("textDocument") or {}).get("uri", "")
        try:
            if payload.method == "textDocument/didOpen":
                self._holders.setdefault(sid, set()).add(bridge)
                await bridge.open_document(bridge.path_of(uri), sid)
            elif payload.method == "textDocument/didClose":
                await bridge.release_document(bridge.path_of(uri), sid)
        except LspError as exc:
            raise as_nexus_error(exc) from None

    async def disconnected(self, sid: str) -> None:
        for key in [key for key in self._pending if key[0] == sid]:
            self._pending.pop(key).cancel()
        for bridge in self._holders.pop(sid, set()):
            await bridge.release_holder(sid)
