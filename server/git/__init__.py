"""Source control for one workspace folder, over pygit2 (libgit2 in this process, so no git
child processes to own).

libgit2 calls block, so each operation runs in a worker thread; operations on the same
repository take turns behind one lock, so that a commit never reads an index that a
concurrent stage is half-way through writing. The repository is the workspace folder
itself: a parent folder's repository is never picked up by accident.

Every path a user gives goes through `resolve_in_workspace`; git's refusals become
`NexusError`s whose messages say what to do next.

Modules: `repository` (the async `GitRepository`, its lock and thread), `status` (status,
diff, stage, unstage), `history` (commit, log, blame), `branches`, `objects` (shared
lookups), `results` (what the operations return) and `events` (`GitChanged` on the
bus); `commands.py`, `rest.py` and `socketio.py` are the `git.*` commands, REST routes
and `git:changed`, and `feature.py` plugs them into the server.
"""

from server.git.events import GitChanged
from server.git.history import MAX_LOG_SCAN
from server.git.repository import INITIAL_BRANCH, GitRepository
from server.git.results import (
    Blame,
    BlameHunk,
    Branch,
    BranchList,
    CommitInfo,
    FileDiff,
    FileState,
    GitStatus,
    InitResult,
    NotARepository,
    Person,
)
from server.git.status import MAX_DIFF_BYTES

__all__ = [
    "INITIAL_BRANCH",
    "MAX_DIFF_BYTES",
    "MAX_LOG_SCAN",
    "Blame",
    "BlameHunk",
    "Branch",
    "BranchList",
    "CommitInfo",
    "FileDiff",
    "FileState",
    "GitChanged",
    "GitRepository",
    "GitStatus",
    "InitResult",
    "NotARepository",
    "Person",
]
