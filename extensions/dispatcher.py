"""Webhook delivery: bus events in, signed POSTs out, retried on a schedule.

Flow. A bus subscription of its own (a bounded queue: publishing never waits for us)
hands each event to `on_event` on the node where it was published (`envelope.origin`),
so with several nodes an event becomes deliveries once. The event becomes one outbox
delivery per subscribed extension (the same `webhook-id` on every attempt); those this
node has room for go straight to the courier (a process of its own that signs and sends
them: see `courier`), and all are written to the database in the next batch
(`Journal`). A failed attempt is retried on the Standard Webhooks
schedule (0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h;
`NEXUS_WEBHOOK_RETRY_SCALE` shortens it) or after the receiver's `Retry-After`; a 410
disables the extension; after the last attempt the delivery is failed.

Bounds. Events wait in the subscription's queue (`NEXUS_WEBHOOK_QUEUE_SIZE`); should
delivery fall that far behind, the oldest waiting events are dropped and counted
(`nexus_bus_dropped_total{subscriber="extensions.webhooks"}`). Deliveries are never
dropped: a node holds at most 64 per concurrent attempt (`NEXUS_WEBHOOK_CONCURRENCY`);
the rest wait in the database for a poller with room. Retries due within 30 s are made
by the node that failed (it keeps the claim); later ones are claimed again by any node
when due. No order is promised.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from extensions import metrics, signing
from extensions.catalog import Occurrence, translate
from extensions.changes import Changes
from extensions.courier import Courier
from extensions.directory import Directory
from extensions.journal import Journal
from extensions.outbox import FAILED, PENDING, SUCCEEDED, Job, Outbox, Result, Settled
from extensions.store import Extension
from server.bus import Envelope
from server.storage.database import utcnow

log = logging.getLogger("nexus.extensions")

SCHEDULE_SECONDS = (
    0,
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    14 * 3600,
    20 * 3600,
    24 * 3600,
)
LOCAL_RETRY_SECONDS = 30.0
POLL_SECONDS = 1.0
BACKLOG_POLL_SECONDS = 0.1
PRUNE_SECONDS = 3600.0
MAX_RETRY_AFTER = 24 * 3600.0
HELD_PER_WORKER = 64


class Dispatcher:
    def __init__(
        self,
        outbox: Outbox,
        courier: Courier,
        directory: Directory,
        changes: Changes,
        *,
        node_id: str,
        scale: float,
        concurrency: int,
        log_days: float,
    ) -> None:
        self.outbox = outbox
        self.journal = Journal(outbox)
        self.courier = courier
        self.directory = directory
        self.changes = changes
        self.node_id = node_id
        self.scale = scale
        self.concurrency = concurrency
        self.capacity = concurrency * HELD_PER_WORKER
        self.log_days = log_days
        self._held = 0  # claimed here and not settled: with the courier, or waiting
        self._backlog = False  # deliveries were left for the poller
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()

    async def start(self) -> None:
        await self.outbox.release_mine()
        self.courier.start(self._settled)
        self._tasks = [asyncio.create_task(self._poll(), name="webhooks:poll")]
        self._tasks.append(asyncio.create_task(self._prune(), name="webhooks:prune"))

    async def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.courier.close()
        await self.journal.close()

    # -- events in -------------------------------------------------------------------

    async def on_event(self, envelope: Envelope) -> None:
        """A bus event: deliveries for every extension that subscribed and reaches it."""
        if envelope.origin != self.node_id:
            return  # its own node delivers it
        occurrence = translate(envelope.event)
        if occurrence is None:
            return
        targets = [
            extension
            for extension in self.directory.subscribed(occurrence.name)
            if await self.directory.role_in(extension, occurrence.workspace_id) is not None
        ]
        if targets:
            await self.send(occurrence, targets)

    async def send(self, occurrence: Occurrence, targets: list[Extension]) -> None:
        """One event row, one delivery row per extension; attempted at once when this
        node has room (claimed), else left in the outbox for a poller with room."""
        now = utcnow()
        body = json.dumps(
            {"type": occurrence.name, "timestamp": now.isoformat(), "data": occurrence.data},
            separators=(",", ":"),
        )
        event = {
            "id": signing.new_event_id(),
            "event": occurrence.name,
            "workspace_id": occurrence.workspace_id,
            "payload": body,
            "created_at": now,
        }
        claim = self._held + len(targets) <= self.capacity
        rows: list[dict[str, Any]] = [
            {
                "id": signing.new_message_id(),
                "extension_id": extension.id,
                "event_id": event["id"],
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "claimed_by": self.node_id if claim else None,
                "claimed_until": now + self.outbox.lease if claim else None,
                "last_status": None,
                "last_error": None,
                "created_at": now,
                "updated_at": now,
            }
            for extension in targets
        ]
        await self.journal.add(event, rows)
        metrics.QUEUED.inc(len(rows))
        if not claim:
            self._backlog = True
            return
        for row in rows:
            self._take(Job(row["id"], row["extension_id"], body, 0))

    async def redeliver(self, extension_id: str, delivery_id: str) -> None:
        self._take(await self.outbox.redeliver(extension_id, delivery_id))

    # -- attempts --------------------------------------------------------------------

    def _take(self, job: Job) -> None:
        self._held += 1
        self._attempt(job)

    def _attempt(self, job: Job) -> None:
        """Hand one attempt to the courier (its result comes back to `_settled`)."""
        extension = self.directory.get(job.extension_id)
        if extension is None or not extension.enabled:
            reason = "the extension is disabled" if extension else "the extension was deleted"
            self._background(self._give_up(job, reason))
            return
        self.courier.send(job, extension.webhook_url, extension.signing_secrets())

    async def _give_up(self, job: Job, reason: str) -> None:
        try:
            await self.outbox.give_up(job, reason)
        finally:
            self._held -= 1

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name="webhooks:give-up")
        self._tasks.append(task)
        task.add_done_callback(self._tasks.remove)

    async def _settled(self, job: Job, result: Result, wait: float | None) -> None:
        metrics.LATENCY.observe(result.latency_ms / 1000)
        kept = False
        try:
            kept = await self._settle(job, self.directory.get(job.extension_id), result, wait)
        finally:
            if not kept:
                self._held -= 1

    async def _settle(
        self, job: Job, extension: Extension | None, result: Result, wait: float | None
    ) -> bool:
        """Log the attempt and move the delivery on; whether this node keeps it for a
        retry soon."""
        attempts = job.attempts + 1
        status_code = result.status_code
        if status_code is not None and 200 <= status_code < 300:
            outcome, status, delay = "ok", SUCCEEDED, None
        elif status_code == 410:
            outcome, status, delay = "gone", FAILED, None
        elif attempts >= len(SCHEDULE_SECONDS):
            outcome, status, delay = "failed", FAILED, None
        else:
            outcome, status, delay = "retry", PENDING, self._delay(attempts, wait)
        metrics.ATTEMPTS.labels(outcome).inc()
        keep = delay is not None and delay <= LOCAL_RETRY_SECONDS
        now = utcnow()
        next_at = now + timedelta(seconds=delay) if delay is not None else None
        await self.journal.settle(Settled(job, result, status, next_at, keep, now))
        if outcome == "gone" and extension is not None:
            await self.changes.disable(extension, "the receiver answered 410 Gone")
        if keep and delay is not None:
            self._later(delay, Job(job.id, job.extension_id, job.payload, attempts))
        return keep

    def _delay(self, attempts: int, wait: float | None) -> float:
        """Seconds until the next attempt: the receiver's `Retry-After` when it gave one,
        else the schedule's (scaled)."""
        if wait is not None:
            return min(wait, MAX_RETRY_AFTER)
        return SCHEDULE_SECONDS[attempts] * self.scale

    def _later(self, delay: float, job: Job) -> None:
        loop = asyncio.get_running_loop()

        def due() -> None:
            self._timers.discard(timer)
            self._attempt(job)

        timer = loop.call_later(delay, due)
        self._timers.add(timer)

    # -- background ------------------------------------------------------------------

    async def _poll(self) -> None:
        """Claim due deliveries nobody holds (retries, and what did not fit in memory:
        while some is left over, every `BACKLOG_POLL_SECONDS`)."""
        while True:
            await asyncio.sleep(BACKLOG_POLL_SECONDS if self._backlog else POLL_SECONDS)
            room = self.capacity - self._held
            if room <= 0:
                continue
            try:
                jobs = await self.outbox.claim_due(min(room, 256))
            except Exception:
                log.exception("claiming due webhook deliveries failed")
                continue
            if len(jobs) < min(room, 256) and not self.journal.pending:
                self._backlog = False
            for job in jobs:
                self._take(job)

    async def _prune(self) -> None:
        while True:
            try:
                pruned = await self.outbox.prune(timedelta(days=self.log_days))
                if pruned:
                    log.info(
                        "pruned %d webhook deliveries older than %g days", pruned, self.log_days
                    )
            except Exception:
                log.exception("pruning the webhook delivery log failed")
            await asyncio.sleep(PRUNE_SECONDS)
