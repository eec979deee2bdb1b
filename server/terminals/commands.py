"""Commands that start terminals: a new shell, the current file, the project's tests.

Each returns the terminal's info (its `id` and `command` line); the UI then attaches with
`terminal:attach`, and the scrollback shows whatever ran before it did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from server.core import CommandContext, Commands
from server.errors import InvalidInput
from server.folders.paths import resolve_in_workspace
from server.models import Role
from server.terminals.runners import Which, run_file_command, tests_command
from server.terminals.terminal import MAX_SIZE, NAME_PATTERN, TerminalInfo

if TYPE_CHECKING:
    from server.collab import Rooms
    from server.supervisor import Supervisor
    from server.terminals.manager import TerminalManager

commands = Commands()


@dataclass(frozen=True)
class Launcher:
    """What the commands use: the terminals, the live documents (flushed first, so a
    run sees what collaborators typed) and the supervisor (to find programs)."""

    terminals: TerminalManager
    documents: Rooms
    supervisor: Supervisor


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
    ctx: CommandContext[Launcher], argv: Sequence[str] | None, size: TerminalSize, name: str | None
) -> TerminalInfo:
    terminal = await ctx.feature.terminals.open(
        workspace_id=ctx.workspace_id,
        cwd=Path(ctx.access.workspace.path),
        user_id=ctx.principal.user.id,
        argv=argv,
        cols=size.cols,
        rows=size.rows,
        name=name,
    )
    return terminal.info()


def _which(ctx: CommandContext[Launcher], root: Path) -> Which:
    """Programs as the workspace's sandbox has them (not as the server does)."""
    supervisor = ctx.feature.supervisor
    return lambda program: supervisor.which(program, root)


@commands.command("terminal.new", title="New terminal", role=Role.editor)
async def new_terminal(ctx: CommandContext[Launcher], args: NewTerminalArgs) -> TerminalInfo:
    """Open a terminal in the workspace folder: the user's shell, or a command line."""
    argv = None
    if args.command is not None:
        if "\0" in args.command:
            raise InvalidInput("command: must not contain NUL characters")
        argv = ["/bin/sh", "-c", args.command]
    return await _start(ctx, argv, args, args.name)


@commands.command("file.run", title="Run file", role=Role.editor)
async def run_file(ctx: CommandContext[Launcher], args: RunFileArgs) -> TerminalInfo:
    """Run a file in a new terminal, with the interpreter its extension calls for."""
    root = Path(ctx.access.workspace.path)
    relative, path = resolve_in_workspace(root, args.path)
    await ctx.feature.documents.flush(ctx.workspace_id)  # run what collaborators typed
    argv = run_file_command(root, relative, path, _which(ctx, root))
    return await _start(ctx, argv, args, f"run {path.name}")


@commands.command("test.run", title="Run tests", role=Role.editor)
async def run_tests(ctx: CommandContext[Launcher], args: RunTestsArgs) -> TerminalInfo:
    """Run the project's tests (pytest, npm test, go test or cargo test) in a terminal."""
    root = Path(ctx.access.workspace.path)
    target = None
    if args.path is not None:
        target, path = resolve_in_workspace(root, args.path)
        if not path.exists():
            raise InvalidInput(f"path: {target} does not exist")
    await ctx.feature.documents.flush(ctx.workspace_id)
    argv = tests_command(root, target, _which(ctx, root))
    return await _start(ctx, argv, args, "tests")
