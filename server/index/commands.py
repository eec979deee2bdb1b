"""`search.semantic`: find the code a question means (the palette, voice and the AI's
tools use it like any command)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from server.core import CommandContext, Commands
from server.index._search import MAX_K
from server.index.workspaces import SearchResults, WorkspaceIndexes
from server.models import Role

commands = Commands()


class SemanticArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(max_length=100_000, description="What you are looking for, in words.")
    k: int = Field(10, ge=1, le=MAX_K, description="How many places to return.")


@commands.command("search.semantic", title="Find code by meaning", role=Role.viewer)
async def search_semantic(
    ctx: CommandContext[WorkspaceIndexes], args: SemanticArgs
) -> SearchResults:
    """The functions, methods and classes that best answer a question about the code, best
    first, with `path`, `start_line`-`end_line` and a snippet, and the index's progress."""
    return await ctx.feature.search(ctx.access.workspace, args.query, args.k)
