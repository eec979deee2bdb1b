"""The terminals feature: shared PTYs, `terminal:*` events, and the commands that start
programs in a terminal (`terminal.new`, `file.run`, `test.run`)."""

from __future__ import annotations

from server.collab import Rooms
from server.core import Feature
from server.platform import NexusApp
from server.terminals.commands import Launcher, commands
from server.terminals.manager import TerminalManager
from server.terminals.socketio import SocketTerminals


async def setup(app: NexusApp) -> None:
    terminals = TerminalManager(app.settings, app.supervisor, app.bus)
    await terminals.start()
    app.on_close(terminals.close)  # before the supervisor: no process outlives us
    app.provide(terminals)
    app.add_commands(commands, Launcher(terminals, app.need(Rooms), app.supervisor))
    SocketTerminals(app.hub, terminals, app.access, app.settings.terminal_max_input_bytes)


feature = Feature("terminals", setup, after=("collab",))
