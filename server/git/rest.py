"""Source control over REST: each route runs the registered `git.*` command's handler, with
the same arguments model and the role the command declares, so both surfaces behave alike.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel

from server.api import Caller, Platform, RequestId, api_router
from server.auth import Principal
from server.core import CommandContext, NoArgs
from server.git import Blame, Branch, BranchList, CommitInfo, FileDiff, GitStatus, InitResult
from server.git.commands import (
    BranchArgs,
    CheckoutArgs,
    CommitArgs,
    DiffArgs,
    LogArgs,
    PathArgs,
    PathsArgs,
)
from server.platform import NexusApp

router = api_router("git")

BASE = "/api/v1/workspaces/{workspace_id}/git"


async def _run(
    nexus: NexusApp,
    user: Principal,
    workspace_id: str,
    request_id: str,
    command_id: str,
    args: BaseModel | None = None,
) -> Any:
    """Run a `git.*` command's handler for this REST call, after the command's role check."""
    command = nexus.registry.get(command_id)
    access = await nexus.access.require(user, workspace_id, command.role)
    context = CommandContext(user, access, command.feature, "rest", request_id)
    return await command.handler(context, args if args is not None else NoArgs())


@router.get(f"{BASE}/status", response_model=GitStatus)
async def status(
    workspace_id: str, user: Caller, nexus: Platform, request_id: RequestId
) -> GitStatus:
    """Changed, staged and untracked files (viewer)."""
    return await _run(nexus, user, workspace_id, request_id, "git.status")


@router.get(f"{BASE}/diff", response_model=FileDiff)
async def diff(
    workspace_id: str,
    query: Annotated[DiffArgs, Query()],
    user: Caller,
    nexus: Platform,
    request_id: RequestId,
) -> FileDiff:
    """One file's diff: working tree vs index, or `staged=true` for index vs HEAD (viewer)."""
    return await _run(nexus, user, workspace_id, request_id, "git.diff", query)


@router.post(f"{BASE}/stage", response_model=GitStatus)
async def stage(
    workspace_id: str, body: PathsArgs, user: Caller, nexus: Platform, request_id: RequestId
) -> GitStatus:
    """Stage files or folders (editor); returns the new status."""
    return await _run(nexus, user, workspace_id, request_id, "git.stage", body)


@router.post(f"{BASE}/unstage", response_model=GitStatus)
async def unstage(
    workspace_id: str, body: PathsArgs, user: Caller, nexus: Platform, request_id: RequestId
) -> GitStatus:
    """Unstage files or folders (editor); returns the new status."""
    return await _run(nexus, user, workspace_id, request_id, "git.unstage", body)


@router.post(f"{BASE}/commit", response_model=CommitInfo, status_code=201)
async def commit(
    workspace_id: str, body: CommitArgs, user: Caller, nexus: Platform, request_id: RequestId
) -> CommitInfo:
    """Commit what is staged, with the caller as author (editor)."""
    return await _run(nexus, user, workspace_id, request_id, "git.commit", body)


@router.get(f"{BASE}/log", response_model=list[CommitInfo])
async def log(
    workspace_id: str,
    query: Annotated[LogArgs, Query()],
    user: Caller,
    nexus: Platform,
    request_id: RequestId,
) -> list[CommitInfo]:
    """Commits from HEAD, newest first; `path` keeps those touching it (viewer)."""
    return await _run(nexus, user, workspace_id, request_id, "git.log", query)


@router.get(f"{BASE}/branches", response_model=BranchList)
async def branches(
    workspace_id: str, user: Caller, nexus: Platform, request_id: RequestId
) -> BranchList:
    """Local branches and the current one (viewer)."""
    return await _run(nexus, user, workspace_id, request_id, "git.branches")


@router.post(f"{BASE}/branches", response_model=Branch, status_code=201)
async def create_branch(
    workspace_id: str, body: BranchArgs, user: Caller, nexus: Platform, request_id: RequestId
) -> Branch:
    """Create a branch at HEAD without switching to it (editor)."""
    return await _run(nexus, user, workspace_id, request_id, "git.createBranch", body)


@router.post(f"{BASE}/checkout", response_model=BranchList)
async def checkout(
    workspace_id: str, body: CheckoutArgs, user: Caller, nexus: Platform, request_id: RequestId
) -> BranchList:
    """Switch branch; 409 when local changes would be overwritten (editor)."""
    return await _run(nexus, user, workspace_id, request_id, "git.checkout", body)


@router.get(f"{BASE}/blame", response_model=Blame)
async def blame(
    workspace_id: str,
    query: Annotated[PathArgs, Query()],
    user: Caller,
    nexus: Platform,
    request_id: RequestId,
) -> Blame:
    """Who last changed each line of a committed file (viewer)."""
    return await _run(nexus, user, workspace_id, request_id, "git.blame", query)


@router.post(f"{BASE}/init", response_model=InitResult, status_code=201)
async def init(
    workspace_id: str, user: Caller, nexus: Platform, request_id: RequestId
) -> InitResult:
    """Create a repository in the workspace folder, on branch main (editor)."""
    return await _run(nexus, user, workspace_id, request_id, "git.init")
