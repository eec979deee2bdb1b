"""A connection to a room, whatever carries it (WebSocket, Socket.IO).

Sending never blocks the room: each peer has a bounded outbox drained by its own task.
A peer that falls too far behind is closed (it resyncs on reconnect) instead of holding
memory or slowing everyone else down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from server.collab._protocol import CLOSE_TRY_AGAIN

log = logging.getLogger("nexus.collab")

OUTBOX_LIMIT = 2000


class Peer:
    def __init__(
        self,
        peer_id: str,
        username: str,
        *,
        can_write: bool,
        send: Callable[[bytes], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
    ) -> None:
        self.id = peer_id
        self.username = username
        self.can_write = can_write
        self.awareness_clients: set[int] = set()
        self._send = send
        self._close = close
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue(OUTBOX_LIMIT)
        self._writer = asyncio.create_task(self._drain(), name=f"peer:{peer_id}")
        self.closed = False
        self._closing: asyncio.Task[None] | None = None

    def send(self, message: bytes) -> None:
        if self.closed:
            return
        try:
            self._outbox.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("peer %s fell %d messages behind; closing it", self.id, OUTBOX_LIMIT)
            self._closing = asyncio.create_task(
                self.close(CLOSE_TRY_AGAIN, "too far behind; reconnect")
            )

    async def _drain(self) -> None:
        while True:
            message = await self._outbox.get()
            try:
                await self._send(message)
            except Exception:
                self.closed = True
                return
            finally:
                self._outbox.task_done()

    async def flush(self) -> None:
        """Wait until the outbox is empty (used before closing)."""
        if not self._writer.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._outbox.join()

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self._writer.cancel()
        with contextlib.suppress(Exception):
            await self._close(code, reason)

    def stop(self) -> None:
        self.closed = True
        self._writer.cancel()
