"""Commits, in the worker thread: making one, the log (optionally of one path), and
blame."""

from __future__ import annotations

import pygit2
from pygit2.enums import FileStatus, SortMode

from server.errors import Conflict, InvalidInput, NotFound
from server.git.objects import (
    author_of,
    commit_info,
    head_commit,
    summary_of,
    tree_entry,
    when,
)
from server.git.results import Blame, BlameHunk, CommitInfo, Person

MAX_LOG_SCAN = 100_000  # commits walked looking for ones that touch a path


def create_commit(repo: pygit2.Repository, message: str, author: Person) -> CommitInfo:
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
    head = head_commit(repo)
    tree = index.write_tree()
    if (head is None and len(index) == 0) or (head is not None and tree == head.tree_id):
        changed = any(not flags & FileStatus.IGNORED for flags in repo.status().values())
        hint = "; stage changes first with git.stage" if changed else ""
        raise Conflict(f"nothing to commit{hint}")
    signature = pygit2.Signature(author.name, author.email)
    commit_id = repo.create_commit(
        "HEAD", signature, signature, message + "\n", tree, [head.id] if head else []
    )
    return commit_info(repo.get(commit_id))  # type: ignore[arg-type]


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


def read_log(repo: pygit2.Repository, limit: int, path: str | None) -> list[CommitInfo]:
    head = head_commit(repo)
    if head is None:
        return []
    commits: list[CommitInfo] = []
    for scanned, commit in enumerate(repo.walk(head.id, SortMode.TIME)):
        if scanned >= MAX_LOG_SCAN or len(commits) >= limit:
            break
        if path is None or _touches(commit, path):
            commits.append(commit_info(commit))
    return commits


def blame_file(repo: pygit2.Repository, path: str) -> Blame:
    head = head_commit(repo)
    entry = tree_entry(head.tree if head else None, path)
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
                author=author_of(commit),
                time=when(commit.author),
                summary=summary_of(commit),
            )
        )
    return Blame(path=path, hunks=hunks)
