"""Bus events to Socket.IO: what every feature's forwarder shares.

A feature announces a change on the bus once, from the node where it happened; every
node's subscribers hear it. A forwarder sends it to sockets from that node only (the
Socket.IO manager, or each node's own watcher, reaches the rest), so nobody gets it twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

from server.bus import Envelope, Event

if TYPE_CHECKING:
    from server.hub.socket import Hub

E = TypeVar("E", bound=Event)


class Forwarder(Generic[E]):
    """Forwards the `kind` events this node published; subclasses say how (`send`)."""

    kind: type[E]

    def __init__(self, hub: Hub, node_id: str) -> None:
        self.hub = hub
        self.node_id = node_id

    async def __call__(self, envelope: Envelope) -> None:
        event = envelope.event
        if isinstance(event, self.kind) and envelope.origin == self.node_id:
            await self.send(event)

    async def send(self, event: E) -> None:
        raise NotImplementedError
