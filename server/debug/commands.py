"""The `debug.*` commands: start a Python program under the debugger, step through it,
toggle breakpoints, stop it. Each answers with the session's state, so a REST caller or a
spoken "step over" learns where the program paused and what its variables hold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from server.core import CommandContext, Commands
from server.core.commands import CommandHandler
from server.debug.session import DebugState, Variable
from server.errors import InvalidInput
from server.folders.paths import resolve_in_workspace
from server.models import Role

if TYPE_CHECKING:
    from server.collab import Rooms
    from server.debug.manager import DebugSessions

commands = Commands()


@dataclass(frozen=True)
class Debugger:
    """What the commands use: this node's debug sessions, and the live documents (flushed
    before a start, so the program run is the one collaborators see)."""

    sessions: DebugSessions
    documents: Rooms


class StartArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=1024, description="The Python file to debug.")


class BreakpointArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line: int = Field(ge=1, le=10_000_000)
    path: str | None = Field(
        None, min_length=1, max_length=1024, description="Default: where the program is paused."
    )


class VariablesArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference: int = Field(ge=1, description="A variable's `reference` from the paused state.")


class EvaluateArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expression: str = Field(min_length=1, max_length=10_000)
    frame: int | None = Field(None, description="A frame's `id`; default: the top frame.")


class BreakpointResult(BaseModel):
    path: str
    line: int
    set: bool  # False: there was one at that line, and it is cleared
    breakpoints: dict[str, list[int]]  # the workspace's, by file


class NoSession(BaseModel):
    workspace: str
    status: str = "none"
    breakpoints: dict[str, list[int]]


@commands.command("debug.start", title="Start debugging", role=Role.editor)
async def debug_start(ctx: CommandContext[Debugger], args: StartArgs) -> DebugState:
    """Run a Python file under the debugger; answers once it pauses (at a breakpoint or
    an uncaught exception), ends, or has run for a few seconds."""
    root = Path(ctx.access.workspace.path)
    relative, path = resolve_in_workspace(root, args.path)
    if path.suffix != ".py":
        raise InvalidInput(f"path: only Python programs can be debugged, not {relative!r}")
    if not path.is_file():
        raise InvalidInput(f"path: {relative!r} is not a file")
    await ctx.feature.documents.flush(ctx.workspace_id)  # debug what collaborators typed
    return await ctx.feature.sessions.launch(
        ctx.workspace_id, root, relative, ctx.principal.user.username
    )


@commands.command("debug.stop", title="Stop debugging", role=Role.editor)
async def debug_stop(ctx: CommandContext[Debugger]) -> DebugState:
    """End the program being debugged."""
    return await ctx.feature.sessions.stop(ctx.workspace_id)


def _resuming(action: str, description: str) -> CommandHandler:
    """A command that resumes the paused program with a debug adapter `action`."""

    async def resume(ctx: CommandContext[Debugger]) -> DebugState:
        return await ctx.feature.sessions.resume(ctx.workspace_id, action)

    resume.__doc__ = description
    return resume


# id → (title, the debug adapter's request, what the command does)
_RESUMING: dict[str, tuple[str, str, str]] = {
    "debug.continue": ("Continue", "continue", "Resume until the next breakpoint or the end."),
    "debug.stepOver": ("Step over", "next", "Run the current line and pause at the next one."),
    "debug.stepInto": ("Step into", "stepIn", "Pause inside the function the current line calls."),
    "debug.stepOut": (
        "Step out",
        "stepOut",
        "Run to the end of the current function and pause in its caller.",
    ),
}

for _id, (_title, _action, _description) in _RESUMING.items():
    commands.command(_id, title=_title, role=Role.editor)(_resuming(_action, _description))


@commands.command("debug.toggleBreakpoint", title="Toggle breakpoint", role=Role.editor)
async def debug_toggle_breakpoint(
    ctx: CommandContext[Debugger], args: BreakpointArgs
) -> BreakpointResult:
    """Set a breakpoint at a line, or clear the one there; a running program gets it at once."""
    debug = ctx.feature.sessions
    named = args.path if args.path is not None else debug.paused_file(ctx.workspace_id)
    relative, _ = resolve_in_workspace(Path(ctx.access.workspace.path), named)
    now_set = await debug.toggle_breakpoint(ctx.workspace_id, relative, args.line)
    return BreakpointResult(
        path=relative, line=args.line, set=now_set, breakpoints=await debug.listed(ctx.workspace_id)
    )


@commands.command("debug.state", title="Debugger state", role=Role.viewer)
async def debug_state(ctx: CommandContext[Debugger]) -> DebugState | NoSession:
    """Where the program being debugged is, or `status: none`; and the breakpoints."""
    debug = ctx.feature.sessions
    session = debug.sessions.get(ctx.workspace_id)
    if session is None:
        return NoSession(
            workspace=ctx.workspace_id, breakpoints=await debug.listed(ctx.workspace_id)
        )
    return session.state


@commands.command("debug.variables", title="Debugger variables", role=Role.viewer)
async def debug_variables(ctx: CommandContext[Debugger], args: VariablesArgs) -> list[Variable]:
    """What a variable of the paused program holds: an object's attributes, a list's items."""
    return await ctx.feature.sessions.variables(ctx.workspace_id, args.reference)


@commands.command("debug.evaluate", title="Evaluate in the debugger", role=Role.editor)
async def debug_evaluate(ctx: CommandContext[Debugger], args: EvaluateArgs) -> Variable:
    """Evaluate an expression in the paused program, as in a debug console (it may call
    functions and assign variables, so it is for editors)."""
    if "\0" in args.expression:
        raise InvalidInput("expression: must not contain NUL characters")
    return await ctx.feature.sessions.evaluate(ctx.workspace_id, args.expression, args.frame)
