"""`git:changed` to source-control panels, so they refresh.

    server → client  git:changed {workspace, action, username, branch, head}

Only the node where the change happened emits; the Socket.IO manager carries it to the
workspace's room on every node.
"""

from __future__ import annotations

from server.git.events import GitChanged
from server.hub import Forwarder


class GitForwarder(Forwarder[GitChanged]):
    """Bus `workspace.*.git` → everyone in the workspace."""

    kind = GitChanged

    async def send(self, change: GitChanged) -> None:
        payload = {"workspace": change.workspace_id, **change.model_dump(exclude={"workspace_id"})}
        await self.hub.emit_room(change.workspace_id, "git:changed", payload)
