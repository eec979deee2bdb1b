"""The debugger feature: Python programs under debugpy, shared by a workspace's
collaborators; the `debug.*` commands and the `debug:state` / `debug:output` events."""

from __future__ import annotations

from server.collab import Rooms
from server.core import Feature
from server.debug.breakpoints import BreakpointStore
from server.debug.commands import Debugger, commands
from server.debug.manager import DebugSessions
from server.debug.socketio import SocketDebug
from server.platform import NexusApp


async def setup(app: NexusApp) -> None:
    settings = app.settings
    sessions = DebugSessions(
        app.bus,
        BreakpointStore(app.engine),
        app.supervisor,
        max_sessions=settings.debug_max_sessions,
        idle_seconds=settings.debug_idle_seconds,
    )
    await sessions.start()
    app.on_close(sessions.close)  # before the supervisor: no program outlives us
    app.provide(sessions)
    app.add_commands(commands, Debugger(sessions, app.need(Rooms)))
    socket = SocketDebug(app.hub, sessions, app.node_id)
    app.subscribe("workspace.*.debug", socket.forward, name="hub.debug")


feature = Feature("debug", setup, after=("collab",))
