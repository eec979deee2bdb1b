"""Source control over REST: each route runs the registered `git.*` command's handler, with
the same arguments model and the role the command declares, so both surfaces behave alike.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from server.api._routing import Api, ApiCall
from server.core import CommandContext, NoArgs
from server.workspaces.git import (
    Blame,
    Branch,
    BranchList,
    CommitInfo,
    FileDiff,
    GitStatus,
    InitResult,
)
from server.workspaces.git_commands import (
    BranchArgs,
    CheckoutArgs,
    CommitArgs,
    DiffArgs,
    LogArgs,
    PathArgs,
    PathsArgs,
)

api = Api("git")

BASE = "/api/v1/workspaces/{workspace_id}/git"


async def _run(call: ApiCall, command_id: str, args: BaseModel | None = None) -> Any:
    """Run a `git.*` command's handler for this REST call, after the command's role check."""
    command = call.services.registry.get(command_id)
    access = await call.services.access.require(
        call.user, call.params["workspace_id"], command.role
    )
    context = CommandContext(call.user, access, call.services, "rest", call.request_id)
    return await command.handler(context, args if args is not None else NoArgs())


@api.get(f"{BASE}/status", response=GitStatus)
async def status(call: ApiCall) -> GitStatus:
    """Changed, staged and untracked files (viewer)."""
    return await _run(call, "git.status")


@api.get(f"{BASE}/diff", query=DiffArgs, response=FileDiff)
async def diff(call: ApiCall) -> FileDiff:
    """One file's diff: working tree vs index, or `staged=true` for index vs HEAD (viewer)."""
    return await _run(call, "git.diff", call.query)


@api.post(f"{BASE}/stage", body=PathsArgs, response=GitStatus)
async def stage(call: ApiCall) -> GitStatus:
    """Stage files or folders (editor); returns the new status."""
    return await _run(call, "git.stage", call.body)


@api.post(f"{BASE}/unstage", body=PathsArgs, response=GitStatus)
async def unstage(call: ApiCall) -> GitStatus:
    """Unstage files or folders (editor); returns the new status."""
    return await _run(call, "git.unstage", call.body)


@api.post(f"{BASE}/commit", body=CommitArgs, response=CommitInfo, status=201)
async def commit(call: ApiCall) -> CommitInfo:
    """Commit what is staged, with the caller as author (editor)."""
    return await _run(call, "git.commit", call.body)


@api.get(f"{BASE}/log", query=LogArgs, response=list[CommitInfo])
async def log(call: ApiCall) -> list[CommitInfo]:
    """Commits from HEAD, newest first; `path` keeps those touching it (viewer)."""
    return await _run(call, "git.log", call.query)


@api.get(f"{BASE}/branches", response=BranchList)
async def branches(call: ApiCall) -> BranchList:
    """Local branches and the current one (viewer)."""
    return await _run(call, "git.branches")


@api.post(f"{BASE}/branches", body=BranchArgs, response=Branch, status=201)
async def create_branch(call: ApiCall) -> Branch:
    """Create a branch at HEAD without switching to it (editor)."""
    return await _run(call, "git.createBranch", call.body)


@api.post(f"{BASE}/checkout", body=CheckoutArgs, response=BranchList)
async def checkout(call: ApiCall) -> BranchList:
    """Switch branch; 409 when local changes would be overwritten (editor)."""
    return await _run(call, "git.checkout", call.body)


@api.get(f"{BASE}/blame", query=PathArgs, response=Blame)
async def blame(call: ApiCall) -> Blame:
    """Who last changed each line of a committed file (viewer)."""
    return await _run(call, "git.blame", call.query)


@api.post(f"{BASE}/init", response=InitResult, status=201)
async def init(call: ApiCall) -> InitResult:
    """Create a repository in the workspace folder, on branch main (editor)."""
    return await _run(call, "git.init")
