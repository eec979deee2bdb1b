"""Branches, in the worker thread: listing, creating, and switching with git's own
safety (a local change that would be overwritten refuses the switch)."""

from __future__ import annotations

import pygit2
from pygit2.enums import CheckoutNotify, CheckoutStrategy

from server.errors import Conflict, InvalidInput, NotFound
from server.git.objects import current_branch, head_commit
from server.git.results import Branch, BranchList

# Each part of a branch name is a file name under .git/refs, which git writes as
# `<part>.lock` first: longer parts fail with ENAMETOOLONG.
MAX_REF_PART_BYTES = 255 - len(".lock")


def check_branch_name(name: str) -> None:
    if not pygit2.reference_is_valid_name(f"refs/heads/{name}") or name.startswith("-"):
        raise InvalidInput(f"{name!r} is not a valid branch name")
    if any(len(part.encode()) > MAX_REF_PART_BYTES for part in name.split("/")):
        raise InvalidInput(f"branch name: each part must be at most {MAX_REF_PART_BYTES} bytes")


def list_branches(repo: pygit2.Repository) -> BranchList:
    current = current_branch(repo)
    branches = []
    for name in sorted(repo.branches.local):
        target = repo.branches.local[name].target
        branches.append(Branch(name=name, commit=str(target), current=name == current))
    if current is not None and current not in repo.branches.local:  # unborn
        branches.insert(0, Branch(name=current, commit=None, current=True))
    return BranchList(current=current, detached=repo.head_is_detached, branches=branches)


def add_branch(repo: pygit2.Repository, name: str) -> Branch:
    head = head_commit(repo)
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


def switch_branch(repo: pygit2.Repository, name: str) -> BranchList:
    branch = repo.branches.local.get(name)
    if branch is None:
        raise NotFound(f"unknown branch {name!r}")
    if current_branch(repo) == name:
        return list_branches(repo)
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
    return list_branches(repo)
