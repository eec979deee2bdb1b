"""The `debug.*` commands: start a Python program under the debugger, step through it,
toggle breakpoints, stop it. Each answers with the session's state, so a REST caller or a
spoken "step over" learns where the program paused and what its variables hold."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from server.core import CommandContext, CommandRegistry
from server.debug.session import DebugState, Variable
from server.errors import InvalidInput
from server.models import Role
from server.workspaces.paths import resolve_in_workspace


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


async def debug_start(ctx: CommandContext, args: StartArgs) -> DebugState:
    """Run a Python file under the debugger; answers once it pauses (at a breakpoint or
    an uncaught exception), ends, or has run for a few seconds."""
    root = Path(ctx.access.workspace.path)
    relative, path = resolve_in_workspace(root, args.path)
    if path.suffix != ".py":
        raise InvalidInput(f"path: only Python programs can be debugged, not {relative!r}")
    if not path.is_file():
        raise InvalidInput(f"path: {relative!r} is not a file")
    await ctx.services.rooms.flush(ctx.workspace_id)  # debug what collaborators typed
    return await ctx.services.debug.launch(
        ctx.workspace_id, root, relative, ctx.principal.user.username
    )


async def debug_stop(ctx: CommandContext) -> DebugState:
    """End the program being debugged."""
    return await ctx.services.debug.stop(ctx.workspace_id)


async def debug_continue(ctx: CommandContext) -> DebugState:
    """Resume until the next breakpoint or the end."""
    return await ctx.services.debug.resume(ctx.workspace_id, "continue")


async def debug_step_over(ctx: CommandContext) -> DebugState:
    """Run the current line and pause at the next one."""
    return await ctx.services.debug.resume(ctx.workspace_id, "next")


async def debug_step_into(ctx: CommandContext) -> DebugState:
    """Pause inside the function the current line calls."""
    return await ctx.services.debug.resume(ctx.workspace_id, "stepIn")


async def debug_step_out(ctx: CommandContext) -> DebugState:
    """Run to the end of the current function and pause in its caller."""
    return await ctx.services.debug.resume(ctx.workspace_id, "stepOut")


async def debug_toggle_breakpoint(ctx: CommandContext, args: BreakpointArgs) -> BreakpointResult:
    """Set a breakpoint at a line, or clear the one there; a running program gets it at once."""
    debug = ctx.services.debug
    named = args.path if args.path is not None else debug.paused_file(ctx.workspace_id)
    relative, _ = resolve_in_workspace(Path(ctx.access.workspace.path), named)
    now_set = await debug.toggle_breakpoint(ctx.workspace_id, relative, args.line)
    return BreakpointResult(
        path=relative, line=args.line, set=now_set, breakpoints=await debug.listed(ctx.workspace_id)
    )


async def debug_state(ctx: CommandContext) -> DebugState | NoSession:
    """Where the program being debugged is, or `status: none`; and the breakpoints."""
    session = ctx.services.debug.sessions.get(ctx.workspace_id)
    if session is None:
        return NoSession(
            workspace=ctx.workspace_id,
            breakpoints=await ctx.services.debug.listed(ctx.workspace_id),
        )
    return session.state


async def debug_variables(ctx: CommandContext, args: VariablesArgs) -> list[Variable]:
    """What a variable of the paused program holds: an object's attributes, a list's items."""
    return await ctx.services.debug.variables(ctx.workspace_id, args.reference)


async def debug_evaluate(ctx: CommandContext, args: EvaluateArgs) -> Variable:
    """Evaluate an expression in the paused program, as in a debug console (it may call
    functions and assign variables, so it is for editors)."""
    if "\0" in args.expression:
        raise InvalidInput("expression: must not contain NUL characters")
    return await ctx.services.debug.evaluate(ctx.workspace_id, args.expression, args.frame)


def register_debug_commands(registry: CommandRegistry) -> None:
    editor = Role.editor
    registry.add("debug.start", debug_start, title="Start debugging", role=editor)
    registry.add("debug.stop", debug_stop, title="Stop debugging", role=editor)
    registry.add("debug.continue", debug_continue, title="Continue", role=editor)
    registry.add("debug.stepOver", debug_step_over, title="Step over", role=editor)
    registry.add("debug.stepInto", debug_step_into, title="Step into", role=editor)
    registry.add("debug.stepOut", debug_step_out, title="Step out", role=editor)
    registry.add(
        "debug.toggleBreakpoint", debug_toggle_breakpoint, title="Toggle breakpoint", role=editor
    )
    registry.add("debug.state", debug_state, title="Debugger state", role=Role.viewer)
    registry.add("debug.variables", debug_variables, title="Debugger variables", role=Role.viewer)
    registry.add("debug.evaluate", debug_evaluate, title="Evaluate in the debugger", role=editor)
