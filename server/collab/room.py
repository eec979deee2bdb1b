"""One shared document: a pycrdt `Doc` whose `Y.Text` "source" is the file's text.

Every update a writer sends is applied, made durable (group commit), then broadcast to
the other peers here and, through the bus, to the same room on other nodes. Nothing is
broadcast before it is durable, so what anyone has seen survives a crash.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pycrdt import (
    Awareness,
    Doc,
    Text,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
    merge_updates,
    read_message,
)

from server import metrics
from server.bus import Bus, Event
from server.collab._protocol import (
    CLOSE_INVALID_DATA,
    CLOSE_PROTOCOL_ERROR,
    CLOSE_STALE_STATE,
    MessageType,
    ProtocolError,
    SyncType,
    awareness_clients,
    permission_denied,
    read_state_vector,
    split,
)
from server.collab._writer import UpdateWriter
from server.collab.peer import Peer
from server.collab.store import PendingUpdate, StoredDocument
from server.collab.text import apply_diff

log = logging.getLogger("nexus.collab")

TEXT_NAME = "source"
MAX_IN_FLIGHT = 1000  # applied updates waiting for storage before a peer is paused
AWARENESS_WINDOW = 0.02  # seconds: awareness changes within it go out as one message
CLOSE_STORAGE_FAILED = 1011
EMPTY_UPDATE = b"\x00\x00"


class DocumentChanged(Event):
    """A durable update (or an awareness change) for a room, for the other nodes."""

    workspace_id: str
    document_id: int
    kind: str  # "update" or "awareness"
    data: str  # base64 of the Yjs bytes


@dataclass(frozen=True, slots=True)
class RoomKey:
    workspace_id: str
    path: str  # relative to the workspace folder, with "/" separators


class Room:
    def __init__(
        self,
        key: RoomKey,
        stored: StoredDocument,
        *,
        writer: UpdateWriter,
        bus: Bus,
        on_change: Callable[[Room], None],
    ) -> None:
        self.key = key
        self.document_id = stored.id
        self.epoch = stored.epoch
        self.retired_clients = stored.retired_clients
        self.doc: Doc[Any] = Doc()
        self.text = self.doc.get(TEXT_NAME, type=Text)
        if stored.snapshot:
            self.doc.apply_update(stored.snapshot)
        for update in stored.updates:
            self.doc.apply_update(update)
        self._effective: list[bytes] = []
        self._observer = self.doc.observe(lambda event: self._effective.append(event.update))
        self.awareness = Awareness(self.doc)
        self.awareness.set_local_state(None)  # the server has no cursor of its own
        self._awareness_pending: set[int] = set()
        self._awareness_timer: asyncio.TimerHandle | None = None
        self.peers: dict[str, Peer] = {}
        self._writer = writer
        self._bus = bus
        self._on_change = on_change
        self._outgoing: deque[tuple[asyncio.Future[None], bytes, Peer | None]] = deque()
        self._relay_task: asyncio.Task[None] | None = None
        self._text_listeners: list[Callable[[Room], None]] = []
        self.broken = False

    @property
    def topic(self) -> str:
        return f"collab.{self.key.workspace_id}.{self.document_id}"

    @property
    def source(self) -> str:
        return str(self.text)

    def observe_text(self, listener: Callable[[Room], None]) -> Callable[[], None]:
        """Call `listener(room)` after each change as soon as it is applied (before it is
        durable): language servers follow the text as it is typed. Returns an unsubscribe."""
        self._text_listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._text_listeners.remove(listener)

        return unsubscribe

    def _text_changed(self) -> None:
        for listener in list(self._text_listeners):
            try:
                listener(self)
            except Exception:
                log.exception("a text listener of %s failed", self.key.path)

    # -- peers ---------------------------------------------------------------------

    def join(self, peer: Peer) -> None:
        """Start the y-websocket handshake: our state vector, then who is here."""
        self.peers[peer.id] = peer
        metrics.COLLAB_CLIENTS.inc()
        peer.send(create_sync_message(self.doc))
        states = self.awareness.states
        if states:
            peer.send(
                create_awareness_message(self.awareness.encode_awareness_update(list(states)))
            )

    async def leave(self, peer: Peer) -> None:
        """Forget a peer and its cursors; everyone else sees them go."""
        if self.peers.pop(peer.id, None) is None:
            return
        metrics.COLLAB_CLIENTS.dec()
        gone = [client for client in peer.awareness_clients if client in self.awareness.states]
        if gone:
            self.awareness.remove_awareness_states(gone, origin=peer.id)
            update = self.awareness.encode_awareness_update(gone)
            self._broadcast(create_awareness_message(update), exclude=None)
            await self._publish("awareness", update)

    # -- messages from peers -------------------------------------------------------

    async def receive(self, peer: Peer, message: bytes) -> None:
        """Handle one y-websocket message; `ProtocolError` closes only this peer."""
        kind, body = split(message)
        if kind == MessageType.SYNC:
            await self._receive_sync(peer, body)
        elif kind == MessageType.AWARENESS:
            await self._receive_awareness(peer, body)
        elif kind == MessageType.QUERY_AWARENESS:
            states = list(self.awareness.states)
            peer.send(create_awareness_message(self.awareness.encode_awareness_update(states)))
        elif kind == MessageType.AUTH:
            pass  # clients do not send these; tolerated like the stock server does
        else:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, f"unknown message type {kind}")

    async def _receive_sync(self, peer: Peer, body: bytes) -> None:
        if not body:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, "truncated sync message")
        sync_type = body[0]
        try:
            payload = read_message(body[1:])
        except Exception:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, "truncated sync message") from None
        if sync_type == SyncType.STEP1:
            self.check_client_state(payload)
            reply = handle_sync_message(body, self.doc)
            if reply is not None:
                peer.send(reply)
            return
        if sync_type not in (SyncType.STEP2, SyncType.UPDATE):
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, f"unknown sync message type {sync_type}")
        if payload == EMPTY_UPDATE:
            return
        if not peer.can_write:
            peer.send(permission_denied("read-only: viewers cannot edit this document"))
            return
        await self.apply(payload, origin=peer)

    def check_client_state(self, state_vector: bytes) -> None:
        """Refuse a client whose history comes from an earlier epoch of this document."""
        try:
            clocks = read_state_vector(state_vector)
        except Exception:
            raise ProtocolError(CLOSE_PROTOCOL_ERROR, "malformed state vector") from None
        if any(clocks.get(client, 0) > 0 for client in self.retired_clients):
            raise ProtocolError(
                CLOSE_STALE_STATE,
                "this document was rebuilt; discard the local copy and reload",
            )

    async def _receive_awareness(self, peer: Peer, body: bytes) -> None:
        try:
            update = read_message(body)
            clients = awareness_clients(update)
            self.awareness.apply_awareness_update(update, origin=peer.id)
        except Exception:
            raise ProtocolError(CLOSE_INVALID_DATA, "malformed awareness update") from None
        for client, present in clients.items():
            if present:
                peer.awareness_clients.add(client)
            else:
                peer.awareness_clients.discard(client)
        # Echo to the sender too: the stock client counts it as a sign of life.
        self._relay_awareness(clients)
        await self._publish("awareness", update)

    def _relay_awareness(self, clients: Iterable[int]) -> None:
        """Send awareness changes to every peer, at most one message per window.

        The first change goes out at once; changes within the next `AWARENESS_WINDOW`
        go together at its end. Stock clients renew their state every 15 s, all at
        about the same time: with fifty of them that is fifty updates to fifty peers,
        2,500 messages at once, which this turns into about fifty.
        """
        if self._awareness_timer is None:
            self._send_awareness(clients)
            self._awareness_timer = asyncio.get_running_loop().call_later(
                AWARENESS_WINDOW, self._flush_awareness
            )
        else:
            self._awareness_pending.update(clients)

    def _flush_awareness(self) -> None:
        pending, self._awareness_pending = self._awareness_pending, set()
        if not pending:
            self._awareness_timer = None
            return
        self._send_awareness(pending)
        self._awareness_timer = asyncio.get_running_loop().call_later(
            AWARENESS_WINDOW, self._flush_awareness
        )

    def _send_awareness(self, clients: Iterable[int]) -> None:
        known = [client for client in clients if client in self.awareness.meta]
        if known:
            update = self.awareness.encode_awareness_update(known)
            self._broadcast(create_awareness_message(update), exclude=None)

    # -- updates ---------------------------------------------------------------------

    async def apply(self, update: bytes, *, origin: Peer | None) -> None:
        """Apply, persist, then broadcast an update from a peer or from the server."""
        try:
            effective = self._apply(update)
        except Exception:
            raise ProtocolError(CLOSE_INVALID_DATA, "malformed document update") from None
        if effective is None:
            return  # a duplicate (clients echo what they received), or still pending
        self._make_durable(effective, origin)
        if len(self._outgoing) > MAX_IN_FLIGHT:
            # Back-pressure: stop reading this peer until storage catches up.
            with contextlib.suppress(Exception):
                await self._outgoing[0][0]

    def _apply(self, update: bytes) -> bytes | None:
        """Apply an update; return what it actually changed (None: nothing), so that
        duplicates are neither stored nor relayed."""
        self._effective.clear()
        self.doc.apply_update(update)
        if not self._effective:
            return None
        self._text_changed()
        if len(self._effective) == 1:
            return self._effective[0]
        return merge_updates(*self._effective)

    async def replace_text(self, new: str) -> bool:
        """Merge `new` (the file as it now is on disk) into the document as a minimal
        diff; returns whether anything changed."""
        before = self.doc.get_state()
        with self.doc.transaction(origin="disk"):
            changed = apply_diff(self.text, self.source, new)
        if not changed:
            return False
        self._text_changed()
        await self._make_durable(self.doc.get_update(before), None)
        return True

    def _make_durable(self, update: bytes, origin: Peer | None) -> asyncio.Future[None]:
        """Queue an applied update for storage; it is relayed, in order, once durable.

        Reading the next message does not wait for this one to be stored, so updates
        from a fast typist share one transaction (group commit) instead of paying one
        each; what others see is still only ever what is durable.
        """
        future = self._writer.submit(PendingUpdate(self.document_id, self.epoch, update))
        self._outgoing.append((future, update, origin))
        if self._relay_task is None or self._relay_task.done():
            self._relay_task = asyncio.create_task(self._relay(), name=f"relay:{self.topic}")
        return future

    async def _relay(self) -> None:
        while self._outgoing:
            future, update, origin = self._outgoing[0]
            try:
                await future
            except Exception:
                await self._fail()
                return
            self._outgoing.popleft()
            metrics.COLLAB_UPDATES.inc()
            metrics.COLLAB_BYTES_PERSISTED.inc(len(update))
            self._broadcast(create_update_message(update), exclude=origin)
            await self._publish("update", update)
            self._on_change(self)

    async def _fail(self) -> None:
        """Storage refused an update: this copy holds edits that are not durable, so it
        is dropped; peers reconnect and resend what they have to a fresh copy."""
        log.error("storing an update of %s failed; closing the document", self.key.path)
        self.broken = True
        self._outgoing.clear()
        for peer in list(self.peers.values()):
            await self.leave(peer)
            await peer.close(CLOSE_STORAGE_FAILED, "storage failed; reconnect")

    def _broadcast(self, message: bytes, *, exclude: Peer | None) -> None:
        for peer in self.peers.values():
            if peer is not exclude:
                peer.send(message)

    async def _publish(self, kind: str, data: bytes) -> None:
        """Relay to the same room on other nodes (only they subscribe to these)."""
        if not self._bus.spans_nodes:
            return
        await self._bus.publish(
            self.topic,
            DocumentChanged(
                workspace_id=self.key.workspace_id,
                document_id=self.document_id,
                kind=kind,
                data=base64.b64encode(data).decode(),
            ),
        )

    def apply_remote(self, change: DocumentChanged) -> None:
        """An update another node made durable, or awareness from its peers."""
        data = base64.b64decode(change.data)
        if change.kind == "update":
            effective = self._apply(data)
            if effective is not None:
                self._broadcast(create_update_message(effective), exclude=None)
                self._on_change(self)
        else:
            self.awareness.apply_awareness_update(data, origin="remote")
            self._relay_awareness(awareness_clients(data))

    def resync(self, stored: StoredDocument) -> None:
        """Catch up from the database after missing cross-node messages."""
        before = self.doc.get_state()
        for update in ([stored.snapshot] if stored.snapshot else []) + stored.updates:
            self.doc.apply_update(update)
        self._text_changed()
        # A diff carries the whole delete set, so deletions travel too.
        self._broadcast(create_update_message(self.doc.get_update(before)), exclude=None)
        self._on_change(self)
