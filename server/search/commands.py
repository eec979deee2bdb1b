"""The `search.workspace` command, bound to the shared documents (`ctx.feature`), which
are written to disk before a search so that what collaborators just typed is found."""

from __future__ import annotations

from server.collab import Rooms
from server.core import CommandContext, Commands
from server.models import Role
from server.search.service import SearchArgs, SearchResult, search_workspace

commands = Commands()


@commands.command("search.workspace", title="Search in files", role=Role.viewer)
async def search_command(ctx: CommandContext[Rooms], args: SearchArgs) -> SearchResult:
    """Find text in the workspace's files: literal or regex, case, whole word, include and
    exclude globs; positions in UTF-16 columns as Monaco counts them."""
    return await search_workspace(ctx.feature, ctx.access.workspace, args)
