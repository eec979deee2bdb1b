"""Keeping an open document and its file in step: saving it (merging changes made on
disk first), merging what other programs wrote, and taking turns with other nodes so
that only the one owning the file writes it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from server.collab.disk import WriteBack, read_text
from server.collab.room import Room
from server.collab.store import DocumentStore, StoredDocument
from server.collab.text import merge3
from server.errors import NexusError
from server.folders.fileio import write_atomic
from server.leases import LEASE_SECONDS, Leases

log = logging.getLogger("nexus.collab")

WAIT_FOR_OWNER_SECONDS = 1.0  # how long a flush waits for the node owning the file


@dataclass
class OpenDocument:
    room: Room
    path: Path
    workspace_root: Path
    writeback: WriteBack
    disk_text: str | None
    users: int = 0
    unload_task: asyncio.Task[None] | None = None
    appended: int = 0
    compacting: bool = False
    compact_task: asyncio.Task[None] | None = None
    # Saving and merging from disk take turns: otherwise the watcher could see our own
    # write before `disk_text` records it and merge our text in a second time.
    disk_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # Whether this node writes the file and merges others' changes to it (see `owners`);
    # elsewhere `disk_text` is only what this node last saw in the file.
    owner: bool = False
    retry: asyncio.TimerHandle | None = None


class FileSync:
    def __init__(self, store: DocumentStore, owners: Leases, max_file_bytes: int) -> None:
        self.store = store
        self.owners = owners
        self.max_file_bytes = max_file_bytes

    async def read(self, path: Path) -> str | None:
        return await asyncio.to_thread(read_text, path, self.max_file_bytes)

    async def load_from_disk(
        self, document: OpenDocument, stored: StoredDocument, disk: str | None
    ) -> None:
        """Bring what is on disk into a document this node owns, as it loads."""
        room = document.room
        if not stored.has_history:
            # No history: the file is the truth.
            if disk:
                await room.replace_text(disk)
        elif disk is not None:
            base = document.disk_text if document.disk_text is not None else room.source
            await room.replace_text(merge3(base, room.source, disk))
        if disk is not None and disk != document.disk_text:
            document.disk_text = disk
            await self.store.set_disk_text(room.document_id, disk)
        if room.source != (disk or ""):
            document.writeback.changed()  # the log was ahead of the file (e.g. after a crash)

    async def flush(self, document: OpenDocument) -> None:
        await document.writeback.flush()
        if document.owner:
            return
        # Another node writes this file: give it a moment to write what we have.
        with contextlib.suppress(TimeoutError, NexusError):
            async with asyncio.timeout(WAIT_FOR_OWNER_SECONDS):
                while True:
                    if await self.read(document.path) == document.room.source:
                        return
                    await asyncio.sleep(0.02)

    async def _own(self, document: OpenDocument) -> bool:
        """Whether this node keeps the file in step now. A node taking the file over
        from another starts from what that one last wrote, recorded in the database
        before the file, so that it does not take that write for someone else's edit."""
        owner = await self.owners.claim(document.room.document_id)
        if owner and not document.owner:
            document.disk_text = await self.store.disk_text(document.room.document_id)
        document.owner = owner
        return owner

    async def save(self, document: OpenDocument) -> None:
        """Write the document to its file, first merging any change made on disk."""
        async with document.disk_lock:
            if not await self._own(document):
                self._retry_save_later(document)
                return
            await self._merge_disk_change(document)
            text = document.room.source
            if text != document.disk_text:
                await self.store.set_disk_text(document.room.document_id, text)
                await asyncio.to_thread(write_atomic, document.path, text)
                document.disk_text = text

    def _retry_save_later(self, document: OpenDocument) -> None:
        """Not ours to write; but should the owner go away before writing what we have,
        we must: look again later, for as long as the file lags behind."""
        if document.retry is not None:
            document.retry.cancel()
            document.retry = None
        if document.room.source != document.disk_text:
            document.retry = asyncio.get_running_loop().call_later(
                LEASE_SECONDS / 2, document.writeback.changed
            )

    async def merge_from_disk(self, document: OpenDocument) -> None:
        async with document.disk_lock:
            if await self._own(document):
                await self._merge_disk_change(document)
                return
            # The owner merges changes to the file; here it only tells how far it lags.
            with contextlib.suppress(NexusError):
                document.disk_text = await self.read(document.path)

    async def _merge_disk_change(self, document: OpenDocument) -> None:
        try:
            disk = await self.read(document.path)
        except NexusError as exc:
            log.warning("not merging %s from disk: %s", document.path, exc.message)
            return
        if disk is None or disk == document.disk_text:
            return
        base = document.disk_text if document.disk_text is not None else document.room.source
        merged = merge3(base, document.room.source, disk)
        await self.store.set_disk_text(document.room.document_id, disk)
        document.disk_text = disk
        await document.room.replace_text(merged)
        if merged != disk:
            document.writeback.changed()
