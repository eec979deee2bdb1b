"""Group commit: many small updates, few transactions.

A lone update starts its transaction at once, from `submit` itself (no task to wake
first). Updates that arrive while one is being written queue up and go together in the
next, so a burst costs one commit per batch rather than one per keystroke. Each update's
future resolves once it is durable.
"""

from __future__ import annotations

import asyncio
import logging

from server.collab.store import DocumentStore, PendingUpdate

log = logging.getLogger("nexus.collab")

MAX_BATCH = 1000

Queued = list[tuple[PendingUpdate, asyncio.Future[None]]]


class UpdateWriter:
    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self._queue: Queued = []
        self._writing: asyncio.Future[None] | None = None
        self._drained = asyncio.Event()
        self._drained.set()
        self.batches = 0

    def start(self) -> None:
        """Nothing to start: batches begin on demand."""

    async def close(self) -> None:
        """Finish what is queued."""
        await self._drained.wait()

    def submit(self, update: PendingUpdate) -> asyncio.Future[None]:
        """Queue an update; the future resolves once it is durable."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((update, future))
        self._drained.clear()
        if self._writing is None:
            self._write_next()
        return future

    async def write(self, update: PendingUpdate) -> None:
        await self.submit(update)

    def _write_next(self) -> None:
        batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        try:
            writing = self.store.start_append([update for update, _ in batch])
        except Exception as exc:  # could not even start: fail this batch, go on
            self._settle(batch, exc)
            self._after()
            return
        self._writing = writing
        writing.add_done_callback(lambda done: self._written(done, batch))

    def _written(self, done: asyncio.Future[None], batch: Queued) -> None:
        self._writing = None
        self.batches += 1
        error: BaseException | None
        if done.cancelled():
            error = asyncio.CancelledError("the write was cancelled")
        else:
            error = done.exception()
        if error is not None:
            log.error("persisting %d document updates failed: %r", len(batch), error)
        self._settle(batch, error)
        self._after()

    @staticmethod
    def _settle(batch: Queued, error: BaseException | None) -> None:
        for _, future in batch:
            if future.done():
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

    def _after(self) -> None:
        if self._queue:
            self._write_next()
        else:
            self._drained.set()
