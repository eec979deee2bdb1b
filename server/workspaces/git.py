"""Source control for one workspace folder, over pygit2 (libgit2 in this process, so no git
child processes to own).

libgit2 calls block, so each operation runs in a worker thread; operations on the same
repository take turns behind one lock, so that a commit never reads an index that a
concurrent stage is half-way through writing. The repository is the workspace folder
itself: a parent folder's repository is never picked up by accident.

Every path a user gives goes through `resolve_in_workspace`; git's refusals become
`NexusError`s whose messages say what to do next.
"""

from __future__ import annotations

import asyncio
import os
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

import pygit2
from pydantic import BaseModel
from pygit2.enums import (
    CheckoutNotify,
    CheckoutStrategy,
    FileStatus,
    RepositoryOpenFlag,
    SortMode,
)

from server import metrics
from server.errors import Conflict, InvalidInput, NexusError, NotFound
from server.workspaces.paths import resolve_in_workspace

T = TypeVar("T")

MAX_DIFF_BYTES = 4 * 1024 * 1024  # either side larger: no patch text, only the flag
MAX_LOG_SCAN = 100_000  # commits walked looking for ones that touch a path
INITIAL_BRANCH = "main"


class NotARepository(NexusError):
    """The workspace folder has no repository; clients offer to run `git.init`."""

    status = 409
    code = "not_a_repository"


# -- results ---------------------------------------------------------------------


class FileState(BaseModel):
    """One changed file, like a line of `git status --porcelain`: `code` is its two
    letters (index, working tree), `index` and `worktree` say the same in words."""

    path: str
    code: str
    index: str | None
    worktree: str | None


class GitStatus(BaseModel):
    branch: str | None  # None when HEAD is detached
    detached: bool
    head: str | None  # commit id; None before the first commit
    files: list[FileState]


class FileDiff(BaseModel):
    path: str
    staged: bool  # True: index vs HEAD; False: working tree vs index
    patch: str  # unified diff, empty when nothing changed
    added: int
    deleted: int
    binary: bool
    too_large: bool


class Person(BaseModel):
    name: str
    email: str


class CommitInfo(BaseModel):
    id: str
    short_id: str
    summary: str
    message: str
    author: Person
    time: datetime
    parents: list[str]


class Branch(BaseModel):
    name: str
    commit: str | None
    current: bool


class BranchList(BaseModel):
    current: str | None
    detached: bool
    branches: list[Branch]


class BlameHunk(BaseModel):
    start_line: int  # 1-based, inclusive
    end_line: int
    commit: str
    short_id: str
    author: Person
    time: datetime
    summary: str


class Blame(BaseModel):
    path: str
    hunks: list[BlameHunk]


class InitResult(BaseModel):
    path: str
    branch: str


# -- porcelain letters -------------------------------------------------------------

_INDEX_LETTERS = (
    (FileStatus.INDEX_NEW, "A"),
    (FileStatus.INDEX_MODIFIED, "M"),
    (FileStatus.INDEX_DELETED, "D"),
    (FileStatus.INDEX_RENAMED, "R"),
    (FileStatus.INDEX_TYPECHANGE, "T"),
)
_WORKTREE_LETTERS = (
    (FileStatus.WT_MODIFIED, "M"),
    (FileStatus.WT_DELETED, "D"),
    (FileStatus.WT_RENAMED, "R"),
    (FileStatus.WT_TYPECHANGE, "T"),
)
_WORDS = {
    "A": "added",
    "M": "modified",
    "D": "deleted",
    "R": "renamed",
    "T": "typechange",
    "?": "untracked",
    "U": "conflicted",
}


def _porcelain(flags: int) -> str:
    if flags & FileStatus.CONFLICTED:
        return "UU"
    if flags & FileStatus.WT_NEW:
        return "??"
    index = next((letter for flag, letter in _INDEX_LETTERS if flags & flag), " ")
    worktree = next((letter for flag, letter in _WORKTREE_LETTERS if flags & flag), " ")
    return index + worktree


def _file_state(path: str, flags: int) -> FileState:
    code = _porcelain(flags)
    return FileState(path=path, code=code, index=_WORDS.get(code[0]), worktree=_WORDS.get(code[1]))


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
        return await self._run("status", _status)

    async def diff(self, path: str, *, staged: bool) -> FileDiff:
        """One file's changes: working tree vs index, or (staged) index vs HEAD."""
        relative = self._relative(path)
        return await self._run("diff", lambda repo: _diff(repo, relative, staged))

    async def log(self, limit: int, path: str | None = None) -> list[CommitInfo]:
        """Commits reachable from HEAD, newest first, optionally only those touching
        `path` (a file or a folder)."""
        relative = self._relative(path) if path else None
        return await self._run("log", lambda repo: _log(repo, limit, relative))

    async def branches(self) -> BranchList:
        return await self._run("branches", _branches)

    async def blame(self, path: str) -> Blame:
        """Who last changed each line of a committed file (as of HEAD)."""
        relative = self._relative(path)
        return await self._run("blame", lambda repo: _blame(repo, relative))

    # -- writing --------------------------------------------------------------------

    async def stage(self, paths: list[str]) -> GitStatus:
        """`git add -A -- paths`: new and changed files are added, deleted ones removed."""
        relatives = [self._relative(path) for path in paths]
        return await self._run("stage", lambda repo: _stage(repo, relatives))

    async def unstage(self, paths: list[str]) -> GitStatus:
        """`git restore --staged -- paths`: the index takes HEAD's version back (before
        the first commit, the paths leave the index)."""
        relatives = [self._relative(path) for path in paths]
        return await self._run("unstage", lambda repo: _unstage(repo, relatives))

    async def commit(self, message: str, author: Person) -> CommitInfo:
        """Commit the index on the current branch."""
        return await self._run("commit", lambda repo: _commit(repo, message, author))

    async def create_branch(self, name: str) -> Branch:
        """A new branch at HEAD's commit; HEAD stays where it is."""
        _check_branch_name(name)
        return await self._run("create_branch", lambda repo: _create_branch(repo, name))

    async def checkout(self, branch: str) -> BranchList:
        """Switch to a branch, carrying local changes along as git does; refused when a
        local change would be overwritten."""
        _check_branch_name(branch)
        return await self._run("checkout", lambda repo: _checkout(repo, branch))

    async def init(self) -> InitResult:
        """Create a repository in the workspace folder, on branch `main`."""
        return await self._in_thread("init", self._init)

    def _init(self) -> InitResult:
        if (self.root / ".git").exists():
            raise Conflict("this workspace is already a git repository")
        repo = pygit2.init_repository(str(self.root), initial_head=INITIAL_BRANCH)
        repo.free()
        return InitResult(path=str(self.root), branch=INITIAL_BRANCH)


# -- the work, in the worker thread ------------------------------------------------


def _head_commit(repo: pygit2.Repository) -> pygit2.Commit | None:
    if repo.head_is_unborn:
        return None
    return repo.head.peel(pygit2.Commit)


def _current_branch(repo: pygit2.Repository) -> str | None:
    """The branch HEAD points at, even before its first commit; None when detached."""
    if repo.head_is_detached:
        return None
    target = repo.references["HEAD"].target
    assert isinstance(target, str)
    return target.removeprefix("refs/heads/")


def _status(repo: pygit2.Repository) -> GitStatus:
    head = _head_commit(repo)
    files = [
        _file_state(path, flags)
        for path, flags in sorted(repo.status(untracked_files="all", ignored=False).items())
        if not flags & FileStatus.IGNORED
    ]
    return GitStatus(
        branch=_current_branch(repo),
        detached=repo.head_is_detached,
        head=str(head.id) if head else None,
        files=files,
    )


def _tree_entry(tree: pygit2.Tree | None, path: str) -> pygit2.Object | None:
    if tree is None:
        return None
    try:
        return tree[path]
    except KeyError:
        return None


def _tree_blob(tree: pygit2.Tree | None, path: str) -> pygit2.Blob | None:
    entry = _tree_entry(tree, path)
    return entry if isinstance(entry, pygit2.Blob) else None


def _index_blob(repo: pygit2.Repository, path: str) -> pygit2.Blob | None:
    try:
        entry = repo.index[path]
    except KeyError:
        return None
    blob = repo.get(entry.id)
    return blob if isinstance(blob, pygit2.Blob) else None


def _worktree_bytes(repo: pygit2.Repository, path: str) -> bytes | None:
    """A file's content as git would store it (a symlink's target, not what it points to)."""
    full = Path(repo.workdir) / path
    if full.is_symlink():
        return os.readlink(full).encode()
    return full.read_bytes() if full.is_file() else None


def _diff(repo: pygit2.Repository, path: str, staged: bool) -> FileDiff:
    head = _head_commit(repo)
    head_blob = _tree_blob(head.tree if head else None, path)
    index_blob = _index_blob(repo, path)
    full = Path(repo.workdir) / path
    on_disk = full.exists() or full.is_symlink()
    if full.is_dir() and not full.is_symlink():
        raise InvalidInput(f"{path!r} is a folder; diff one file at a time")
    if head_blob is None and index_blob is None and not on_disk:
        raise NotFound(f"unknown path {path!r}: not in the repository or the folder")
    old: pygit2.Blob | bytes | None
    new: pygit2.Blob | bytes | None
    if staged:
        old, new = head_blob, index_blob
        sizes = [blob.size for blob in (old, new) if blob is not None]
    else:
        old = index_blob
        size = full.lstat().st_size if on_disk else 0
        new = _worktree_bytes(repo, path) if size <= MAX_DIFF_BYTES else None
        sizes = [size, old.size if old is not None else 0]
    if max(sizes, default=0) > MAX_DIFF_BYTES:
        return FileDiff(
            path=path, staged=staged, patch="", added=0, deleted=0, binary=False, too_large=True
        )
    patch = pygit2.Patch.create_from(old, new, old_as_path=path, new_as_path=path)
    _, added, deleted = patch.line_stats
    return FileDiff(
        path=path,
        staged=staged,
        patch=patch.text or "",
        added=added,
        deleted=deleted,
        binary=patch.delta.is_binary,
        too_large=False,
    )


def _under(candidates: Iterable[str], path: str) -> list[str]:
    prefix = path + "/"
    return sorted(name for name in candidates if name == path or name.startswith(prefix))


def _stage(repo: pygit2.Repository, paths: list[str]) -> GitStatus:
    changed = repo.status(untracked_files="all", ignored=False)
    index = repo.index
    tracked = {entry.path for entry in index}
    plan: list[tuple[str, bool]] = []  # (path, still on disk)
    for path in paths:  # check every path before changing anything
        full = Path(repo.workdir) / path
        if not full.exists() and not full.is_symlink() and not _under(tracked, path):
            raise NotFound(f"unknown path {path!r}: not in the repository or the folder")
        if full.is_file() and path not in tracked and repo.path_is_ignored(path):
            raise InvalidInput(f"{path!r} is ignored by .gitignore")
        for name in _under(changed.keys(), path):
            flags = changed[name]
            if flags & FileStatus.IGNORED:
                continue
            plan.append((name, not flags & FileStatus.WT_DELETED))
    for name, on_disk in plan:
        if on_disk:
            index.add(name)
        else:
            index.remove(name)
    index.write()
    return _status(repo)


def _tree_paths(tree: pygit2.Tree, prefix: str = "") -> Iterator[tuple[str, pygit2.Object]]:
    for entry in tree:
        name = f"{prefix}{entry.name}"
        if isinstance(entry, pygit2.Tree):
            yield from _tree_paths(entry, name + "/")
        else:
            yield name, entry


def _unstage(repo: pygit2.Repository, paths: list[str]) -> GitStatus:
    head = _head_commit(repo)
    index = repo.index
    in_index = {entry.path for entry in index}
    in_head: dict[str, pygit2.Object] = {}
    for path in paths:  # check every path before changing anything
        committed = _tree_entry(head.tree if head else None, path)
        if isinstance(committed, pygit2.Tree):
            in_head.update(_tree_paths(committed, path + "/"))
        elif committed is not None:
            in_head[path] = committed
        full = Path(repo.workdir) / path
        if committed is None and not _under(in_index, path) and not full.exists():
            raise NotFound(f"unknown path {path!r}: not in the repository or the folder")
    for path in paths:
        for name in _under(in_index, path):
            if name not in in_head:
                index.remove(name)
    for name, entry in in_head.items():
        index.add(pygit2.IndexEntry(name, entry.id, entry.filemode))
    index.write()
    return _status(repo)


def _commit_info(commit: pygit2.Commit) -> CommitInfo:
    return CommitInfo(
        id=str(commit.id),
        short_id=commit.short_id,
        summary=commit.message.split("\n", 1)[0],
        message=commit.message,
        author=Person(name=commit.author.name, email=commit.author.email),
        time=_when(commit.author),
        parents=[str(parent) for parent in commit.parent_ids],
    )


def _when(signature: pygit2.Signature) -> datetime:
    return datetime.fromtimestamp(signature.time, timezone(timedelta(minutes=signature.offset)))


def _commit(repo: pygit2.Repository, message: str, author: Person) -> CommitInfo:
    message = "\n".join(line.rstrip() for line in message.strip().splitlines())
    if not message:
        raise InvalidInput("message: a commit needs a message")
    if repo.head_is_detached:
        raise Conflict(
            f"HEAD is detached at {repo.head.peel(pygit2.Commit).short_id}; "
            "switch to a branch (or create one) before committing"
        )
    index = repo.index
    if index.conflicts is not None:
        paths = sorted({side.path for sides in index.conflicts for side in sides if side})
        raise Conflict(f"resolve the conflicts in {', '.join(paths)} and stage them first")
    head = _head_commit(repo)
    tree = index.write_tree()
    if (head is None and len(index) == 0) or (head is not None and tree == head.tree_id):
        changed = any(not flags & FileStatus.IGNORED for flags in repo.status().values())
        hint = "; stage changes first with git.stage" if changed else ""
        raise Conflict(f"nothing to commit{hint}")
    signature = pygit2.Signature(author.name, author.email)
    commit_id = repo.create_commit(
        "HEAD", signature, signature, message + "\n", tree, [head.id] if head else []
    )
    return _commit_info(repo.get(commit_id))  # type: ignore[arg-type]


def _touches(commit: pygit2.Commit, path: str) -> bool:
    def entry_id(tree: pygit2.Tree) -> pygit2.Oid | None:
        try:
            return tree[path].id
        except KeyError:
            return None

    mine = entry_id(commit.tree)
    if not commit.parents:
        return mine is not None
    return all(entry_id(parent.tree) != mine for parent in commit.parents)


def _log(repo: pygit2.Repository, limit: int, path: str | None) -> list[CommitInfo]:
    head = _head_commit(repo)
    if head is None:
        return []
    commits: list[CommitInfo] = []
    for scanned, commit in enumerate(repo.walk(head.id, SortMode.TIME)):
        if scanned >= MAX_LOG_SCAN or len(commits) >= limit:
            break
        if path is None or _touches(commit, path):
            commits.append(_commit_info(commit))
    return commits


def _branches(repo: pygit2.Repository) -> BranchList:
    current = _current_branch(repo)
    branches = []
    for name in sorted(repo.branches.local):
        target = repo.branches.local[name].target
        branches.append(Branch(name=name, commit=str(target), current=name == current))
    if current is not None and current not in repo.branches.local:  # unborn
        branches.insert(0, Branch(name=current, commit=None, current=True))
    return BranchList(current=current, detached=repo.head_is_detached, branches=branches)


def _check_branch_name(name: str) -> None:
    if not pygit2.reference_is_valid_name(f"refs/heads/{name}") or name.startswith("-"):
        raise InvalidInput(f"{name!r} is not a valid branch name")


def _create_branch(repo: pygit2.Repository, name: str) -> Branch:
    head = _head_commit(repo)
    if head is None:
        raise Conflict("there are no commits yet; commit once before creating a branch")
    if name in repo.branches.local:
        raise Conflict(f"branch {name!r} already exists")
    branch = repo.branches.local.create(name, head)
    return Branch(name=name, commit=str(branch.target), current=False)


class _Overwrites(pygit2.CheckoutCallbacks):
    """Collects the local changes a checkout would overwrite."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def checkout_notify_flags(self) -> CheckoutNotify:
        return CheckoutNotify.CONFLICT

    def checkout_notify(
        self,
        why: CheckoutNotify,
        path: str,
        baseline: pygit2.DiffFile | None,
        target: pygit2.DiffFile | None,
        workdir: pygit2.DiffFile | None,
    ) -> None:
        self.paths.append(path)


def _checkout(repo: pygit2.Repository, name: str) -> BranchList:
    branch = repo.branches.local.get(name)
    if branch is None:
        raise NotFound(f"unknown branch {name!r}")
    if _current_branch(repo) == name:
        return _branches(repo)
    if repo.index.conflicts is not None:
        raise Conflict("resolve the conflicts first; switching now would lose them")
    overwrites = _Overwrites()
    try:
        repo.checkout(branch, strategy=CheckoutStrategy.SAFE, callbacks=overwrites)
    except pygit2.GitError as exc:
        if not overwrites.paths:
            raise Conflict(f"cannot switch to {name!r}: {exc}") from None
        listed = ", ".join(sorted(overwrites.paths)[:20])
        raise Conflict(
            f"switching to {name!r} would overwrite local changes to {listed}; "
            "commit them or discard them first"
        ) from None
    return _branches(repo)


def _blame(repo: pygit2.Repository, path: str) -> Blame:
    head = _head_commit(repo)
    entry = _tree_entry(head.tree if head else None, path)
    if not isinstance(entry, pygit2.Blob):
        if isinstance(entry, pygit2.Tree):
            raise InvalidInput(f"{path!r} is a folder; blame one file at a time")
        raise NotFound(f"{path!r} is not committed; nothing to blame")
    commits: dict[pygit2.Oid, pygit2.Commit] = {}
    hunks = []
    for hunk in repo.blame(path):
        commit = commits.get(hunk.final_commit_id)
        if commit is None:
            commit = commits[hunk.final_commit_id] = repo[hunk.final_commit_id].peel(pygit2.Commit)
        start = hunk.final_start_line_number
        hunks.append(
            BlameHunk(
                start_line=start,
                end_line=start + hunk.lines_in_hunk - 1,
                commit=str(commit.id),
                short_id=commit.short_id,
                author=Person(name=commit.author.name, email=commit.author.email),
                time=_when(commit.author),
                summary=commit.message.split("\n", 1)[0],
            )
        )
    return Blame(path=path, hunks=hunks)


__all__ = [
    "Blame",
    "BlameHunk",
    "Branch",
    "BranchList",
    "CommitInfo",
    "FileDiff",
    "FileState",
    "GitRepository",
    "GitStatus",
    "InitResult",
    "NotARepository",
    "Person",
]
