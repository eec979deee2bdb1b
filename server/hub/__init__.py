"""The Socket.IO hub: connections, rooms, presence; events in, intents and bus events out."""

from server.hub.forward import Forwarder
from server.hub.presence import PresenceChanged, PresenceEntry, PresentUser
from server.hub.socket import Hub, SocketSession, room

__all__ = [
    "Forwarder",
    "Hub",
    "PresenceChanged",
    "PresenceEntry",
    "PresentUser",
    "SocketSession",
    "room",
]
