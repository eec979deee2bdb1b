"""Source-control commands (`git.*`): the one implementation behind the command registry
and the REST routes in `rest.py`.

Before reading the working tree (status, diff, stage, unstage, commit, checkout) every
open live document is written to disk, so git sees what collaborators just typed. Changes
to the repository are announced on the bus as `GitChanged` on `workspace.<id>.git`, which
`socketio.py` forwards to the workspace's sockets as `git:changed`; commits, branch
changes and `init` are also written to the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from server.bus import Bus
from server.collab import Rooms
from server.core import CommandContext, Commands, PathArgs
from server.git import (
    Blame,
    Branch,
    BranchList,
    CommitInfo,
    FileDiff,
    GitChanged,
    GitRepository,
    GitStatus,
    InitResult,
    Person,
)
from server.models import Role
from server.storage import AuditLog

MAX_PATHS = 1000

commands = Commands()


@dataclass(frozen=True)
class SourceControl:
    """What the commands use: live documents (written to disk before git reads the
    working tree), the bus (`GitChanged`) and the audit trail."""

    rooms: Rooms
    bus: Bus
    audit: AuditLog


class DiffArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=1024)
    staged: bool = False


class PathsArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paths: list[str] = Field(min_length=1, max_length=MAX_PATHS)


class CommitArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    message: str = Field(min_length=1, max_length=100_000)


class LogArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(50, ge=1, le=1000)
    path: str | None = Field(None, min_length=1, max_length=1024)


class BranchArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=255)


class CheckoutArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    branch: str = Field(min_length=1, max_length=255)


Ctx = CommandContext[SourceControl]


def _repository(ctx: Ctx) -> GitRepository:
    return GitRepository(Path(ctx.access.workspace.path))


def author_of(ctx: Ctx) -> Person:
    """The NEXUS user as git author: their e-mail when the user record has one."""
    user = ctx.principal.user
    email = getattr(user, "email", None) or f"{user.username}@nexus.local"
    return Person(name=user.username, email=email)


async def _announce(
    ctx: Ctx, action: str, *, branch: str | None = None, head: str | None = None
) -> None:
    await ctx.feature.bus.publish(
        f"workspace.{ctx.workspace_id}.git",
        GitChanged(
            workspace_id=ctx.workspace_id,
            action=action,
            username=ctx.principal.user.username,
            branch=branch,
            head=head,
        ),
    )


async def _audit(ctx: Ctx, action: str, detail: dict[str, object]) -> None:
    await ctx.feature.audit.record(
        action,
        user=ctx.principal.user,
        source=ctx.source,
        workspace_id=ctx.workspace_id,
        detail=detail,
        request_id=ctx.request_id,
    )


@commands.command("git.status", title="Git: status", role=Role.viewer)
async def git_status(ctx: Ctx) -> GitStatus:
    """Changed, staged and untracked files of the workspace's repository."""
    await ctx.feature.rooms.flush(ctx.workspace_id)
    return await _repository(ctx).status()


@commands.command("git.diff", title="Git: diff a file", role=Role.viewer)
async def git_diff(ctx: Ctx, args: DiffArgs) -> FileDiff:
    """One file's changes: working tree vs index, or staged (index vs HEAD)."""
    await ctx.feature.rooms.flush(ctx.workspace_id)
    return await _repository(ctx).diff(args.path, staged=args.staged)


@commands.command("git.stage", title="Git: stage", role=Role.editor)
async def git_stage(ctx: Ctx, args: PathsArgs) -> GitStatus:
    """Stage files or folders (new, changed and deleted files alike)."""
    return await _change_index(ctx, "stage", args.paths)


@commands.command("git.unstage", title="Git: unstage", role=Role.editor)
async def git_unstage(ctx: Ctx, args: PathsArgs) -> GitStatus:
    """Take files or folders out of the next commit; their working-tree changes stay."""
    return await _change_index(ctx, "unstage", args.paths)


async def _change_index(
    ctx: Ctx, action: Literal["stage", "unstage"], paths: list[str]
) -> GitStatus:
    """Stage or unstage what collaborators typed, and tell the workspace's browsers."""
    await ctx.feature.rooms.flush(ctx.workspace_id)
    repository = _repository(ctx)
    change = repository.stage if action == "stage" else repository.unstage
    status = await change(paths)
    await _announce(ctx, action, branch=status.branch, head=status.head)
    return status


@commands.command("git.commit", title="Git: commit", role=Role.editor)
async def git_commit(ctx: Ctx, args: CommitArgs) -> CommitInfo:
    """Commit what is staged, with the caller as author and committer."""
    await ctx.feature.rooms.flush(ctx.workspace_id)
    commit = await _repository(ctx).commit(args.message, author_of(ctx))
    await _audit(ctx, "git.commit", {"commit": commit.id, "summary": commit.summary})
    await _announce(ctx, "commit", head=commit.id)
    return commit


@commands.command("git.log", title="Git: log", role=Role.viewer)
async def git_log(ctx: Ctx, args: LogArgs) -> list[CommitInfo]:
    """Commits from HEAD, newest first, optionally only those that touch a path."""
    return await _repository(ctx).log(args.limit, args.path)


@commands.command("git.branches", title="Git: branches", role=Role.viewer)
async def git_branches(ctx: Ctx) -> BranchList:
    """Local branches and which one is checked out."""
    return await _repository(ctx).branches()


@commands.command("git.createBranch", title="Git: create branch", role=Role.editor)
async def git_create_branch(ctx: Ctx, args: BranchArgs) -> Branch:
    """Create a branch at the current commit (without switching to it)."""
    branch = await _repository(ctx).create_branch(args.name)
    await _audit(ctx, "git.branch", {"branch": branch.name, "commit": branch.commit})
    await _announce(ctx, "branch", branch=branch.name, head=branch.commit)
    return branch


@commands.command("git.checkout", title="Git: switch branch", role=Role.editor)
async def git_checkout(ctx: Ctx, args: CheckoutArgs) -> BranchList:
    """Switch to a branch; refused when local changes would be overwritten."""
    await ctx.feature.rooms.flush(ctx.workspace_id)
    branches = await _repository(ctx).checkout(args.branch)
    head = next((branch.commit for branch in branches.branches if branch.current), None)
    await _audit(ctx, "git.checkout", {"branch": args.branch, "commit": head})
    await _announce(ctx, "checkout", branch=args.branch, head=head)
    return branches


@commands.command("git.blame", title="Git: blame a file", role=Role.viewer)
async def git_blame(ctx: Ctx, args: PathArgs) -> Blame:
    """Who last changed each line of a committed file."""
    return await _repository(ctx).blame(args.path)


@commands.command("git.init", title="Git: initialize repository", role=Role.editor)
async def git_init(ctx: Ctx) -> InitResult:
    """Create a git repository in the workspace folder."""
    result = await _repository(ctx).init()
    await _audit(ctx, "git.init", {"branch": result.branch})
    await _announce(ctx, "init", branch=result.branch)
    return result
