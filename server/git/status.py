"""The working tree and the index, in the worker thread: status, one file's diff, and
staging or unstaging paths."""

from __future__ import annotations

import os
from pathlib import Path

import pygit2
from pygit2.enums import FileStatus

from server.errors import InvalidInput, NotFound
from server.git.objects import current_branch, head_commit, tree_entry, tree_paths, under
from server.git.results import FileDiff, FileState, GitStatus

MAX_DIFF_BYTES = 4 * 1024 * 1024  # either side larger: no patch text, only the flag

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


# -- status and diff ---------------------------------------------------------------


def read_status(repo: pygit2.Repository) -> GitStatus:
    head = head_commit(repo)
    files = [
        _file_state(path, flags)
        for path, flags in sorted(repo.status(untracked_files="all", ignored=False).items())
        if not flags & FileStatus.IGNORED
    ]
    return GitStatus(
        branch=current_branch(repo),
        detached=repo.head_is_detached,
        head=str(head.id) if head else None,
        files=files,
    )


def _tree_blob(tree: pygit2.Tree | None, path: str) -> pygit2.Blob | None:
    entry = tree_entry(tree, path)
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


def diff_file(repo: pygit2.Repository, path: str, staged: bool) -> FileDiff:
    head = head_commit(repo)
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


# -- the index -----------------------------------------------------------------------


def stage_paths(repo: pygit2.Repository, paths: list[str]) -> GitStatus:
    changed = repo.status(untracked_files="all", ignored=False)
    index = repo.index
    tracked = {entry.path for entry in index}
    plan: list[tuple[str, bool]] = []  # (path, still on disk)
    for path in paths:  # check every path before changing anything
        full = Path(repo.workdir) / path
        if not full.exists() and not full.is_symlink() and not under(tracked, path):
            raise NotFound(f"unknown path {path!r}: not in the repository or the folder")
        if full.is_file() and path not in tracked and repo.path_is_ignored(path):
            raise InvalidInput(f"{path!r} is ignored by .gitignore")
        for name in under(changed.keys(), path):
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
    return read_status(repo)


def unstage_paths(repo: pygit2.Repository, paths: list[str]) -> GitStatus:
    head = head_commit(repo)
    index = repo.index
    in_index = {entry.path for entry in index}
    in_head: dict[str, pygit2.Object] = {}
    for path in paths:  # check every path before changing anything
        committed = tree_entry(head.tree if head else None, path)
        if isinstance(committed, pygit2.Tree):
            in_head.update(tree_paths(committed, path + "/"))
        elif committed is not None:
            in_head[path] = committed
        full = Path(repo.workdir) / path
        if committed is None and not under(in_index, path) and not full.exists():
            raise NotFound(f"unknown path {path!r}: not in the repository or the folder")
    for path in paths:
        for name in under(in_index, path):
            if name not in in_head:
                index.remove(name)
    for name, entry in in_head.items():
        index.add(pygit2.IndexEntry(name, entry.id, entry.filemode))
    index.write()
    return read_status(repo)
