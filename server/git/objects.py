"""Lookups the git operations share, run in the worker thread: HEAD's commit, the
current branch, a tree's entries, and a commit as a `CommitInfo`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone

import pygit2

from server.git.results import CommitInfo, Person


def head_commit(repo: pygit2.Repository) -> pygit2.Commit | None:
    if repo.head_is_unborn:
        return None
    return repo.head.peel(pygit2.Commit)


def current_branch(repo: pygit2.Repository) -> str | None:
    """The branch HEAD points at, even before its first commit; None when detached."""
    if repo.head_is_detached:
        return None
    target = repo.references["HEAD"].target
    assert isinstance(target, str)
    return target.removeprefix("refs/heads/")


def tree_entry(tree: pygit2.Tree | None, path: str) -> pygit2.Object | None:
    if tree is None:
        return None
    try:
        return tree[path]
    except KeyError:
        return None


def tree_paths(tree: pygit2.Tree, prefix: str = "") -> Iterator[tuple[str, pygit2.Object]]:
    """Every file under a tree, with its path."""
    for entry in tree:
        name = f"{prefix}{entry.name}"
        if isinstance(entry, pygit2.Tree):
            yield from tree_paths(entry, name + "/")
        else:
            yield name, entry


def under(candidates: Iterable[str], path: str) -> list[str]:
    """The candidates that are `path` itself or lie in the folder `path`."""
    prefix = path + "/"
    return sorted(name for name in candidates if name == path or name.startswith(prefix))


def when(signature: pygit2.Signature) -> datetime:
    return datetime.fromtimestamp(signature.time, timezone(timedelta(minutes=signature.offset)))


def author_of(commit: pygit2.Commit) -> Person:
    return Person(name=commit.author.name, email=commit.author.email)


def summary_of(commit: pygit2.Commit) -> str:
    return commit.message.split("\n", 1)[0]


def commit_info(commit: pygit2.Commit) -> CommitInfo:
    return CommitInfo(
        id=str(commit.id),
        short_id=commit.short_id,
        summary=summary_of(commit),
        message=commit.message,
        author=author_of(commit),
        time=when(commit.author),
        parents=[str(parent) for parent in commit.parent_ids],
    )
