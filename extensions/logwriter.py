"""Writing attempts to the delivery log in batches.

One transaction per attempt costs more CPU than the attempt's HTTP request; under load
(hundreds of deliveries a second) that would take the core the edit fan-out needs. So
workers hand each settled attempt here and move on; whatever gathers while one batch is
being written goes in the next one, after a short wait to gather (group commit). Should
a batch fail to be written, its deliveries are still claimed in the database until their
lease runs out, and are then tried again: a delivery may come twice (receivers dedupe on
`webhook-id`), never not at all. A backlog beyond `max_pending` makes workers wait for
the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from extensions.outbox import Outbox, Settled

log = logging.getLogger("nexus.extensions")

MAX_BATCH = 500
GATHER_SECONDS = 0.05


class LogWriter:
    def __init__(self, outbox: Outbox, max_pending: int = 5000) -> None:
        self.outbox = outbox
        self.max_pending = max_pending
        self._pending: list[Settled] = []
        self._task: asyncio.Task[None] | None = None

    async def add(self, settled: Settled) -> None:
        self._pending.append(settled)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write(), name="webhooks:log")
        if len(self._pending) > self.max_pending:
            await asyncio.shield(self._task)

    async def _write(self) -> None:
        await asyncio.sleep(GATHER_SECONDS)  # let a batch gather: one transaction for many
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            try:
                await self.outbox.record(batch)
            except Exception:
                log.exception("writing %d webhook attempts to the log failed", len(batch))

    async def close(self) -> None:
        """Write what is pending (at shutdown, before the database closes)."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
        if self._pending:
            await self._write()
