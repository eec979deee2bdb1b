"""The event bus: topics, subscriptions and request/reply, delivered in this process.

`Bus` is the in-process backend. `RedisBus` (in `_redis.py`) adds a transport between
nodes and keeps this interface, so callers never know which one they hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Any

from server import metrics
from server.bus._events import Envelope, ErrorReply, Event
from server.bus._subscription import Handler, OverflowPolicy, Subscription
from server.bus._topics import validate_topic
from server.errors import NexusError, Timeout

log = logging.getLogger("nexus.bus")

REPLY_PREFIX = "_reply"


class BusTimeout(Timeout):
    code = "bus_timeout"


class RemoteError(NexusError):
    """The responder to a request failed; carries its code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def default_node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Bus:
    def __init__(self, *, queue_size: int = 1000, node_id: str | None = None) -> None:
        self.node_id = node_id or default_node_id()
        self.queue_size = queue_size
        self._subscriptions: list[Subscription] = []
        self._pending: dict[str, asyncio.Future[Event]] = {}
        self._reply_topic = f"{REPLY_PREFIX}.{self.node_id.replace('.', '_')}"
        self._reply_subscription: Subscription | None = None

    @property
    def spans_nodes(self) -> bool:
        """Whether events reach other nodes (lets callers skip work meant only for them)."""
        return False

    async def start(self) -> None:
        self._reply_subscription = self.subscribe(
            self._reply_topic, self._resolve_reply, name="bus.replies"
        )

    async def close(self) -> None:
        for subscription in list(self._subscriptions):
            subscription.close()
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()

    async def __aenter__(self) -> Bus:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- subscribing -------------------------------------------------------------

    def subscribe(
        self,
        pattern: str,
        handler: Handler,
        *,
        name: str | None = None,
        queue_size: int | None = None,
        policy: OverflowPolicy = OverflowPolicy.drop_oldest,
    ) -> Subscription:
        """Call `handler` for each event whose topic matches `pattern`, in order.

        Returns the subscription; `close()` it to stop.
        """
        subscription = Subscription(
            pattern,
            handler,
            name=name or str(getattr(handler, "__qualname__", pattern)),
            queue_size=queue_size or self.queue_size,
            policy=policy,
            on_close=self._forget,
        )
        self._subscriptions.append(subscription)
        return subscription

    def handle(self, topic: str, responder: Handler, *, name: str | None = None) -> Subscription:
        """Answer requests on `topic`: the responder's return value (an Event) is the reply."""
        subscription = Subscription(
            topic,
            responder,
            name=name or str(getattr(responder, "__qualname__", topic)),
            queue_size=self.queue_size,
            policy=OverflowPolicy.drop_newest,
            on_result=self._send_reply,
            on_close=self._forget,
        )
        self._subscriptions.append(subscription)
        return subscription

    def _forget(self, subscription: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscriptions.remove(subscription)

    # -- publishing --------------------------------------------------------------

    async def publish(
        self,
        topic: str,
        event: Event,
        *,
        correlation_id: str | None = None,
        reply_to: str | None = None,
    ) -> None:
        """Hand `event` to every matching subscriber, here and on other nodes. Never blocks
        on a subscriber."""
        envelope = Envelope(
            topic=validate_topic(topic),
            event=event,
            origin=self.node_id,
            correlation_id=correlation_id,
            reply_to=reply_to,
        )
        metrics.BUS_PUBLISHED.inc()
        self.deliver(envelope)
        if not topic.startswith(self._reply_topic):
            await self._transmit(envelope)

    def deliver(self, envelope: Envelope) -> None:
        """Offer an envelope to this node's matching subscribers."""
        for subscription in self._subscriptions:
            if subscription.matches(envelope.topic):
                subscription.offer(envelope)

    async def _transmit(self, envelope: Envelope) -> None:
        """Send an envelope to other nodes; the in-process bus has none."""

    # -- request / reply ---------------------------------------------------------

    async def request(self, topic: str, event: Event, *, timeout: float = 5.0) -> Event:
        """Publish `event` and wait for one reply; `BusTimeout` if none comes in time."""
        correlation_id = uuid.uuid4().hex
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        try:
            await self.publish(
                topic, event, correlation_id=correlation_id, reply_to=self._reply_topic
            )
            async with asyncio.timeout(timeout):
                reply = await future
        except TimeoutError:
            raise BusTimeout(f"no reply on {topic!r} within {timeout:g} s") from None
        finally:
            self._pending.pop(correlation_id, None)
        if isinstance(reply, ErrorReply):
            raise RemoteError(reply.code, reply.message)
        return reply

    async def _send_reply(self, envelope: Envelope, result: Any) -> None:
        if envelope.reply_to is None or envelope.correlation_id is None:
            return
        if isinstance(result, NexusError):
            reply: Event = ErrorReply(code=result.code, message=result.message)
        elif isinstance(result, Exception):
            reply = ErrorReply(code="internal", message=f"{type(result).__name__}: {result}")
        elif isinstance(result, Event):
            reply = result
        else:
            reply = ErrorReply(code="internal", message="responder returned no event")
        await self.publish(envelope.reply_to, reply, correlation_id=envelope.correlation_id)

    async def _resolve_reply(self, envelope: Envelope) -> None:
        future = self._pending.get(envelope.correlation_id or "")
        if future is not None and not future.done():
            future.set_result(envelope.event)
