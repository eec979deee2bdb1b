"""All bridges of this node: started on first use; stopped when idle, a short grace after
their workspace was closed, or at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol.types import ErrorCodes, LSPErrorCodes

from lsp.bridge import Bridge, BridgeSettings
from lsp.errors import LspError
from lsp.registry import language_of, normalize, servers_for
from lsp.seed import CacheSeeds
from server.collab import Rooms
from server.supervisor import Supervisor

log = logging.getLogger("nexus.lsp")

# `listener(bridge, method, params)`: diagnostics and status for the workspace's browsers.
Listener = Callable[[Bridge, str, Any], None]

# How long a closed workspace's servers live on: a page reload re-joins well within it.
CLOSE_GRACE_SECONDS = 3.0


class LanguageServers:
    def __init__(
        self,
        rooms: Rooms,
        settings: BridgeSettings,
        *,
        supervisor: Supervisor,
        idle_seconds: float,
        workspace_in_use: Callable[[str], bool] = lambda workspace_id: False,
        listener: Listener | None = None,
        close_grace: float = CLOSE_GRACE_SECONDS,
    ) -> None:
        """`workspace_in_use(id)` says whether anyone still has a workspace open (its
        closed servers then live on); `listener` gets what every server publishes, besides
        the bridge's own LSP clients."""
        self.rooms = rooms
        self.settings = settings
        self.supervisor = supervisor
        self.seeds = CacheSeeds(
            supervisor, memory_mb=settings.memory_mb, timeout=settings.start_timeout
        )
        self.idle_seconds = idle_seconds
        self.close_grace = min(close_grace, idle_seconds)
        self.workspace_in_use = workspace_in_use
        self.listener = listener
        self._bridges: dict[tuple[str, str], Bridge] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._left: dict[str, float] = {}  # workspace id → when its last user left
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_idle(), name="lsp.idle")

    async def close(self) -> None:
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        bridges = list(self._bridges.values())
        self._bridges.clear()
        await asyncio.gather(*self._closing, *(bridge.close() for bridge in bridges))
        await self.seeds.close()

    def language_for(self, path: str) -> str:
        language = language_of(path)
        if language is None:
            raise LspError(ErrorCodes.MethodNotFound, f"no language server knows files like {path}")
        return language

    async def bridge(self, workspace_id: str, language: str, root: Path) -> Bridge:
        """The running bridge for a workspace and language, started (and warmed up) on
        first use; `LspError` when no server for that language is installed."""
        language = normalize(language)
        key = (workspace_id, language)
        async with self._lock:
            if self._closed:
                raise LspError(LSPErrorCodes.RequestFailed, "the server is shutting down")
            bridge = self._bridges.get(key)
            if bridge is not None and not bridge.closed:
                bridge.last_used = time.monotonic()
                return bridge
            specs = servers_for(language)
            if not specs:
                raise LspError(
                    ErrorCodes.MethodNotFound, f"no language server for {language} is installed"
                )
            bridge = Bridge(
                workspace_id,
                language,
                root,
                specs,
                rooms=self.rooms,
                settings=self.settings,
                supervisor=self.supervisor,
                publish=self._publish,
                seeds=self.seeds,
            )
            self._bridges[key] = bridge
            bridge.start()
            log.info("started %s servers for workspace %s", language, workspace_id)
            return bridge

    def bridges(self, workspace_id: str | None = None) -> list[Bridge]:
        return [b for (ws, _), b in self._bridges.items() if workspace_id in (None, ws)]

    async def close_workspace(self, workspace_id: str) -> None:
        """Stop a workspace's servers now (the workspace was deleted)."""
        for key in [key for key in self._bridges if key[0] == workspace_id]:
            await self._bridges.pop(key).close()

    def workspace_closed(self, workspace_id: str) -> None:
        """The workspace's last user left: stop its servers after `close_grace`, unless
        someone re-joins, connects an LSP client or makes a request meanwhile."""
        if self.bridges(workspace_id):
            self._left[workspace_id] = time.monotonic()
            self._wake.set()

    def _publish(self, bridge: Bridge, method: str, params: Any) -> None:
        message = {"jsonrpc": "2.0", "method": method, "params": params}
        for send in list(bridge.sessions.values()):
            try:
                send(message)
            except Exception:
                log.exception("sending %s to an LSP client failed", method)
        if self.listener is not None:
            try:
                self.listener(bridge, method, params)
            except Exception:
                log.exception("an LSP listener failed on %s", method)

    def _expired(self, bridge: Bridge, now: float) -> bool:
        if bridge.sessions:
            return False  # an LSP WebSocket client is connected
        if now - bridge.last_used >= self.idle_seconds:
            return True
        left = self._left.get(bridge.workspace_id)
        return (
            left is not None
            and now - left >= self.close_grace
            and bridge.last_used <= left
            and not self.workspace_in_use(bridge.workspace_id)
        )

    def _next_check(self, now: float) -> float:
        due = [b.last_used + self.idle_seconds for b in self._bridges.values() if not b.sessions]
        due += [left + self.close_grace for left in self._left.values()]
        return min([now + 30.0, *due]) - now

    async def _reap_idle(self) -> None:
        """Stop expired bridges; sleeps until the next one is due (or a workspace closes)."""
        while True:
            now = time.monotonic()
            for key, bridge in list(self._bridges.items()):
                if self._expired(bridge, now):
                    log.info("stopping unused %s servers of workspace %s", key[1], key[0])
                    del self._bridges[key]
                    # Closing outlives this loop's cancellation: `close` waits for it.
                    task = asyncio.create_task(bridge.close())
                    self._closing.add(task)
                    task.add_done_callback(self._closing.discard)
            for workspace_id, left in list(self._left.items()):
                if now - left >= self.close_grace:
                    del self._left[workspace_id]
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(self._next_check(now), 0.05)):
                    await self._wake.wait()
