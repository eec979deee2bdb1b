"""`explorer:changed` to explorer panels: what the workspace watcher saw on disk.

    server → client  explorer:changed {workspace, changes: [{path, kind}], overflow}

Each node forwards only what its own watcher saw, to its own joined sessions, so a
shared volume watched by several nodes does not announce a change twice.
"""

from __future__ import annotations

from server.folders.watcher import FilesChanged
from server.hub import Forwarder


class ExplorerForwarder(Forwarder[FilesChanged]):
    """Bus `workspace.*.files` → this node's sessions in the workspace."""

    kind = FilesChanged

    async def send(self, change: FilesChanged) -> None:
        payload = {
            "workspace": change.workspace_id,
            "changes": [c.model_dump(mode="json") for c in change.changes],
            "overflow": change.overflow,
        }
        await self.hub.emit_joined(change.workspace_id, "explorer:changed", payload)
