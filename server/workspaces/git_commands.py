"""Source-control commands (`git.*`): the one implementation behind the command registry
and the REST routes in `server/api/git.py`.

Before reading the working tree (status, diff, stage, unstage, commit, checkout) every open live
document is written to disk, so git sees what collaborators just typed. Changes to the
repository are announced on the bus as `GitChanged` on `workspace.<id>.git`, which the hub
forwards to the workspace's sockets as `git:changed`; commits, branch changes and `init`
are also written to the audit trail.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from server.bus import Event
from server.core import CommandContext, CommandRegistry
from server.models import Role
from server.workspaces.git import (
    Blame,
    Branch,
    BranchList,
    CommitInfo,
    FileDiff,
    GitRepository,
    GitStatus,
    InitResult,
    Person,
)

MAX_PATHS = 1000


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


class PathArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=1024)


class GitChanged(Event):
    """A workspace's repository changed (staged, committed, switched, created, …), so
    source-control panels refresh."""

    workspace_id: str
    action: str
    username: str
    branch: str | None = None
    head: str | None = None


def _repository(ctx: CommandContext) -> GitRepository:
    return GitRepository(Path(ctx.access.workspace.path))


def author_of(ctx: CommandContext) -> Person:
    """The NEXUS user as git author: their e-mail when the user record has one."""
    user = ctx.principal.user
    email = getattr(user, "email", None) or f"{user.username}@nexus.local"
    return Person(name=user.username, email=email)


async def _announce(
    ctx: CommandContext, action: str, *, branch: str | None = None, head: str | None = None
) -> None:
    await ctx.services.bus.publish(
        f"workspace.{ctx.workspace_id}.git",
        GitChanged(
            workspace_id=ctx.workspace_id,
            action=action,
            username=ctx.principal.user.username,
            branch=branch,
            head=head,
        ),
    )


async def _audit(ctx: CommandContext, action: str, detail: dict[str, object]) -> None:
    await ctx.services.audit.record(
        action,
        user=ctx.principal.user,
        source=ctx.source,
        workspace_id=ctx.workspace_id,
        detail=detail,
        request_id=ctx.request_id,
    )


async def git_status(ctx: CommandContext) -> GitStatus:
    """Changed, staged and untracked files of the workspace's repository."""
    await ctx.services.rooms.flush(ctx.workspace_id)
    return await _repository(ctx).status()


async def git_diff(ctx: CommandContext, args: DiffArgs) -> FileDiff:
    """One file's changes: working tree vs index, or staged (index vs HEAD)."""
    await ctx.services.rooms.flush(ctx.workspace_id)
    return await _repository(ctx).diff(args.path, staged=args.staged)


async def git_stage(ctx: CommandContext, args: PathsArgs) -> GitStatus:
    """Stage files or folders (new, changed and deleted files alike)."""
    await ctx.services.rooms.flush(ctx.workspace_id)
    status = await _repository(ctx).stage(args.paths)
    await _announce(ctx, "stage", branch=status.branch, head=status.head)
    return status


async def git_unstage(ctx: CommandContext, args: PathsArgs) -> GitStatus:
    """Take files or folders out of the next commit; their working-tree changes stay."""
    await ctx.services.rooms.flush(ctx.workspace_id)
    status = await _repository(ctx).unstage(args.paths)
    await _announce(ctx, "unstage", branch=status.branch, head=status.head)
    return status


async def git_commit(ctx: CommandContext, args: CommitArgs) -> CommitInfo:
    """Commit what is staged, with the caller as author and committer."""
    await ctx.services.rooms.flush(ctx.workspace_id)
    commit = await _repository(ctx).commit(args.message, author_of(ctx))
    await _audit(ctx, "git.commit", {"commit": commit.id, "summary": commit.summary})
    await _announce(ctx, "commit", head=commit.id)
    return commit


async def git_log(ctx: CommandContext, args: LogArgs) -> list[CommitInfo]:
    """Commits from HEAD, newest first, optionally only those that touch a path."""
    return await _repository(ctx).log(args.limit, args.path)


async def git_branches(ctx: CommandContext) -> BranchList:
    """Local branches and which one is checked out."""
    return await _repository(ctx).branches()


async def git_create_branch(ctx: CommandContext, args: BranchArgs) -> Branch:
    """Create a branch at the current commit (without switching to it)."""
    branch = await _repository(ctx).create_branch(args.name)
    await _audit(ctx, "git.branch", {"branch": branch.name, "commit": branch.commit})
    await _announce(ctx, "branch", branch=branch.name, head=branch.commit)
    return branch


async def git_checkout(ctx: CommandContext, args: CheckoutArgs) -> BranchList:
    """Switch to a branch; refused when local changes would be overwritten."""
    await ctx.services.rooms.flush(ctx.workspace_id)
    branches = await _repository(ctx).checkout(args.branch)
    head = next((branch.commit for branch in branches.branches if branch.current), None)
    await _audit(ctx, "git.checkout", {"branch": args.branch, "commit": head})
    await _announce(ctx, "checkout", branch=args.branch, head=head)
    return branches


async def git_blame(ctx: CommandContext, args: PathArgs) -> Blame:
    """Who last changed each line of a committed file."""
    return await _repository(ctx).blame(args.path)


async def git_init(ctx: CommandContext) -> InitResult:
    """Create a git repository in the workspace folder."""
    result = await _repository(ctx).init()
    await _audit(ctx, "git.init", {"branch": result.branch})
    await _announce(ctx, "init", branch=result.branch)
    return result


def register_git_commands(registry: CommandRegistry) -> None:
    readers = Role.viewer
    writers = Role.editor
    registry.add("git.status", git_status, title="Git: status", role=readers)
    registry.add("git.diff", git_diff, title="Git: diff a file", role=readers)
    registry.add("git.log", git_log, title="Git: log", role=readers)
    registry.add("git.branches", git_branches, title="Git: branches", role=readers)
    registry.add("git.blame", git_blame, title="Git: blame a file", role=readers)
    registry.add("git.stage", git_stage, title="Git: stage", role=writers)
    registry.add("git.unstage", git_unstage, title="Git: unstage", role=writers)
    registry.add("git.commit", git_commit, title="Git: commit", role=writers)
    registry.add("git.createBranch", git_create_branch, title="Git: create branch", role=writers)
    registry.add("git.checkout", git_checkout, title="Git: switch branch", role=writers)
    registry.add("git.init", git_init, title="Git: initialize repository", role=writers)
