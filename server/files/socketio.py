"""`explorer:changed` to explorer panels: what the workspace watcher saw on disk.

    server → client  explorer:changed {workspace, changes: [{path, kind}], overflow}

Each node forwards only what its own watcher saw, to its own joined sessions, so a
shared volume watched by several nodes does not announce a change twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.folders.watcher import FilesChanged

if TYPE_CHECKING:
    from server.bus import Envelope
    from server.hub import Hub


class ExplorerForwarder:
    """Bus `workspace.*.files` → this node's sessions in the workspace."""

    def __init__(self, hub: Hub, node_id: str) -> None:
        self.hub = hub
        self.node_id = node_id

    async def __call__(self, envelope: Envelope) -> None:
        change = envelope.event
        if not isinstance(change, FilesChanged) or envelope.origin != self.node_id:
            return
        payload = {
            "workspace": change.workspace_id,
            "changes": [c.model_dump(mode="json") for c in change.changes],
            "overflow": change.overflow,
        }
        await self.hub.emit_joined(change.workspace_id, "explorer:changed", payload)
