"""The bus across nodes, over Redis pub/sub.

Each node delivers its own events locally at once and publishes them to Redis; every
node listens on one pattern subscription and delivers what other nodes sent. Delivery
across nodes is at most once, like the in-process bus during a crash: durable state
(documents, audit) lives in the database, not on the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import redis.asyncio as redis

from server.bus._bus import Bus
from server.bus._events import Envelope

log = logging.getLogger("nexus.bus")

CHANNEL_PREFIX = "nexus:bus:"


class RedisBus(Bus):
    def __init__(self, url: str, *, queue_size: int = 1000, node_id: str | None = None) -> None:
        super().__init__(queue_size=queue_size, node_id=node_id)
        self.url = url
        self._redis = redis.Redis.from_url(url)
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    @property
    def spans_nodes(self) -> bool:
        return True

    async def start(self) -> None:
        await super().start()
        await self._redis.ping()
        self._listener = asyncio.create_task(self._listen(), name="bus:redis-listener")
        await self._listening.wait()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await super().close()
        await self._redis.aclose()

    async def _transmit(self, envelope: Envelope) -> None:
        payload = json.dumps(envelope.to_wire(), separators=(",", ":"))
        await self._redis.publish(CHANNEL_PREFIX + envelope.topic, payload)

    async def _listen(self) -> None:
        backoff = 0.1
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.psubscribe(CHANNEL_PREFIX + "*")
                    self._listening.set()
                    backoff = 0.1
                    async for message in pubsub.listen():
                        self._receive(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("redis bus listener lost its connection; retrying")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _receive(self, data: bytes) -> None:
        try:
            envelope = Envelope.from_wire(json.loads(data))
        except Exception:
            log.warning("dropping undecodable bus message (%d bytes)", len(data))
            return
        if envelope.origin != self.node_id:
            self.deliver(envelope)
