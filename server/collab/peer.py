"""A connection to a room, whatever carries it (WebSocket, Socket.IO).

Sending never blocks the room: each peer has a bounded outbox, drained by a task that
runs only while the outbox has something in it. A message to a peer with nothing queued
is sent on the spot when the transport can take it without waiting, which is the usual
case: a broadcast to fifty peers then costs fifty writes, not fifty tasks.
A peer that falls too far behind is closed (it resyncs on reconnect) instead of holding
memory or slowing everyone else down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

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
        send: Callable[[bytes], Coroutine[Any, Any, None]],
        close: Callable[[int, str], Awaitable[None]],
    ) -> None:
        self.id = peer_id
        self.username = username
        self.can_write = can_write
        self.awareness_clients: set[int] = set()
        self.closed = False
        self._send = send
        self._close = close
        self._outbox: deque[bytes] = deque()
        # Runs only while there is something to send: an idle peer costs no task.
        self._drainer: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None

    def send(self, message: bytes) -> None:
        if self.closed:
            return
        if len(self._outbox) >= OUTBOX_LIMIT:
            log.warning("peer %s fell %d messages behind; closing it", self.id, OUTBOX_LIMIT)
            self._closing = asyncio.create_task(
                self.close(CLOSE_TRY_AGAIN, "too far behind; reconnect")
            )
            return
        idle = self._drainer is None or self._drainer.done()
        if idle and not self._outbox:
            started = self._send_now(message)
            if started is None:
                return
            self._drainer = asyncio.create_task(self._drain(started), name=f"peer:{self.id}")
            return
        self._outbox.append(message)
        if idle:
            self._drainer = asyncio.create_task(self._drain(), name=f"peer:{self.id}")

    def _send_now(self, message: bytes) -> _Started | None:
        """Run the transport's send up to its first wait; None when it finished."""
        coroutine = self._send(message)
        try:
            waiting_for = coroutine.send(None)
        except StopIteration:
            return None
        except Exception:
            self.closed = True
            return None
        return _Started(coroutine, waiting_for)

    async def _drain(self, started: _Started | None = None) -> None:
        if started is not None:
            try:
                await started
            except Exception:
                self.closed = True
                self._outbox.clear()
                return
        while self._outbox:
            try:
                await self._send(self._outbox.popleft())
            except Exception:
                self.closed = True
                self._outbox.clear()
                return

    async def flush(self) -> None:
        """Wait, briefly, until the outbox is empty (used before closing)."""
        if self._drainer is not None and not self._drainer.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                async with asyncio.timeout(1.0):
                    await asyncio.shield(self._drainer)

    async def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.stop()
        with contextlib.suppress(Exception):
            await self._close(code, reason)

    def stop(self) -> None:
        self.closed = True
        self._outbox.clear()
        if self._drainer is not None:
            self._drainer.cancel()


class _Started:
    """The rest of a coroutine that was stepped once outside a task (by `Peer.send`),
    as something a task can await: it hands the task the future the coroutine is
    waiting for, then keeps driving the coroutine, as asyncio's eager tasks do."""

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting_for: Any) -> None:
        self._coroutine = coroutine
        self._waiting_for = waiting_for

    def __await__(self) -> Generator[Any, Any, None]:
        waiting_for = self._waiting_for
        while True:
            try:
                sent = yield waiting_for
            except BaseException as exc:
                try:
                    waiting_for = self._coroutine.throw(exc)
                except StopIteration:
                    return
            else:
                try:
                    waiting_for = self._coroutine.send(sent)
                except StopIteration:
                    return
