"""The search feature: text search across a workspace's files, over REST and as the
`search.workspace` command."""

from __future__ import annotations

from server.collab import Rooms
from server.core import Feature
from server.platform import NexusApp
from server.search import rest
from server.search.commands import commands


async def setup(app: NexusApp) -> None:
    app.add_commands(commands, app.need(Rooms))


feature = Feature("search", setup, router=rest.router, after=("collab",))
