"""Writing the outbox in batches: new events and deliveries, and what attempts came to.

Every write transaction costs CPU on the core that relays people's edits and, on SQLite,
holds the one write lock the document log needs for every keystroke. So nothing here
writes per delivery: rows gather for `GATHER_SECONDS` and are written together (see
`Outbox.write`: one transaction, or on SQLite small chunks on the event loop). A
delivery is attempted at once, before its row is written; when its first attempt is
settled before that, the row is simply written in its final state.

Bounds and failures. The first attempt does not wait for the write, so a crash in that
window loses the event, as the bus would have before the outbox (events are at most
once until written; written deliveries are at least once: receivers dedupe on
`webhook-id`). A failed write is tried again with the next batch, up to `MAX_TRIES`;
a backlog over `max_pending` rows makes callers wait for the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from extensions import metrics
from extensions.outbox import EXCERPT_CHARS, Batch, Outbox, Settled

log = logging.getLogger("nexus.extensions")

GATHER_SECONDS = 0.1
MAX_TRIES = 3


class Journal:
    def __init__(self, outbox: Outbox, max_pending: int = 20_000) -> None:
        self.outbox = outbox
        self.max_pending = max_pending
        self._events: list[dict[str, Any]] = []
        self._deliveries: dict[str, dict[str, Any]] = {}  # not written yet, by id
        self._attempts: list[dict[str, Any]] = []
        self._moves: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self._failed: tuple[Batch, int] | None = None

    @property
    def pending(self) -> int:
        return len(self._deliveries) + len(self._attempts) + len(self._moves)

    async def add(self, event: dict[str, Any], deliveries: list[dict[str, Any]]) -> None:
        self._events.append(event)
        for row in deliveries:
            self._deliveries[row["id"]] = row
        await self._soon()

    async def settle(self, item: Settled) -> None:
        values = self.outbox.settled_values(item)
        result = item.result
        self._attempts.append(
            {
                "delivery_id": item.job.id,
                "at": item.at,
                "status_code": result.status_code,
                "latency_ms": result.latency_ms,
                "response_excerpt": result.excerpt[:EXCERPT_CHARS] if result.excerpt else None,
                "error": result.error,
            }
        )
        row = self._deliveries.get(item.job.id)
        if row is not None:
            row.update(values)  # not written yet: written as it is now
        else:
            self._moves.append({"b_id": item.job.id, **{_BIND[k]: v for k, v in values.items()}})
        await self._soon()

    async def _soon(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write(), name="webhooks:journal")
        if self.pending > self.max_pending:
            await asyncio.shield(self._task)

    def _take(self) -> Batch:
        batch = Batch(self._events, list(self._deliveries.values()), self._attempts, self._moves)
        self._events, self._deliveries, self._attempts, self._moves = [], {}, [], []
        return batch

    async def _write(self) -> None:
        """Every `GATHER_SECONDS` while there is something to write: one batch."""
        while True:
            await asyncio.sleep(GATHER_SECONDS)
            if self._failed is not None:
                batch, tries = self._failed
                self._failed = None
            else:
                batch, tries = self._take(), 0
            if not batch:
                return
            try:
                await self.outbox.write(batch)
            except Exception:
                log.exception("writing %d webhook deliveries failed", len(batch.deliveries))
                if tries + 1 < MAX_TRIES:
                    self._failed = (batch, tries + 1)
                else:
                    metrics.LOST.inc(len(batch.deliveries))

    async def close(self) -> None:
        """Write what is pending (at shutdown, before the database closes)."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        if self.pending or self._events:
            await self._write()
        self.outbox.close()


_BIND = {
    "status": "b_status",
    "attempts": "b_attempts",
    "next_attempt_at": "b_next",
    "claimed_by": "b_by",
    "claimed_until": "b_until",
    "last_status": "b_code",
    "last_error": "b_error",
    "updated_at": "b_at",
}
