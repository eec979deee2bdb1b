"""File commands (`files.*`), for voice, AI tools and plugins: the same service as the
REST routes, bound to the feature's `WorkspaceFiles` (`ctx.feature`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from server.core import CommandContext, Commands, PathArgs
from server.files.service import (
    Entry,
    FileText,
    FileVersion,
    Folder,
    MoveArgs,
    WorkspaceFiles,
)
from server.models import Role

commands = Commands()


class TreeArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field("", max_length=1024)
    include_ignored: bool = False


class WriteArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=1024)
    content: str
    etag: str | None = Field(None, description="Refuse if the file changed since this ETag.")


class DeleteArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=1024)
    recursive: bool = False


@commands.command("files.list", title="List a folder", role=Role.viewer)
async def list_folder(ctx: CommandContext[WorkspaceFiles], args: TreeArgs) -> Folder:
    """One folder's entries, without ignored paths unless asked."""
    return await ctx.feature.tree(
        ctx.access.workspace, args.path, include_ignored=args.include_ignored
    )


@commands.command("files.read", title="Read a file", role=Role.viewer)
async def read_file(ctx: CommandContext[WorkspaceFiles], args: PathArgs) -> FileText:
    """A file's text and ETag (no content for a binary file)."""
    return await ctx.feature.read_text(ctx.access.workspace, args.path)


@commands.command("files.write", title="Write a file", role=Role.editor)
async def write_file(ctx: CommandContext[WorkspaceFiles], args: WriteArgs) -> FileVersion:
    """Create or replace a text file; with `etag`, refuse if it changed meanwhile."""
    version, _ = await ctx.feature.write(
        ctx.access.workspace, args.path, args.content.encode("utf-8"), if_match=args.etag
    )
    return version


@commands.command("files.delete", title="Delete a file or folder", role=Role.editor)
async def delete_file(ctx: CommandContext[WorkspaceFiles], args: DeleteArgs) -> dict[str, str]:
    """Delete a file or a folder."""
    await ctx.feature.delete(ctx.access.workspace, args.path, recursive=args.recursive)
    return {"deleted": args.path}


@commands.command("files.createFolder", title="New folder", role=Role.editor)
async def create_folder(ctx: CommandContext[WorkspaceFiles], args: PathArgs) -> Entry:
    """Create a folder and its parents."""
    return await ctx.feature.mkdir(ctx.access.workspace, args.path)


@commands.command("files.move", title="Rename or move", role=Role.editor)
async def move(ctx: CommandContext[WorkspaceFiles], args: MoveArgs) -> Entry:
    """Rename or move a file or folder."""
    return await ctx.feature.move(ctx.access.workspace, args)
