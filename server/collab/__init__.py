"""Real-time collaboration: shared Yjs documents over y-websocket and Socket.IO, made
durable in an append log, kept in step with their files on disk and across nodes."""

from server.collab._protocol import awareness_clients, read_state_vector
from server.collab.announce import DocumentEdited, FileSaved
from server.collab.room import DocumentChanged, Room, RoomKey
from server.collab.rooms import Rooms
from server.collab.store import DocumentStore

__all__ = [
    "DocumentChanged",
    "DocumentEdited",
    "DocumentStore",
    "FileSaved",
    "Room",
    "RoomKey",
    "Rooms",
    "awareness_clients",
    "read_state_vector",
]
