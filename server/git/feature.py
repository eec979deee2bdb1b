"""The git feature: source control of a workspace folder over REST and as `git.*`
commands, and `git:changed` when its repository changes."""

from __future__ import annotations

from server.collab import Rooms
from server.core import Feature
from server.git import rest
from server.git.commands import SourceControl, commands
from server.git.socketio import GitForwarder
from server.platform import NexusApp


async def setup(app: NexusApp) -> None:
    app.add_commands(commands, SourceControl(app.need(Rooms), app.bus, app.audit))
    app.subscribe("workspace.*.git", GitForwarder(app.hub, app.node_id), name="git.changed")


feature = Feature("git", setup, router=rest.router, after=("collab",))
