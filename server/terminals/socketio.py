"""Shared terminals over the hub's Socket.IO connection.

    client → server  terminal:open {workspace, cols?, rows?, command?, name?}   editor
                       ack: the terminal's info; the opener is attached
                     terminal:list {workspace}                                  viewer
                     terminal:attach {workspace, id}                            viewer
                       ack: the info plus `scrollback` (text to write first)
                     terminal:detach {id}
                     terminal:input {id, data}                                  editor
                     terminal:resize {id, cols, rows}                           editor
                     terminal:ack {id, bytes}         (flow control; no ack needed)
                     terminal:close {id}                                        editor
    server → client  terminal:output {id, data, bytes}
                     terminal:exit {id, code}
                     terminal:detached {id, reason}

Every event needs the workspace joined (`workspace:join`); the role is the one the hub
keeps current, so a demoted editor stops typing at once and a removed member stops
receiving output.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from server.errors import Conflict, Forbidden, InvalidInput, PayloadTooLarge
from server.hub.events import Payload, WorkspaceRef
from server.models import Role
from server.terminals.terminal import MAX_SIZE, NAME_PATTERN, Send, Terminal

if TYPE_CHECKING:
    from server.auth import AccessControl
    from server.hub import Hub, SocketSession
    from server.terminals.manager import TerminalManager


class OpenPayload(WorkspaceRef):
    cols: int = Field(80, ge=1, le=MAX_SIZE)
    rows: int = Field(24, ge=1, le=MAX_SIZE)
    command: str | None = Field(None, min_length=1, max_length=4096)
    name: str | None = Field(None, min_length=1, max_length=64, pattern=NAME_PATTERN)


class TerminalRef(Payload):
    id: str = Field(min_length=1, max_length=64)


class AttachPayload(TerminalRef):
    workspace: str = Field(min_length=1, max_length=64)


class InputPayload(TerminalRef):
    data: str | bytes = Field(max_length=1024 * 1024)  # keystrokes, or raw bytes


class ResizePayload(TerminalRef):
    cols: int = Field(ge=1, le=MAX_SIZE)
    rows: int = Field(ge=1, le=MAX_SIZE)


class AckPayload(TerminalRef):
    bytes: int = Field(ge=0)


class SocketTerminals:
    def __init__(
        self, hub: Hub, terminals: TerminalManager, access: AccessControl, max_input_bytes: int
    ) -> None:
        self.hub = hub
        self.terminals = terminals
        self.access = access
        self.max_input_bytes = max_input_bytes
        hub.on("terminal:open", OpenPayload)(self.open)
        hub.on("terminal:list", WorkspaceRef)(self.list)
        hub.on("terminal:attach", AttachPayload)(self.attach)
        hub.on("terminal:detach", TerminalRef)(self.detach)
        hub.on("terminal:input", InputPayload)(self.input)
        hub.on("terminal:resize", ResizePayload)(self.resize)
        hub.on("terminal:ack", AckPayload)(self.ack)
        hub.on("terminal:close", TerminalRef)(self.close)
        hub.on_disconnect(self.disconnected)

    async def open(self, sid: str, session: SocketSession, payload: OpenPayload) -> dict[str, Any]:
        _require_role(session, payload.workspace, Role.editor)
        access = await self.access.require(session.principal, payload.workspace, Role.editor)
        argv = None
        if payload.command is not None:
            if "\0" in payload.command:
                raise InvalidInput("command: must not contain NUL characters")
            argv = ["/bin/sh", "-c", payload.command]
        terminal = await self.terminals.open(
            workspace_id=access.workspace.id,
            cwd=Path(access.workspace.path),
            user_id=session.principal.user.id,
            argv=argv,
            cols=payload.cols,
            rows=payload.rows,
            name=payload.name,
        )
        terminal.attach(sid, session.principal.user.id, self._sender(sid, terminal))
        return terminal.info().model_dump()

    async def list(self, sid: str, session: SocketSession, payload: WorkspaceRef) -> Any:
        _require_role(session, payload.workspace, Role.viewer)
        return [t.info() for t in self.terminals.in_workspace(payload.workspace)]

    async def attach(
        self, sid: str, session: SocketSession, payload: AttachPayload
    ) -> dict[str, Any]:
        terminal = self._terminal(session, payload.id, Role.viewer)
        if terminal.workspace_id != payload.workspace:
            raise InvalidInput(f"terminal {payload.id} is not in workspace {payload.workspace}")
        scrollback = terminal.attach(sid, session.principal.user.id, self._sender(sid, terminal))
        return {**terminal.info().model_dump(), "scrollback": scrollback}

    async def detach(self, sid: str, session: SocketSession, payload: TerminalRef) -> Any:
        terminal = self._terminal(session, payload.id, Role.viewer)
        return {"id": terminal.id, "detached": terminal.detach(sid)}

    async def input(self, sid: str, session: SocketSession, payload: InputPayload) -> None:
        terminal = self._terminal(session, payload.id, Role.editor)
        data = payload.data
        if isinstance(data, str):
            data = data.encode("utf-8", "replace")
        limit = self.max_input_bytes
        if len(data) > limit:
            raise PayloadTooLarge(f"terminal input is limited to {limit} bytes per message")
        if not terminal.running:
            raise Conflict(f"terminal {terminal.id} has exited (code {terminal.exit_code})")
        try:
            terminal.write(data)
        except BufferError as exc:
            raise Conflict(str(exc)) from None

    async def resize(self, sid: str, session: SocketSession, payload: ResizePayload) -> Any:
        terminal = self._terminal(session, payload.id, Role.editor)
        if terminal.running:
            terminal.resize(payload.cols, payload.rows)
        return {"id": terminal.id, "cols": payload.cols, "rows": payload.rows}

    async def ack(self, sid: str, session: SocketSession, payload: AckPayload) -> None:
        self._terminal(session, payload.id, Role.viewer).ack(sid, payload.bytes)

    async def close(self, sid: str, session: SocketSession, payload: TerminalRef) -> Any:
        self._terminal(session, payload.id, Role.editor)
        terminal = await self.terminals.close_terminal(payload.id)
        return {"id": terminal.id, "code": terminal.exit_code}

    async def disconnected(self, sid: str) -> None:
        self.terminals.detach_everywhere(sid)

    # -- helpers ------------------------------------------------------------------------

    def _terminal(self, session: SocketSession, terminal_id: str, needed: Role) -> Terminal:
        terminal = self.terminals.get(terminal_id)
        _require_role(session, terminal.workspace_id, needed)
        return terminal

    def _sender(self, sid: str, terminal: Terminal) -> Send:
        hub, workspace_id = self.hub, terminal.workspace_id

        async def send(event: str, payload: dict[str, Any]) -> bool:
            session = hub.sessions.get(sid)
            if session is None or workspace_id not in session.joined:
                return False  # disconnected, left, or removed from the workspace
            # Terminals are local to this node, and so are their clients: skip the queue.
            await hub.sio.emit(event, payload, to=sid, ignore_queue=True)
            return True

        return send


def _require_role(session: SocketSession, workspace_id: str, needed: Role) -> None:
    role = session.joined.get(workspace_id)
    if role is None:
        raise Forbidden("join the workspace first")
    if not role.allows(needed):
        if needed is Role.editor:
            raise Forbidden(f"viewers can watch terminals but not use them; you are {role.value}")
        raise Forbidden(f"this needs the {needed.value} role; you are {role.value}")
