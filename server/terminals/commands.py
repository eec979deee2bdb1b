"""Commands that start terminals: a new shell, the current file, the project's tests.

Each returns the terminal's info (its `id` and `command` line); the UI then attaches with
`terminal:attach`, and the scrollback shows whatever ran before it did.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from server.core import CommandContext, CommandRegistry
from server.errors import InvalidInput
from server.models import Role
from server.terminals.runners import Which, run_file_command, tests_command
from server.terminals.terminal import MAX_SIZE, NAME_PATTERN, TerminalInfo
from server.workspaces.paths import resolve_in_workspace


class TerminalSize(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cols: int = Field(80, ge=1, le=MAX_SIZE)
    rows: int = Field(24, ge=1, le=MAX_SIZE)


class NewTerminalArgs(TerminalSize):
    command: str | None = Field(None, min_length=1, max_length=4096)
    name: str | None = Field(None, min_length=1, max_length=64, pattern=NAME_PATTERN)


class RunFileArgs(TerminalSize):
    path: str = Field(min_length=1, max_length=1024)


class RunTestsArgs(TerminalSize):
    path: str | None = Field(None, min_length=1, max_length=1024)


async def _start(
    ctx: CommandContext, argv: Sequence[str] | None, size: TerminalSize, name: str | None
) -> TerminalInfo:
    terminal = await ctx.services.terminals.open(
        workspace_id=ctx.workspace_id,
        cwd=Path(ctx.access.workspace.path),
        user_id=ctx.principal.user.id,
        argv=argv,
        cols=size.cols,
        rows=size.rows,
        name=name,
    )
    return terminal.info()


def _which(ctx: CommandContext, root: Path) -> Which:
    """Programs as the workspace's sandbox has them (not as the server does)."""
    supervisor = ctx.services.supervisor
    return lambda program: supervisor.which(program, root)


async def new_terminal(ctx: CommandContext, args: NewTerminalArgs) -> TerminalInfo:
    """Open a terminal in the workspace folder: the user's shell, or a command line."""
    argv = None
    if args.command is not None:
        if "\0" in args.command:
            raise InvalidInput("command: must not contain NUL characters")
        argv = ["/bin/sh", "-c", args.command]
    return await _start(ctx, argv, args, args.name)


async def run_file(ctx: CommandContext, args: RunFileArgs) -> TerminalInfo:
    """Run a file in a new terminal, with the interpreter its extension calls for."""
    root = Path(ctx.access.workspace.path)
    relative, path = resolve_in_workspace(root, args.path)
    await ctx.services.rooms.flush(ctx.workspace_id)  # run what collaborators typed
    argv = run_file_command(root, relative, path, _which(ctx, root))
    return await _start(ctx, argv, args, f"run {path.name}")


async def run_tests(ctx: CommandContext, args: RunTestsArgs) -> TerminalInfo:
    """Run the project's tests (pytest, npm test, go test or cargo test) in a terminal."""
    root = Path(ctx.access.workspace.path)
    target = None
    if args.path is not None:
        target, path = resolve_in_workspace(root, args.path)
        if not path.exists():
            raise InvalidInput(f"path: {target} does not exist")
    await ctx.services.rooms.flush(ctx.workspace_id)
    argv = tests_command(root, target, _which(ctx, root))
    return await _start(ctx, argv, args, "tests")


def register_terminal_commands(registry: CommandRegistry) -> None:
    registry.add("terminal.new", new_terminal, title="New terminal", role=Role.editor)
    registry.add("file.run", run_file, title="Run file", role=Role.editor)
    registry.add("test.run", run_tests, title="Run tests", role=Role.editor)
