"""Editor actions that live in the browser: commands (`editor.openFile`, `editor.save`,
…) that send `editor:command {workspace, command, args}` to the caller's own editor
sessions in the workspace, so a spoken, typed or scripted "go to line 12" moves the
caller's editor. `editor.save` also writes the open documents to disk, so a spoken
"save" is durable even with no editor connected."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from server.core import CommandContext, CommandRegistry, Commands, PathArgs
from server.folders.paths import resolve_in_workspace
from server.models import Role

if TYPE_CHECKING:
    from server.collab import Rooms
    from server.hub import Hub


class LineArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line: int = Field(ge=1, le=10_000_000)


class EditorCommandResult(BaseModel):
    command: str
    args: dict[str, Any]
    delivered: int  # editor sessions of the caller that received it
    flushed: bool = False


@dataclass(frozen=True)
class Editors:
    """The caller's editor sessions (through the hub) and the shared documents that
    `editor.save` writes to disk."""

    hub: Hub
    rooms: Rooms

    async def send(
        self, ctx: CommandContext[Editors], command_id: str, args: dict[str, Any]
    ) -> EditorCommandResult:
        flushed = False
        if "path" in args:
            relative, _ = resolve_in_workspace(Path(ctx.access.workspace.path), args["path"])
            args = {**args, "path": relative}
        if command_id == "editor.save":
            await self.rooms.flush(ctx.workspace_id)
            flushed = True
        payload = {"workspace": ctx.workspace_id, "command": command_id, "args": args}
        delivered = await self.hub.emit_user(
            ctx.principal.user.id, ctx.workspace_id, "editor:command", payload
        )
        return EditorCommandResult(
            command=command_id, args=args, delivered=delivered, flushed=flushed
        )


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

commands = Commands()


def _handler(command_id: str, model: type[BaseModel] | None) -> Any:
    """One command that sends `command_id` with its (validated) arguments."""
    if model is None:

        async def without_args(ctx: CommandContext[Editors]) -> EditorCommandResult:
            return await ctx.feature.send(ctx, command_id, {})

        without_args.__doc__ = f"{command_id}: sent to your editor sessions."
        return without_args

    async def with_args(ctx: CommandContext[Editors], args: BaseModel) -> EditorCommandResult:
        return await ctx.feature.send(ctx, command_id, args.model_dump())

    with_args.__annotations__["args"] = model
    with_args.__doc__ = f"{command_id}: sent to your editor sessions."
    return with_args


for _id, (_title, _role, _model) in EDITOR_ACTIONS.items():
    commands.command(_id, title=_title, role=_role)(_handler(_id, _model))


def unclaimed(registry: CommandRegistry) -> Commands:
    """The editor actions no other feature registered (a feature may run one itself,
    as the language servers do `editor.format`)."""
    return Commands([spec for spec in commands if spec.id not in registry])
