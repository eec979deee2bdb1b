"""All open documents of this node: loading, merging with disk, unloading, and the
messages that keep the same document converged across nodes. How a document and its
file stay in step (saving, merging, which node writes) is `_filesync`'s."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from pathlib import Path

from watchfiles import Change

from server import metrics
from server.bus import Bus, Envelope, Event, OverflowPolicy, Subscription
from server.collab._filesync import FileSync, OpenDocument
from server.collab._writer import UpdateWriter
from server.collab.announce import Announcer
from server.collab.disk import WriteBack
from server.collab.room import DocumentChanged, Room, RoomKey
from server.collab.store import DocumentStore
from server.errors import NexusError
from server.folders.watcher import RawChanges, WorkspaceWatchers
from server.leases import Leases

log = logging.getLogger("nexus.collab")

COMPACT_EVERY = 500  # updates appended to a document's log before it is folded


CLOSE_GONE = 4410  # the file was deleted or moved; the reason says which


class DocumentsForgotten(Event):
    """Documents at a path (a file, or a folder's files) were deleted or moved."""

    workspace_id: str
    path: str
    reason: str


class TooManyRooms(NexusError):
    status = 503
    code = "too_many_documents"


class Rooms:
    def __init__(
        self,
        store: DocumentStore,
        bus: Bus,
        watchers: WorkspaceWatchers,
        *,
        node_id: str,
        max_rooms: int,
        grace_seconds: float,
        max_file_bytes: int,
        owners: Leases | None = None,
    ) -> None:
        self.store = store
        self.owners = owners or Leases()
        self.bus = bus
        self.watchers = watchers
        self.node_id = node_id
        self.max_rooms = max_rooms
        self.grace_seconds = grace_seconds
        self.max_file_bytes = max_file_bytes
        self.writer = UpdateWriter(store)
        self.sync = FileSync(store, self.owners, max_file_bytes)
        self.announcer = Announcer(bus)
        self._open: dict[RoomKey, OpenDocument] = {}
        self._by_id: dict[int, OpenDocument] = {}
        self._loading: dict[RoomKey, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._subscription: Subscription | None = None
        self._dropped_seen = 0

    async def start(self) -> None:
        self.writer.start()
        self.watchers.add_listener(self._files_changed)
        self._subscription = self.bus.subscribe(
            "collab.#",
            self._remote_change,
            name="collab.remote",
            queue_size=20_000,
            policy=OverflowPolicy.drop_newest,
        )

    async def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
        for document in list(self._open.values()):
            await self._unload(document, force=True)
        await self.announcer.close()
        await self.writer.close()
        await self.owners.close()
        self.store.close()

    def __len__(self) -> int:
        return len(self._open)

    # -- acquiring and releasing ------------------------------------------------------

    async def acquire(self, key: RoomKey, path: Path, workspace_root: Path) -> Room:
        """The room for a document, loaded (and merged with its file) on first use."""
        async with self._loading[key]:
            document = self._open.get(key)
            if document is not None and document.room.broken:
                await self._unload_now(document)
                document = None
            if document is None:
                await self._make_room_for_one_more()
                document = await self._load(key, path, workspace_root)
            document.users += 1
            if document.unload_task is not None:
                document.unload_task.cancel()
                document.unload_task = None
            return document.room

    async def release(self, room: Room) -> None:
        document = self._open.get(room.key)
        if document is None or document.room is not room:
            return  # already unloaded (and perhaps reloaded as another room)
        document.users -= 1
        if document.users <= 0 and document.unload_task is None:
            document.unload_task = asyncio.create_task(self._unload_later(document))

    async def _unload_later(self, document: OpenDocument) -> None:
        await asyncio.sleep(self.grace_seconds)
        if document.users <= 0:
            document.unload_task = None
            await self._unload(document)

    async def _make_room_for_one_more(self) -> None:
        if len(self._open) < self.max_rooms:
            return
        idle = [d for d in self._open.values() if d.users <= 0]
        for document in idle[: len(self._open) - self.max_rooms + 1]:
            await self._unload(document)
        if len(self._open) >= self.max_rooms:
            raise TooManyRooms(f"this node has {self.max_rooms} documents open; try later")

    # -- loading and unloading ----------------------------------------------------------

    async def _load(self, key: RoomKey, path: Path, workspace_root: Path) -> OpenDocument:
        disk = await self.sync.read(path)
        stored = await self.store.open(key.workspace_id, key.path)
        owner = await self.owners.claim(stored.id)
        if owner and disk is None and stored.has_history and stored.disk_text is not None:
            # We had written the file and it is gone: deleted while nobody had it open.
            await self.store.retire(key.workspace_id, key.path)
            stored = await self.store.open(key.workspace_id, key.path)
        room = Room(key, stored, writer=self.writer, bus=self.bus, on_change=self._changed)
        document = OpenDocument(
            room=room,
            path=path,
            workspace_root=workspace_root,
            writeback=WriteBack(lambda: self._save(document)),
            disk_text=stored.disk_text,
            owner=owner,
        )
        if owner:
            await self.sync.load_from_disk(document, stored, disk)
        else:
            # Another node keeps the file: only follow it (and step in should it stop).
            document.disk_text = disk
            if room.source != (disk or ""):
                document.writeback.changed()
        self._open[key] = document
        self._by_id[room.document_id] = document
        metrics.COLLAB_ROOMS.set(len(self._open))
        self.watchers.acquire(key.workspace_id, workspace_root)
        if self.bus.spans_nodes:
            # Updates other nodes made durable while this one was loading were not
            # delivered here (the room was not registered yet): read them back.
            room.resync(await self.store.open(key.workspace_id, key.path))
        return document

    async def _unload(self, document: OpenDocument, *, force: bool = False) -> None:
        """Unload under the document's lock, so nobody acquires it half-unloaded."""
        async with self._loading[document.room.key]:
            await self._unload_now(document, force=force)

    async def _unload_now(
        self,
        document: OpenDocument,
        *,
        force: bool = False,
        gone: str | None = None,
    ) -> None:
        """Save, close the peers, compact, forget. `gone` says why the file no longer
        exists here (deleted, moved): then nothing is saved or compacted."""
        key = document.room.key
        if self._open.get(key) is not document:
            return
        if document.users > 0 and not (force or gone or document.room.broken):
            return  # someone opened it again meanwhile
        if not document.room.broken:
            # Also when the file is going away: a save cut short could land after the
            # caller deleted the file and bring it back.
            await document.writeback.flush()
        if document.unload_task is not None:
            document.unload_task.cancel()
            document.unload_task = None
        for peer in list(document.room.peers.values()):
            await document.room.leave(peer)
            if gone is not None:
                await peer.close(CLOSE_GONE, gone)
            else:
                await peer.close(1001, "the document was closed on the server")
        if gone is not None:
            document.writeback.cancel()  # edits that raced the closing peers
        if document.retry is not None:
            document.retry.cancel()
        if document.owner:
            await self.owners.release(document.room.document_id)
        del self._open[key]
        self._by_id.pop(document.room.document_id, None)
        metrics.COLLAB_ROOMS.set(len(self._open))
        if gone is None and document.appended:
            await self._compact(document)
        elif document.compact_task is not None:
            with contextlib.suppress(Exception):
                await document.compact_task
        self.watchers.release(key.workspace_id)

    # -- files deleted and moved ---------------------------------------------------------

    async def forget(self, workspace_id: str, path: str, reason: str) -> None:
        """The file or folder at `path` was deleted or moved: close its open documents
        (code 4410 with `reason`) without saving them, here and on other nodes, and start
        their stored history over so that nobody's old copy brings the file back."""
        await self._forget_open(workspace_id, path, reason)
        await self.store.retire(workspace_id, path)
        if self.bus.spans_nodes:
            await self.bus.publish(
                f"collab.{workspace_id}.forget",
                DocumentsForgotten(workspace_id=workspace_id, path=path, reason=reason),
            )

    async def _forget_open(self, workspace_id: str, path: str, reason: str) -> None:
        for document in list(self._open.values()):
            key = document.room.key
            if key.workspace_id == workspace_id and (
                key.path == path or key.path.startswith(f"{path}/")
            ):
                async with self._loading[key]:
                    await self._unload_now(document, gone=reason)

    def get(self, workspace_id: str, path: str) -> Room | None:
        """The open (live) document at `path`, if any; None when it is only on disk."""
        document = self._open.get(RoomKey(workspace_id, path))
        return None if document is None or document.room.broken else document.room

    async def merge_now(self, workspace_id: str, path: str) -> None:
        """A program told us it wrote `path` (a REST write): merge it into the open
        document now rather than when the watcher notices."""
        document = self._open.get(RoomKey(workspace_id, path))
        if document is not None and not document.room.broken:
            await self.sync.merge_from_disk(document)

    async def flush_document(self, workspace_id: str, path: str) -> None:
        """Write one open document to disk now (before its file is read or replaced)."""
        document = self._open.get(RoomKey(workspace_id, path))
        if document is not None and not document.room.broken:
            await self.sync.flush(document)

    # -- keeping the file and the document in step --------------------------------------

    async def flush(self, workspace_id: str) -> None:
        """Write every open document of a workspace to disk now, so that programs that
        read the files (git, search, a test run) see what collaborators typed."""
        for document in list(self._open.values()):
            if document.room.key.workspace_id == workspace_id and not document.room.broken:
                await self.sync.flush(document)

    def _changed(self, room: Room) -> None:
        document = self._open.get(room.key)
        if document is None or document.room is not room:
            return
        document.writeback.changed()
        if document.owner:
            self.announcer.edited(room)
        document.appended += 1
        if document.appended % COMPACT_EVERY == 0 and not document.compacting:
            document.compact_task = asyncio.create_task(self._compact(document))

    async def _save(self, document: OpenDocument) -> None:
        before = document.disk_text
        await self.sync.save(document)
        if document.disk_text != before:
            self.announcer.written(document.room)

    async def _files_changed(self, workspace_id: str, root: Path, changes: RawChanges) -> None:
        """Merge changes other programs made to open documents' files."""
        changed = {Path(raw) for change, raw in changes if change != Change.deleted}
        for document in list(self._open.values()):
            if document.room.key.workspace_id == workspace_id and document.path in changed:
                await self.sync.merge_from_disk(document)

    async def _compact(self, document: OpenDocument) -> None:
        document.compacting = True
        try:
            folded = await self.store.compact(document.room.document_id)
            log.debug("compacted %s: %d updates", document.room.key.path, folded)
        except Exception:
            log.exception("compacting %s failed", document.room.key.path)
        finally:
            document.compacting = False

    # -- other nodes -------------------------------------------------------------------

    async def _remote_change(self, envelope: Envelope) -> None:
        change = envelope.event
        if envelope.origin == self.node_id:
            return
        if isinstance(change, DocumentsForgotten):
            await self._forget_open(change.workspace_id, change.path, change.reason)
            return
        if not isinstance(change, DocumentChanged):
            return
        document = self._by_id.get(change.document_id)
        if document is not None:
            document.room.apply_remote(change)
        await self._resync_after_drops()

    async def _resync_after_drops(self) -> None:
        """Messages from other nodes were dropped: catch every open room up from storage."""
        if self._subscription is None or self._subscription.dropped == self._dropped_seen:
            return
        self._dropped_seen = self._subscription.dropped
        for document in list(self._open.values()):
            key = document.room.key
            document.room.resync(await self.store.open(key.workspace_id, key.path))
