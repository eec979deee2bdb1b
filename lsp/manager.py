"""All bridges of this node: started on first use, stopped when idle or at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsp.bridge import Bridge, BridgeSettings
from lsp.errors import METHOD_NOT_FOUND, LspError
from lsp.registry import language_of, normalize, servers_for
from server.collab.rooms import Rooms

log = logging.getLogger("nexus.lsp")

Listener = Callable[[Bridge, str, Any], None]


class LanguageServers:
    def __init__(self, rooms: Rooms, settings: BridgeSettings, *, idle_seconds: float) -> None:
        self.rooms = rooms
        self.settings = settings
        self.idle_seconds = idle_seconds
        self._bridges: dict[tuple[str, str], Bridge] = {}
        self._listeners: list[Listener] = []
        self._reaper: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_idle(), name="lsp.idle")

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        await asyncio.gather(*(bridge.close() for bridge in self._bridges.values()))
        self._bridges.clear()

    def add_listener(self, listener: Listener) -> None:
        """`listener(bridge, method, params)` for diagnostics and status, fanned out to
        every client of the bridge's workspace (the Socket.IO hub registers one)."""
        self._listeners.append(listener)

    def language_for(self, path: str) -> str:
        language = language_of(path)
        if language is None:
            raise LspError(METHOD_NOT_FOUND, f"no language server knows files like {path}")
        return language

    async def bridge(self, workspace_id: str, language: str, root: Path) -> Bridge:
        """The running bridge for a workspace and language, started (and warmed up) on
        first use; `LspError` when no server for that language is installed."""
        language = normalize(language)
        key = (workspace_id, language)
        async with self._lock:
            bridge = self._bridges.get(key)
            if bridge is not None and not bridge.closed:
                bridge.last_used = time.monotonic()
                return bridge
            specs = servers_for(language)
            if not specs:
                raise LspError(METHOD_NOT_FOUND, f"no language server for {language} is installed")
            bridge = Bridge(
                workspace_id,
                language,
                root,
                specs,
                rooms=self.rooms,
                settings=self.settings,
                publish=self._publish,
            )
            self._bridges[key] = bridge
            bridge.start()
            log.info("started %s servers for workspace %s", language, workspace_id)
            return bridge

    def bridges(self, workspace_id: str | None = None) -> list[Bridge]:
        return [b for (ws, _), b in self._bridges.items() if workspace_id in (None, ws)]

    async def close_workspace(self, workspace_id: str) -> None:
        """Stop a workspace's servers (the workspace was closed or deleted)."""
        for key in [key for key in self._bridges if key[0] == workspace_id]:
            await self._bridges.pop(key).close()

    def _publish(self, bridge: Bridge, method: str, params: Any) -> None:
        message = {"jsonrpc": "2.0", "method": method, "params": params}
        for send in list(bridge.sessions.values()):
            try:
                send(message)
            except Exception:
                log.exception("sending %s to an LSP client failed", method)
        for listener in self._listeners:
            try:
                listener(bridge, method, params)
            except Exception:
                log.exception("an LSP listener failed on %s", method)

    async def _reap_idle(self) -> None:
        while True:
            await asyncio.sleep(max(min(self.idle_seconds / 4, 30.0), 0.05))
            now = time.monotonic()
            for key, bridge in list(self._bridges.items()):
                if not bridge.sessions and now - bridge.last_used > self.idle_seconds:
                    log.info("stopping idle %s servers of workspace %s", key[1], key[0])
                    self._bridges.pop(key, None)
                    await bridge.close()
