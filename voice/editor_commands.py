"""Editor actions that live in the browser: registered (only where nobody else
registered the id) as commands that send `editor:command {command, args}` to the
caller's own editor sessions in the workspace. `editor.save` also writes the open
documents to disk, so a spoken "save" is durable even with no editor connected."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from server.core import CommandContext, CommandRegistry
from server.models import Role
from server.workspaces.paths import resolve_in_workspace

if TYPE_CHECKING:
    from voice.service import VoiceService


class PathArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=1024)


class LineArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line: int = Field(ge=1, le=10_000_000)


class EditorCommandResult(BaseModel):
    command: str
    args: dict[str, Any]
    delivered: int  # editor sessions of the caller that received it
    flushed: bool = False


# id → (title, role, argument model or None)
EDITOR_ACTIONS: dict[str, tuple[str, Role, type[BaseModel] | None]] = {
    "editor.openFile": ("Open a file", Role.viewer, PathArgs),
    "editor.closeFile": ("Close the file", Role.viewer, None),
    "editor.save": ("Save", Role.editor, None),
    "editor.undo": ("Undo", Role.editor, None),
    "editor.redo": ("Redo", Role.editor, None),
    "editor.gotoLine": ("Go to line", Role.viewer, LineArgs),
    "editor.toggleComment": ("Toggle comment", Role.editor, None),
}


def register_editor_commands(registry: CommandRegistry, voice: VoiceService) -> list[str]:
    """Register the browser-side actions nobody else registered; returns their ids.
    Call it after every other registration."""
    added = []
    for command_id, (title, role, model) in EDITOR_ACTIONS.items():
        if command_id in registry:
            continue
        registry.add(command_id, _handler(command_id, model, voice), title=title, role=role)
        added.append(command_id)
    return added


def _handler(command_id: str, model: type[BaseModel] | None, voice: VoiceService) -> Any:
    async def send(ctx: CommandContext, args: dict[str, Any]) -> EditorCommandResult:
        flushed = False
        if "path" in args:
            relative, _ = resolve_in_workspace(Path(ctx.access.workspace.path), args["path"])
            args = {**args, "path": relative}
        if command_id == "editor.save":
            await ctx.services.rooms.flush(ctx.workspace_id)
            flushed = True
        delivered = 0
        if voice.editor_delivery is not None:
            delivered = await voice.editor_delivery(
                ctx.principal.user.id, ctx.workspace_id, command_id, args
            )
        return EditorCommandResult(
            command=command_id, args=args, delivered=delivered, flushed=flushed
        )

    if model is None:

        async def without_args(ctx: CommandContext) -> EditorCommandResult:
            return await send(ctx, {})

        without_args.__doc__ = f"{command_id}: sent to your editor sessions."
        return without_args

    async def with_args(ctx: CommandContext, args: BaseModel) -> EditorCommandResult:
        return await send(ctx, args.model_dump())

    with_args.__annotations__["args"] = model
    with_args.__doc__ = f"{command_id}: sent to your editor sessions."
    return with_args
