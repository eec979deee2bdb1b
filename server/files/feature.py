"""The files feature: the explorer tree and file operations over REST and as `files.*`
commands, and `explorer:changed` when files change on disk. Provides `WorkspaceFiles`
to the features that read and write workspace files (the AI tools)."""

from __future__ import annotations

from server.collab import Rooms
from server.core import Feature
from server.files import rest
from server.files.commands import commands
from server.files.service import WorkspaceFiles
from server.files.socketio import ExplorerForwarder
from server.platform import NexusApp


async def setup(app: NexusApp) -> None:
    files = app.provide(
        WorkspaceFiles(app.need(Rooms), app.watchers, app.settings.files_max_upload_bytes)
    )
    app.add_commands(commands, files)
    explorer = ExplorerForwarder(app.hub, app.node_id)
    app.subscribe("workspace.*.files", explorer, name="files.explorer")


feature = Feature("files", setup, router=rest.router, after=("collab",))
