"""Source control over REST: each route runs the registered `git.*` command's handler, with
the same arguments model and the role the command declares, so both surfaces behave alike.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from server.api import InWorkspace, api_router
from server.core import PathArgs
from server.git import Blame, Branch, BranchList, CommitInfo, FileDiff, GitStatus, InitResult
from server.git.commands import (
    BranchArgs,
    CheckoutArgs,
    CommitArgs,
    DiffArgs,
    LogArgs,
    PathsArgs,
)

router = api_router("git")

BASE = "/api/v1/workspaces/{workspace_id}/git"


@router.get(f"{BASE}/status", response_model=GitStatus)
async def status(call: InWorkspace) -> GitStatus:
    """Changed, staged and untracked files (viewer)."""
    return await call.run("git.status")


@router.get(f"{BASE}/diff", response_model=FileDiff)
async def diff(query: Annotated[DiffArgs, Query()], call: InWorkspace) -> FileDiff:
    """One file's diff: working tree vs index, or `staged=true` for index vs HEAD (viewer)."""
    return await call.run("git.diff", query)


@router.post(f"{BASE}/stage", response_model=GitStatus)
async def stage(body: PathsArgs, call: InWorkspace) -> GitStatus:
    """Stage files or folders (editor); returns the new status."""
    return await call.run("git.stage", body)


@router.post(f"{BASE}/unstage", response_model=GitStatus)
async def unstage(body: PathsArgs, call: InWorkspace) -> GitStatus:
    """Unstage files or folders (editor); returns the new status."""
    return await call.run("git.unstage", body)


@router.post(f"{BASE}/commit", response_model=CommitInfo, status_code=201)
async def commit(body: CommitArgs, call: InWorkspace) -> CommitInfo:
    """Commit what is staged, with the caller as author (editor)."""
    return await call.run("git.commit", body)


@router.get(f"{BASE}/log", response_model=list[CommitInfo])
async def log(query: Annotated[LogArgs, Query()], call: InWorkspace) -> list[CommitInfo]:
    """Commits from HEAD, newest first; `path` keeps those touching it (viewer)."""
    return await call.run("git.log", query)


@router.get(f"{BASE}/branches", response_model=BranchList)
async def branches(call: InWorkspace) -> BranchList:
    """Local branches and the current one (viewer)."""
    return await call.run("git.branches")


@router.post(f"{BASE}/branches", response_model=Branch, status_code=201)
async def create_branch(body: BranchArgs, call: InWorkspace) -> Branch:
    """Create a branch at HEAD without switching to it (editor)."""
    return await call.run("git.createBranch", body)


@router.post(f"{BASE}/checkout", response_model=BranchList)
async def checkout(body: CheckoutArgs, call: InWorkspace) -> BranchList:
    """Switch branch; 409 when local changes would be overwritten (editor)."""
    return await call.run("git.checkout", body)


@router.get(f"{BASE}/blame", response_model=Blame)
async def blame(query: Annotated[PathArgs, Query()], call: InWorkspace) -> Blame:
    """Who last changed each line of a committed file (viewer)."""
    return await call.run("git.blame", query)


@router.post(f"{BASE}/init", response_model=InitResult, status_code=201)
async def init(call: InWorkspace) -> InitResult:
    """Create a repository in the workspace folder, on branch main (editor)."""
    return await call.run("git.init")
