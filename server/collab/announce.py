"""What collaboration tells the rest of the server: a shared document was edited, and its
file was saved by the write-back — each at most once a second per document (trailing:
the last change is always told), so listeners such as webhooks are not flooded while
people type. Both come from the node that writes the file (its owner), so each reaches
the bus once however many nodes serve the document.

Topics: `workspace.<id>.edited` (`DocumentEdited`), `workspace.<id>.saved` (`FileSaved`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from server.bus import Bus, Event

if TYPE_CHECKING:
    from server.collab.room import Room, RoomKey

log = logging.getLogger("nexus.collab")

EDIT_ANNOUNCE_SECONDS = 1.0


class DocumentEdited(Event):
    """A shared document changed (trailing, at most one per document per second)."""

    workspace_id: str
    path: str
    length: int  # characters of the text now


class FileSaved(Event):
    """A workspace file was written: `editor` by a shared document's write-back, `api` by
    a write over REST or a command."""

    workspace_id: str
    path: str
    source: str


class Announcer:
    def __init__(self, bus: Bus, delay: float = EDIT_ANNOUNCE_SECONDS) -> None:
        self.bus = bus
        self.delay = delay
        self._pending: dict[tuple[str, RoomKey], asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def edited(self, room: Room) -> None:
        """Called on every change: costs one dict lookup unless an announcement is due."""
        self._soon("edited", room)

    def written(self, room: Room) -> None:
        """The write-back saved the document's file."""
        self._soon("saved", room)

    def _soon(self, kind: str, room: Room) -> None:
        if (kind, room.key) in self._pending:
            return
        loop = asyncio.get_running_loop()
        self._pending[kind, room.key] = loop.call_later(self.delay, self._fire, kind, room)

    def _fire(self, kind: str, room: Room) -> None:
        self._pending.pop((kind, room.key), None)
        workspace_id, path = room.key.workspace_id, room.key.path
        event: Event
        if kind == "edited":
            event = DocumentEdited(workspace_id=workspace_id, path=path, length=len(room.source))
        else:
            event = FileSaved(workspace_id=workspace_id, path=path, source="editor")
        self._spawn(f"workspace.{workspace_id}.{kind}", event)

    async def saved(self, workspace_id: str, path: str, source: str) -> None:
        """A file written other than by the write-back (REST, a command): told at once."""
        event = FileSaved(workspace_id=workspace_id, path=path, source=source)
        await self._publish(f"workspace.{workspace_id}.saved", event)

    def _spawn(self, topic: str, event: Event) -> None:
        task = asyncio.create_task(self._publish(topic, event), name="collab:announce")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, topic: str, event: Event) -> None:
        try:
            await self.bus.publish(topic, event)
        except Exception:
            log.exception("announcing %s failed", topic)

    async def close(self) -> None:
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
