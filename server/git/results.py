"""What the git operations return (the shapes of the REST and command results), and
the error a workspace without a repository raises."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from server.errors import NexusError


class NotARepository(NexusError):
    """The workspace folder has no repository; clients offer to run `git.init`."""

    status = 409
    code = "not_a_repository"


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
