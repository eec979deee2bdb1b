"""The workspaces feature: creating workspaces, their members and roles, over REST and
as `workspace.*` commands."""

from __future__ import annotations

from server.core import Feature
from server.platform import NexusApp
from server.workspaces import rest
from server.workspaces.commands import Membership, commands
from server.workspaces.service import WorkspaceService


async def setup(app: NexusApp) -> None:
    service = app.provide(
        WorkspaceService(
            app.settings.workspace_root.resolve(), app.workspaces, app.users, app.audit, app.bus
        )
    )
    app.add_commands(commands, Membership(service, app.presence))


feature = Feature("workspaces", setup, router=rest.router)
