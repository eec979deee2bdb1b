"""Every debug session on this node: one per workspace, shared by its collaborators (as
in a pair-debugging session); the workspace's breakpoints are in the database.

State changes and program output are announced on the bus (`workspace.<id>.debug`), which
`socketio.py` forwards to the workspace's browsers as `debug:state` and `debug:output`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from server.bus import Bus, Event
from server.debug._dap import AdapterError
from server.debug.breakpoints import BreakpointStore
from server.debug.session import DebugSession, DebugState, DebugStatus, Variable
from server.errors import Conflict, InvalidInput, NotFound, Unavailable
from server.metrics import DEBUG_SESSIONS, DEBUG_STARTS
from server.supervisor import Supervisor

log = logging.getLogger(__name__)


class DebugChanged(Event):
    """A workspace's debug session started, paused, resumed or ended."""

    workspace_id: str
    state: DebugState


class DebugOutput(Event):
    """Text the debugged program wrote (stdout or stderr)."""

    workspace_id: str
    category: str
    output: str


class DebugSessions:
    def __init__(
        self,
        bus: Bus,
        breakpoints: BreakpointStore,
        supervisor: Supervisor,
        *,
        max_sessions: int = 8,
        idle_seconds: float = 1800.0,
        start_timeout: float = 20.0,
        start_settle_seconds: float = 2.0,
        settle_seconds: float = 10.0,
    ) -> None:
        self.bus = bus
        self.supervisor = supervisor  # starts each adapter inside its workspace's sandbox
        self.max_sessions = max_sessions
        self.idle_seconds = idle_seconds
        self.start_timeout = start_timeout
        self.start_settle_seconds = start_settle_seconds
        self.settle_seconds = settle_seconds
        self.sessions: dict[str, DebugSession] = {}
        self.breakpoints = breakpoints
        self._culler: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._culler = asyncio.create_task(self._cull_idle())

    async def close(self) -> None:
        """Shutdown: end every session, so no program or adapter outlives the server."""
        if self._culler is not None:
            self._culler.cancel()
        sessions, self.sessions = list(self.sessions.values()), {}
        await asyncio.gather(*(s.close("the server stopped") for s in sessions))

    def get(self, workspace_id: str) -> DebugSession:
        session = self.sessions.get(workspace_id)
        if session is None or session.ended:
            raise NotFound("no program is being debugged in this workspace: start debugging first")
        return session

    async def launch(self, workspace_id: str, root: Path, program: str, user: str) -> DebugState:
        """Start debugging `program` (relative to `root`); returns the state once it
        pauses or ends, or after two seconds of running (a server, say: collaborators
        follow it through `debug:state`)."""
        current = self.sessions.get(workspace_id)
        if current is not None and not current.ended:
            DEBUG_STARTS.labels("refused").inc()
            raise Conflict(
                f"{current.state.started_by} is already debugging {current.state.program} "
                "here: stop debugging first"
            )
        live = sum(not s.ended for s in self.sessions.values())
        if live >= self.max_sessions:
            DEBUG_STARTS.labels("refused").inc()
            raise Unavailable("too many debug sessions on this server; try again later")
        session = DebugSession(
            workspace_id,
            root,
            program,
            user,
            supervisor=self.supervisor,
            announce=self._announce,
            output=self._output,
        )
        self.sessions[workspace_id] = session
        try:
            marked = await self.breakpoints.load(workspace_id)
            await session.start(marked, timeout=self.start_timeout)
        except (AdapterError, TimeoutError, OSError) as exc:
            DEBUG_STARTS.labels("failed").inc()
            await session.close("the debugger did not start")
            raise Unavailable(f"the debugger did not start: {exc}") from None
        DEBUG_STARTS.labels("started").inc()
        return await session.settled(self.start_settle_seconds)

    async def resume(self, workspace_id: str, action: str) -> DebugState:
        try:
            return await self.get(workspace_id).resume(action, settle=self.settle_seconds)
        except AdapterError as exc:
            raise Conflict(str(exc)) from None

    async def variables(self, workspace_id: str, reference: int) -> list[Variable]:
        session = self._paused(workspace_id)
        try:
            return await session.variables(reference)
        except AdapterError as exc:  # a reference from an earlier pause, say
            raise InvalidInput(f"reference: {exc}") from None

    async def evaluate(self, workspace_id: str, expression: str, frame: int | None) -> Variable:
        session = self._paused(workspace_id)
        try:
            return await session.evaluate(expression, frame)
        except AdapterError as exc:  # the expression raised: the adapter says what
            raise InvalidInput(f"expression: {exc}") from None

    def _paused(self, workspace_id: str) -> DebugSession:
        session = self.get(workspace_id)
        if session.state.status is not DebugStatus.paused:
            raise Conflict(f"the program is {session.state.status.value}, not paused")
        return session

    async def stop(self, workspace_id: str) -> DebugState:
        return await self.get(workspace_id).close()

    async def toggle_breakpoint(self, workspace_id: str, path: str, line: int) -> bool:
        """Set the breakpoint if there is none at that line, else clear it; the live
        session, if any, gets the file's new set at once. Returns whether it is set."""
        now_set = await self.breakpoints.toggle(workspace_id, path, line)
        session = self.sessions.get(workspace_id)
        if session is not None and not session.ended:
            lines = (await self.breakpoints.load(workspace_id)).get(path, set())
            try:
                await session.set_breakpoints(path, lines)
            except AdapterError as exc:
                raise Unavailable(f"the debugger did not take the breakpoint: {exc}") from None
        return now_set

    async def listed(self, workspace_id: str) -> dict[str, list[int]]:
        """The workspace's breakpoints, by file, in line order."""
        files = await self.breakpoints.load(workspace_id)
        return {path: sorted(lines) for path, lines in sorted(files.items())}

    def paused_file(self, workspace_id: str) -> str:
        """The file the paused program is in: where a breakpoint goes when none is named."""
        session = self.sessions.get(workspace_id)
        if session is not None and session.state.frames and session.state.frames[0].path:
            return session.state.frames[0].path
        raise InvalidInput("path: say which file the breakpoint goes in (no program is paused)")

    async def _announce(self, session: DebugSession) -> None:
        state = session.state
        DEBUG_SESSIONS.set(sum(not s.ended for s in self.sessions.values()))
        await self.bus.publish(
            f"workspace.{state.workspace}.debug",
            DebugChanged(workspace_id=state.workspace, state=state),
        )

    async def _output(self, session: DebugSession, category: str, text: str) -> None:
        await self.bus.publish(
            f"workspace.{session.state.workspace}.debug",
            DebugOutput(workspace_id=session.state.workspace, category=category, output=text),
        )

    async def _cull_idle(self) -> None:
        while True:
            await asyncio.sleep(min(60.0, self.idle_seconds / 4))
            now = time.monotonic()
            for workspace_id, session in list(self.sessions.items()):
                if session.ended:
                    self.sessions.pop(workspace_id, None)
                elif now - session.last_used > self.idle_seconds:
                    log.info("ending idle debug session in %s", workspace_id)
                    with contextlib.suppress(Exception):
                        await session.close("idle")
