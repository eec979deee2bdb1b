"""Watching workspace folders: one watchfiles task per workspace someone has open here.

Two kinds of listener hear about changes. Local listeners (the collaboration rooms, which
merge out-of-band edits into live documents) get every raw change, ignored files
included, since a user may have `.env` open. Everyone else gets `FilesChanged` events on
the bus (`workspace.{id}.files`): batched, relative, and free of ignored paths, which is
what explorer panels, language servers and indexes want.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from watchfiles import Change, awatch

from server import metrics
from server.bus import Bus, Event
from server.folders.fileio import is_temp_file
from server.folders.ignore import IgnoreRules

log = logging.getLogger("nexus.watch")

DEBOUNCE_MS = 100  # changes within this window arrive as one batch
MAX_BATCH = 1000  # beyond this a batch says "refresh everything" instead of listing paths

RawChanges = set[tuple[Change, str]]
Listener = Callable[[str, Path, RawChanges], Awaitable[None]]


class ChangeKind(StrEnum):
    added = "added"
    modified = "modified"
    deleted = "deleted"


class FileChange(BaseModel):
    model_config = ConfigDict(frozen=True)
    path: str
    kind: ChangeKind


class FilesChanged(Event):
    """Files of a workspace changed on disk; `overflow` means too many to list: reload."""

    workspace_id: str
    changes: list[FileChange]
    overflow: bool = False


def files_topic(workspace_id: str) -> str:
    return f"workspace.{workspace_id}.files"


@dataclass
class _Watch:
    root: Path
    rules: IgnoreRules
    task: asyncio.Task[None]
    users: int = 0


class WorkspaceWatchers:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._watches: dict[str, _Watch] = {}
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def acquire(self, workspace_id: str, root: Path) -> None:
        """Start watching (if nobody here was) and count one more user."""
        watch = self._watches.get(workspace_id)
        if watch is None:
            root = root.resolve()
            task = asyncio.create_task(self._run(workspace_id, root), name=f"watch:{workspace_id}")
            watch = _Watch(root, IgnoreRules(root), task)
            self._watches[workspace_id] = watch
            metrics.WATCHED_WORKSPACES.set(len(self._watches))
        watch.users += 1

    def release(self, workspace_id: str) -> None:
        watch = self._watches.get(workspace_id)
        if watch is None:
            return
        watch.users -= 1
        if watch.users <= 0:
            del self._watches[workspace_id]
            watch.task.cancel()
            metrics.WATCHED_WORKSPACES.set(len(self._watches))

    def rules(self, workspace_id: str, root: Path) -> IgnoreRules:
        """The ignore rules of a workspace (shared with its watch, when there is one)."""
        watch = self._watches.get(workspace_id)
        return watch.rules if watch is not None else IgnoreRules(root)

    async def close(self) -> None:
        tasks = [watch.task for watch in self._watches.values()]
        self._watches.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, workspace_id: str, root: Path) -> None:
        stop = asyncio.Event()
        try:
            async for changes in awatch(
                root, debounce=DEBOUNCE_MS, step=20, recursive=True, stop_event=stop
            ):
                changes = {(c, p) for c, p in changes if not is_temp_file(Path(p))}
                if not changes:
                    continue
                metrics.WATCH_CHANGES.inc(len(changes))
                for listener in self._listeners:
                    try:
                        await listener(workspace_id, root, changes)
                    except Exception:
                        log.exception("a watch listener failed for %s", workspace_id)
                await self._publish(workspace_id, root, changes)
        except asyncio.CancelledError:
            stop.set()
            raise
        except Exception:
            log.exception("watching %s stopped", root)

    async def _publish(self, workspace_id: str, root: Path, raw: RawChanges) -> None:
        watch = self._watches.get(workspace_id)
        rules = watch.rules if watch is not None else IgnoreRules(root)
        latest = await asyncio.to_thread(_visible_changes, root, rules, raw)
        if not latest:
            return
        if len(latest) > MAX_BATCH:
            event = FilesChanged(workspace_id=workspace_id, changes=[], overflow=True)
        else:
            event = FilesChanged(
                workspace_id=workspace_id,
                changes=[FileChange(path=p, kind=k) for p, k in sorted(latest.items())],
            )
        await self.bus.publish(files_topic(workspace_id), event)


def _visible_changes(root: Path, rules: IgnoreRules, raw: RawChanges) -> dict[str, ChangeKind]:
    """One change per path a user can see, keyed by workspace-relative path.

    A batch is a set, so its order is lost: what the path is now decides (gone: deleted;
    there and added within the batch: added; otherwise modified).
    """
    seen: dict[str, set[Change]] = {}
    for change, absolute in raw:
        seen.setdefault(absolute, set()).add(change)
    latest: dict[str, ChangeKind] = {}
    for absolute, kinds in seen.items():
        path = Path(absolute)
        try:
            relative = path.relative_to(root).as_posix()
        except ValueError:
            continue
        exists = path.exists()
        if relative == "." or rules.ignored(relative, exists and path.is_dir()):
            continue
        if not exists:
            latest[relative] = ChangeKind.deleted
        elif Change.added in kinds:
            latest[relative] = ChangeKind.added
        else:
            latest[relative] = ChangeKind.modified
    return latest
