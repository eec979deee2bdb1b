"""`git:changed` to source-control panels, so they refresh.

    server → client  git:changed {workspace, action, username, branch, head}

Only the node where the change happened emits; the Socket.IO manager carries it to the
workspace's room on every node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.git.events import GitChanged

if TYPE_CHECKING:
    from server.bus import Envelope
    from server.hub import Hub


class GitForwarder:
    """Bus `workspace.*.git` → everyone in the workspace."""

    def __init__(self, hub: Hub, node_id: str) -> None:
        self.hub = hub
        self.node_id = node_id

    async def __call__(self, envelope: Envelope) -> None:
        change = envelope.event
        if not isinstance(change, GitChanged) or envelope.origin != self.node_id:
            return
        payload = {"workspace": change.workspace_id, **change.model_dump(exclude={"workspace_id"})}
        await self.hub.emit_room(change.workspace_id, "git:changed", payload)
