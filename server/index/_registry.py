"""Every workspace's index on this node: made on first use, fed by file-change events,
closed together. This is what the server holds; it keeps wiring to a few lines."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Protocol

from server.folders.ignore import IgnoreRules
from server.index._embed import Embedder
from server.index._service import CodeIndex, IndexState
from server.index._store import VectorStore

WorkspaceProgress = Callable[[str, IndexState], Awaitable[None] | None]


class _Change(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def kind(self) -> str: ...


class _FilesChanged(Protocol):
    """What the watcher publishes (`server.folders.watcher.FilesChanged`)."""

    @property
    def workspace_id(self) -> str: ...

    @property
    def changes(self) -> Iterable[_Change]: ...

    @property
    def overflow(self) -> bool: ...


class CodeIndexes:
    """`open(workspace_id, root)` gives that workspace's running index.

    `state_root` holds one folder per workspace for its manifest; `on_progress` hears
    (workspace_id, state) for every workspace; `rules_for` may hand out the watcher's
    ignore rules so both share one cache.
    """

    def __init__(
        self,
        store: VectorStore,
        state_root: Path,
        *,
        embedder: Embedder | None = None,
        on_progress: WorkspaceProgress | None = None,
        rules_for: Callable[[str, Path], IgnoreRules] | None = None,
    ) -> None:
        self.store = store
        self.state_root = state_root
        self.embedder = embedder
        self.on_progress = on_progress
        self.rules_for = rules_for
        self._indexes: dict[str, CodeIndex] = {}
        self._lock = asyncio.Lock()

    def get(self, workspace_id: str) -> CodeIndex | None:
        return self._indexes.get(workspace_id)

    def open_workspaces(self) -> list[str]:
        return list(self._indexes)

    async def open(self, workspace_id: str, root: Path) -> CodeIndex:
        async with self._lock:
            index = self._indexes.get(workspace_id)
            if index is None:
                index = CodeIndex(
                    workspace_id,
                    root,
                    self.store,
                    self.state_root / _folder_name(workspace_id),
                    embedder=self.embedder,
                    on_progress=self._progress_for(workspace_id),
                    rules=self.rules_for(workspace_id, root) if self.rules_for else None,
                )
                self._indexes[workspace_id] = index
                await index.start()
            return index

    async def on_files_changed(self, event: _FilesChanged) -> None:
        """Feed a watcher batch to the workspace's index (if it has one here)."""
        index = self._indexes.get(event.workspace_id)
        if index is None:
            return
        if event.overflow:
            await index.rescan()
            return
        changes = list(event.changes)
        await index.remove_files(c.path for c in changes if str(c.kind) == "deleted")
        await index.update_files(c.path for c in changes if str(c.kind) != "deleted")

    async def close_workspace(self, workspace_id: str) -> None:
        index = self._indexes.pop(workspace_id, None)
        if index is not None:
            await index.close()

    async def close(self) -> None:
        indexes = list(self._indexes.values())
        self._indexes.clear()
        for index in indexes:
            await index.close()

    def _progress_for(self, workspace_id: str) -> Callable[[IndexState], Awaitable[None]] | None:
        listener = self.on_progress
        if listener is None:
            return None

        async def forward(state: IndexState) -> None:
            result = listener(workspace_id, state)
            if inspect.isawaitable(result):
                await result

        return forward


def _folder_name(workspace_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in workspace_id)
