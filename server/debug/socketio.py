"""The debugger on the hub's Socket.IO connection: what collaborators see of a session.

server → client  debug:state {workspace, status, program, frames, …}   (a DebugState)
                 debug:output {workspace, category, output}
workspace:join   the ack carries `debug`: the live session's state, or null, so a
                 late joiner sees at once where the program is paused
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.debug.manager import DebugChanged, DebugOutput

if TYPE_CHECKING:
    from server.bus import Envelope
    from server.debug.manager import DebugSessions
    from server.hub import Hub
    from server.models import Workspace


class SocketDebug:
    def __init__(self, hub: Hub, sessions: DebugSessions, node_id: str) -> None:
        self.hub = hub
        self.sessions = sessions
        self.node_id = node_id
        hub.on_join(self.joined)

    async def joined(self, sid: str, workspace: Workspace) -> dict[str, Any]:
        debugging = self.sessions.sessions.get(workspace.id)
        return {"debug": None if debugging is None or debugging.ended else debugging.state}

    async def forward(self, envelope: Envelope) -> None:
        """Show every collaborator where the debugged program is and what it printed
        (`workspace.*.debug`). Only the node running the session emits; the Socket.IO
        manager reaches the rest."""
        event = envelope.event
        if envelope.origin != self.node_id:
            return
        if isinstance(event, DebugChanged):
            payload = event.state.model_dump(mode="json")
            await self.hub.emit_room(event.workspace_id, "debug:state", payload)
        elif isinstance(event, DebugOutput):
            payload = {
                "workspace": event.workspace_id,
                "category": event.category,
                "output": event.output,
            }
            await self.hub.emit_room(event.workspace_id, "debug:output", payload)
