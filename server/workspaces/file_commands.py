"""File commands, for voice, AI tools and plugins; the same service as the REST API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from server.core import CommandContext, CommandRegistry
from server.models import Role
from server.workspaces.files import Entry, FileText, FileVersion, Folder, MoveArgs, PathArgs


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


async def list_folder(ctx: CommandContext, args: TreeArgs) -> Folder:
    """One folder's entries, without ignored paths unless asked."""
    return await ctx.services.files.tree(
        ctx.access.workspace, args.path, include_ignored=args.include_ignored
    )


async def read_file(ctx: CommandContext, args: PathArgs) -> FileText:
    """A file's text and ETag (no content for a binary file)."""
    return await ctx.services.files.read_text(ctx.access.workspace, args.path)


async def write_file(ctx: CommandContext, args: WriteArgs) -> FileVersion:
    """Create or replace a text file; with `etag`, refuse if it changed meanwhile."""
    version, _ = await ctx.services.files.write(
        ctx.access.workspace, args.path, args.content.encode("utf-8"), if_match=args.etag
    )
    return version


async def delete_file(ctx: CommandContext, args: DeleteArgs) -> dict[str, str]:
    """Delete a file or a folder."""
    await ctx.services.files.delete(ctx.access.workspace, args.path, recursive=args.recursive)
    return {"deleted": args.path}


async def create_folder(ctx: CommandContext, args: PathArgs) -> Entry:
    """Create a folder and its parents."""
    return await ctx.services.files.mkdir(ctx.access.workspace, args.path)


async def move(ctx: CommandContext, args: MoveArgs) -> Entry:
    """Rename or move a file or folder."""
    return await ctx.services.files.move(ctx.access.workspace, args)


def register_file_commands(registry: CommandRegistry) -> None:
    registry.add("files.list", list_folder, title="List a folder", role=Role.viewer)
    registry.add("files.read", read_file, title="Read a file", role=Role.viewer)
    registry.add("files.write", write_file, title="Write a file", role=Role.editor)
    registry.add("files.delete", delete_file, title="Delete a file or folder", role=Role.editor)
    registry.add("files.createFolder", create_folder, title="New folder", role=Role.editor)
    registry.add("files.move", move, title="Rename or move", role=Role.editor)
