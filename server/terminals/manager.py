"""All terminals of this node: opening them with caps, finding them, culling idle ones,
and closing every one of them when the server stops.

Terminals live on the node that opened them (their processes do); with several nodes, the
clients of a workspace reach its terminals through the node they are connected to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from server.bus import Bus, Event
from server.config import Settings
from server.errors import Conflict, InvalidInput, NotFound
from server.supervisor import Supervisor
from server.terminals.terminal import Limits, Terminal

log = logging.getLogger("nexus.terminals")

FALLBACK_SHELLS = ("/bin/bash", "/bin/sh")


def terminal_environment(workspace_id: str, terminal_id: str) -> dict[str, str]:
    """What a terminal adds to the supervisor's allow-listed environment (which holds
    none of the server's own settings or secrets)."""
    return {
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "NEXUS_WORKSPACE": workspace_id,
        "NEXUS_TERMINAL": terminal_id,
    }


class TerminalOpened(Event):
    """A terminal started in a workspace (`workspace.<id>.terminal`)."""

    workspace_id: str
    terminal_id: str
    name: str
    user_id: int


class TerminalManager:
    def __init__(self, settings: Settings, supervisor: Supervisor, bus: Bus | None = None) -> None:
        self.settings = settings
        self.supervisor = supervisor
        self.bus = bus
        self.limits = Limits(
            scrollback_bytes=settings.terminal_scrollback_bytes,
            high_water=settings.terminal_high_water_bytes,
            low_water=settings.terminal_high_water_bytes // 4,
            stuck_seconds=settings.terminal_stuck_seconds,
        )
        self._terminals: dict[str, Terminal] = {}
        self._culler: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._culler = asyncio.create_task(self._cull_idle(), name="terminals:cull")

    async def close(self) -> None:
        """Server shutdown: close every terminal (killing and reaping its processes)."""
        if self._culler is not None:
            self._culler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._culler
        terminals, self._terminals = list(self._terminals.values()), {}
        await asyncio.gather(*(terminal.close(notify=False) for terminal in terminals))

    # -- opening and finding ---------------------------------------------------------

    async def open(
        self,
        *,
        workspace_id: str,
        cwd: Path,
        user_id: int,
        argv: Sequence[str] | None = None,
        cols: int = 80,
        rows: int = 24,
        name: str | None = None,
    ) -> Terminal:
        """Start a terminal running `argv` (default: the user's shell) in the workspace
        folder `cwd`, inside the workspace's sandbox."""
        await self._make_room(workspace_id, user_id)
        argv = list(argv) if argv else [self.shell(cwd)]
        terminal_id = uuid.uuid4().hex[:12]
        terminal = Terminal(
            id=terminal_id,
            name=name or Path(argv[0]).name,
            workspace_id=workspace_id,
            owner_id=user_id,
            argv=argv,
            cwd=cwd,
            limits=self.limits,
            cols=cols,
            rows=rows,
        )
        try:
            await terminal.start(self.supervisor, terminal_environment(workspace_id, terminal_id))
        except OSError as exc:  # unsealed, the program is exec'd directly
            raise InvalidInput(f"cannot start {argv[0]}: {exc.strerror or exc}") from None
        self._terminals[terminal_id] = terminal
        log.info("terminal %s opened in workspace %s: %s", terminal_id, workspace_id, argv)
        if self.bus is not None:
            opened = TerminalOpened(
                workspace_id=workspace_id,
                terminal_id=terminal_id,
                name=terminal.name,
                user_id=user_id,
            )
            await self.bus.publish(f"workspace.{workspace_id}.terminal", opened)
        return terminal

    def shell(self, workspace: Path) -> str:
        """`NEXUS_TERMINAL_SHELL`, else the server's `$SHELL`, else bash or sh: the first
        that exists inside the sandbox (a shell under the server's home does not)."""
        configured = self.settings.terminal_shell
        for shell in (configured, os.environ.get("SHELL"), *FALLBACK_SHELLS):
            if shell and (found := self.supervisor.which(shell, workspace)):
                return found
            if shell and shell == configured:
                log.warning("NEXUS_TERMINAL_SHELL=%s is not there in the sandbox", shell)
        return "/bin/sh"

    async def _make_room(self, workspace_id: str, user_id: int) -> None:
        """Enforce the cap on running terminals; finished ones make way, oldest first."""
        cap = self.settings.terminal_max_per_user
        mine = [
            t
            for t in self._terminals.values()
            if t.workspace_id == workspace_id and t.owner_id == user_id
        ]
        if sum(t.running for t in mine) >= cap:
            raise Conflict(
                f"you already have {cap} terminals running in this workspace; close one first"
            )
        finished = sorted((t for t in mine if not t.running), key=lambda t: t.created_at)
        while finished and len(mine) >= cap:
            old = finished.pop(0)
            mine.remove(old)
            await self.close_terminal(old.id)

    def get(self, terminal_id: str) -> Terminal:
        try:
            return self._terminals[terminal_id]
        except KeyError:
            raise NotFound(f"no terminal {terminal_id!r} (it may have been closed)") from None

    def in_workspace(self, workspace_id: str) -> list[Terminal]:
        return sorted(
            (t for t in self._terminals.values() if t.workspace_id == workspace_id),
            key=lambda t: t.created_at,
        )

    async def close_terminal(self, terminal_id: str) -> Terminal:
        terminal = self.get(terminal_id)
        del self._terminals[terminal_id]
        await terminal.close()
        log.info("terminal %s closed (exit code %s)", terminal_id, terminal.exit_code)
        return terminal

    def detach_everywhere(self, sid: str) -> None:
        """A connection ended: its terminals keep running for when it comes back."""
        for terminal in self._terminals.values():
            terminal.detach(sid)

    # -- idle culling ------------------------------------------------------------------

    async def _cull_idle(self) -> None:
        idle = self.settings.terminal_idle_seconds
        while True:
            await asyncio.sleep(min(60.0, max(idle / 4, 0.05)))
            now = time.monotonic()
            for terminal in list(self._terminals.values()):
                if not terminal.clients and now - terminal.last_activity >= idle:
                    log.info("terminal %s closed after %.0f s idle", terminal.id, idle)
                    try:
                        await self.close_terminal(terminal.id)
                    except NotFound:
                        pass
                    except Exception:
                        log.exception("closing idle terminal %s failed", terminal.id)
