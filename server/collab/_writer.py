"""Group commit: many small updates, few transactions.

`write()` returns once the update is durable. While one transaction is being written,
new updates queue up and go together in the next, so a burst costs one fsync per batch
rather than one per keystroke, and a lone update is written at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.collab.store import DocumentStore, PendingUpdate

log = logging.getLogger("nexus.collab")

MAX_BATCH = 1000


class UpdateWriter:
    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self._queue: list[tuple[PendingUpdate, asyncio.Future[None]]] = []
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="collab-writer")

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        if self._task is None:
            return
        await self._drained.wait()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def submit(self, update: PendingUpdate) -> asyncio.Future[None]:
        """Queue an update; the future resolves once it is durable."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((update, future))
        self._drained.clear()
        self._wakeup.set()
        return future

    async def write(self, update: PendingUpdate) -> None:
        await self.submit(update)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                try:
                    await self.store.append([update for update, _ in batch])
                except Exception as exc:
                    log.exception("persisting %d document updates failed", len(batch))
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                self.batches += 1
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)
            self._drained.set()
