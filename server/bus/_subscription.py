"""One subscriber: a bounded queue drained by its own task.

Publishing never waits for a subscriber. When a queue is full the policy decides what
goes: `drop_oldest` (the default: a lagging subscriber sees the newest state, which suits
presence and status events) or `drop_newest` (keep what was queued first). Either way
the drop is counted, logged once per burst, and memory stays bounded.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from server import metrics
from server.bus._events import Envelope
from server.bus._topics import compile_pattern

log = logging.getLogger("nexus.bus")

Handler = Callable[[Envelope], Awaitable[Any]]


class OverflowPolicy(StrEnum):
    drop_oldest = "drop_oldest"
    drop_newest = "drop_newest"


class Subscription:
    def __init__(
        self,
        pattern: str,
        handler: Handler,
        *,
        name: str,
        queue_size: int,
        policy: OverflowPolicy,
        on_result: Callable[[Envelope, Any], Awaitable[None]] | None = None,
        on_close: Callable[[Subscription], None] | None = None,
    ) -> None:
        self.pattern = pattern
        self.name = name
        self.policy = policy
        self.dropped = 0
        self._regex = compile_pattern(pattern)
        self._handler = handler
        self._on_result = on_result
        self._on_close = on_close
        self._queue: deque[Envelope] = deque(maxlen=queue_size)
        self._ready = asyncio.Event()
        self._overflowing = False
        self._depth = metrics.BUS_QUEUE_DEPTH.labels(name)
        self._task = asyncio.get_running_loop().create_task(self._drain(), name=f"bus:{name}")

    def matches(self, topic: str) -> bool:
        return self._regex.match(topic) is not None

    def offer(self, envelope: Envelope) -> None:
        """Queue an event without waiting; applies the overflow policy."""
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
            metrics.BUS_DROPPED.labels(self.name).inc()
            if not self._overflowing:
                self._overflowing = True
                log.warning("bus subscriber %s is full; %s", self.name, self.policy.value)
            if self.policy is OverflowPolicy.drop_newest:
                return
        self._queue.append(envelope)  # a full deque drops its oldest item itself
        self._depth.set(len(self._queue))
        self._ready.set()

    async def _drain(self) -> None:
        while True:
            await self._ready.wait()
            while self._queue:
                envelope = self._queue.popleft()
                self._depth.set(len(self._queue))
                await self._handle(envelope)
            self._overflowing = False
            self._ready.clear()

    async def _handle(self, envelope: Envelope) -> None:
        try:
            result = await self._handler(envelope)
            metrics.BUS_DELIVERED.labels(self.name).inc()
            if self._on_result is not None:
                await self._on_result(envelope, result)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            metrics.BUS_HANDLER_ERRORS.labels(self.name).inc()
            log.exception("bus subscriber %s failed on %s", self.name, envelope.topic)
            if self._on_result is not None:
                await self._on_result(envelope, exc)

    def close(self) -> None:
        self._task.cancel()
        self._queue.clear()
        self._depth.set(0)
        if self._on_close is not None:
            self._on_close(self)
