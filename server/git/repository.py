"""`GitRepository`: the async face of one workspace folder's repository. Each operation
opens the repository in a worker thread, behind the repository's lock, and records its
outcome and duration."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pygit2
from pygit2.enums import RepositoryOpenFlag

from server import metrics
from server.errors import Conflict, NexusError
from server.folders.paths import resolve_in_workspace
from server.git.branches import (
    add_branch,
    check_branch_name,
    list_branches,
    switch_branch,
)
from server.git.history import blame_file, create_commit, read_log
from server.git.results import (
    Blame,
    Branch,
    BranchList,
    CommitInfo,
    FileDiff,
    GitStatus,
    InitResult,
    NotARepository,
    Person,
)
from server.git.status import diff_file, read_status, stage_paths, unstage_paths

T = TypeVar("T")

INITIAL_BRANCH = "main"

# -- one lock per repository ------------------------------------------------------

_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def _lock_for(root: Path) -> asyncio.Lock:
    lock = _locks.get(str(root))
    if lock is None:
        lock = asyncio.Lock()
        _locks[str(root)] = lock
    return lock


class GitRepository:
    """The repository in one workspace folder. Cheap to make: each operation opens the
    repository, works in a thread, and frees it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    # -- plumbing -------------------------------------------------------------------

    async def _run(self, op: str, work: Callable[[pygit2.Repository], T]) -> T:
        return await self._in_thread(op, lambda: self._with_repo(work))

    async def _in_thread(self, op: str, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        outcome = "ok"
        try:
            async with _lock_for(self.root):
                task = asyncio.ensure_future(asyncio.to_thread(work))
                try:
                    return await asyncio.shield(task)
                finally:
                    if not task.done():  # cancelled: keep the lock until libgit2 is done
                        await asyncio.wait({task})
        except NexusError as exc:
            outcome = exc.code
            raise
        except pygit2.GitError as exc:
            outcome = "git_error"
            raise Conflict(f"git refused: {exc}") from None
        except BaseException:
            outcome = "error"
            raise
        finally:
            metrics.GIT_OPERATIONS.labels(op, outcome).inc()
            metrics.GIT_SECONDS.labels(op).observe(time.perf_counter() - started)

    def _with_repo(self, work: Callable[[pygit2.Repository], T]) -> T:
        try:
            repo = pygit2.Repository(str(self.root), RepositoryOpenFlag.NO_SEARCH)
        except pygit2.GitError as exc:
            if (self.root / ".git").exists():
                raise Conflict(f"cannot open the workspace's repository: {exc}") from None
            raise NotARepository(
                "this workspace is not a git repository; run git.init to create one"
            ) from None
        try:
            return work(repo)
        finally:
            repo.free()

    def _relative(self, path: str) -> str:
        return resolve_in_workspace(self.root, path, follow_symlinks=False)[0]

    # -- reading --------------------------------------------------------------------

    async def status(self) -> GitStatus:
        """Changed, staged and untracked files; .gitignore'd files are left out."""
        return await self._run("status", read_status)

    async def diff(self, path: str, *, staged: bool) -> FileDiff:
        """One file's changes: working tree vs index, or (staged) index vs HEAD."""
        relative = self._relative(path)
        return await self._run("diff", lambda repo: diff_file(repo, relative, staged))

    async def log(self, limit: int, path: str | None = None) -> list[CommitInfo]:
        """Commits reachable from HEAD, newest first, optionally only those touching
        `path` (a file or a folder)."""
        relative = self._relative(path) if path else None
        return await self._run("log", lambda repo: read_log(repo, limit, relative))

    async def branches(self) -> BranchList:
        return await self._run("branches", list_branches)

    async def blame(self, path: str) -> Blame:
        """Who last changed each line of a committed file (as of HEAD)."""
        relative = self._relative(path)
        return await self._run("blame", lambda repo: blame_file(repo, relative))

    # -- writing --------------------------------------------------------------------

    async def stage(self, paths: list[str]) -> GitStatus:
        """`git add -A -- paths`: new and changed files are added, deleted ones removed."""
        relatives = [self._relative(path) for path in paths]
        return await self._run("stage", lambda repo: stage_paths(repo, relatives))

    async def unstage(self, paths: list[str]) -> GitStatus:
        """`git restore --staged -- paths`: the index takes HEAD's version back (before
        the first commit, the paths leave the index)."""
        relatives = [self._relative(path) for path in paths]
        return await self._run("unstage", lambda repo: unstage_paths(repo, relatives))

    async def commit(self, message: str, author: Person) -> CommitInfo:
        """Commit the index on the current branch."""
        return await self._run("commit", lambda repo: create_commit(repo, message, author))

    async def create_branch(self, name: str) -> Branch:
        """A new branch at HEAD's commit; HEAD stays where it is."""
        check_branch_name(name)
        return await self._run("create_branch", lambda repo: add_branch(repo, name))

    async def checkout(self, branch: str) -> BranchList:
        """Switch to a branch, carrying local changes along as git does; refused when a
        local change would be overwritten."""
        check_branch_name(branch)
        return await self._run("checkout", lambda repo: switch_branch(repo, branch))

    async def init(self) -> InitResult:
        """Create a repository in the workspace folder, on branch `main`."""
        return await self._in_thread("init", self._init)

    def _init(self) -> InitResult:
        if (self.root / ".git").exists():
            raise Conflict("this workspace is already a git repository")
        repo = pygit2.init_repository(str(self.root), initial_head=INITIAL_BRANCH)
        repo.free()
        return InitResult(path=str(self.root), branch=INITIAL_BRANCH)
