"""The event bus: typed events, wildcard topics, request/reply, bounded queues.

bus = Bus()                       # or RedisBus(url) across nodes
await bus.start()
bus.subscribe("workspace.*.presence", on_presence)
await bus.publish("workspace.ab12.presence", PresenceChanged(...))
reply = await bus.request("core.ping", Ping(), timeout=1.0)
"""

from server.bus._bus import Bus, BusTimeout, RemoteError, default_node_id
from server.bus._events import Envelope, ErrorReply, Event
from server.bus._redis import RedisBus
from server.bus._subscription import OverflowPolicy, Subscription
from server.bus._topics import matches


def create_bus(redis_url: str | None, *, queue_size: int, node_id: str | None) -> Bus:
    """The in-process bus, or the Redis one when a Redis URL is configured."""
    if redis_url:
        return RedisBus(redis_url, queue_size=queue_size, node_id=node_id)
    return Bus(queue_size=queue_size, node_id=node_id)


__all__ = [
    "Bus",
    "BusTimeout",
    "Envelope",
    "ErrorReply",
    "Event",
    "OverflowPolicy",
    "RedisBus",
    "RemoteError",
    "Subscription",
    "create_bus",
    "default_node_id",
    "matches",
]
