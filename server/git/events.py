"""What the git feature announces on the bus (`workspace.<id>.git`)."""

from __future__ import annotations

from server.bus import Event


class GitChanged(Event):
    """A workspace's repository changed (staged, committed, switched, created, …), so
    source-control panels refresh."""

    workspace_id: str
    action: str
    username: str
    branch: str | None = None
    head: str | None = None
