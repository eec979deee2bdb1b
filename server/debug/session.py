"""One debug session: a Python program run under debugpy's adapter, driven over DAP.

The adapter, its launcher and the program run inside the workspace's sandbox (they talk
over loopback sockets, which the sandbox has even without a network), with the
supervisor's allow-listed environment: the program sees its own folder, not the server's.
The session turns the adapter's events into one `DebugState` (running, paused where and
why, with the top frame's local variables, or ended with its exit code) that every
collaborator sees, and keeps the program's output in a bounded ring.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from server.debug._dap import AdapterError, DapClient
from server.supervisor import ProcessSpec, Supervisor

log = logging.getLogger(__name__)

ADAPTER = (sys.executable, "-m", "debugpy.adapter")
MAX_FRAMES = 20
MAX_VARIABLES = 100
MAX_VALUE_CHARS = 200
OUTPUT_RING_BYTES = 64 * 1024


class DebugStatus(enum.StrEnum):
    starting = "starting"
    running = "running"
    paused = "paused"
    ended = "ended"


class Frame(BaseModel):
    id: int  # for `debug.evaluate {frame}`, while the program stays paused
    name: str
    path: str | None  # relative to the workspace; None outside it (the standard library)
    line: int


class Variable(BaseModel):
    name: str
    value: str
    type: str | None = None
    reference: int = 0  # > 0: `debug.variables {reference}` lists what it holds, while paused


class DebugState(BaseModel):
    workspace: str
    program: str
    started_by: str
    status: DebugStatus
    reason: str | None = None  # why it paused (breakpoint, step, exception) or ended
    frames: list[Frame] = []
    variables: list[Variable] = []  # the top frame's locals
    exit_code: int | None = None


Announce = Callable[["DebugSession"], Awaitable[None]]
Output = Callable[["DebugSession", str, str], Awaitable[None]]


class DebugSession:
    """Start with `start()`; `resume()` continues or steps and waits until the program
    pauses again or ends; `close()` ends it and reaps the adapter and the program."""

    def __init__(
        self,
        workspace_id: str,
        root: Path,
        program: str,
        started_by: str,
        *,
        supervisor: Supervisor,
        announce: Announce,
        output: Output,
    ) -> None:
        self.root = root
        self.state = DebugState(
            workspace=workspace_id,
            program=program,
            started_by=started_by,
            status=DebugStatus.starting,
        )
        self.last_used = time.monotonic()
        self.lock = asyncio.Lock()
        self.output_ring: deque[str] = deque()
        self._output_bytes = 0
        self._announce = announce
        self._output = output
        self._thread_id: int | None = None
        self._changed = asyncio.Condition()
        self._events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._initialized = asyncio.Event()
        # The allow-list is all debugpy needs (`PATH` leads to NEXUS's Python, output is
        # unbuffered); whatever the program sees of the environment comes from there too.
        adapter = ProcessSpec(
            kind="debug_adapter",
            name=f"debugpy ({workspace_id})",
            argv=ADAPTER,
            workspace_id=workspace_id,
            workspace=root,
            limits=supervisor.defaults(),
        )
        self._client = DapClient(supervisor, adapter, self._on_event)
        self._pump: asyncio.Task[None] | None = None

    @property
    def ended(self) -> bool:
        return self.state.status is DebugStatus.ended

    async def start(self, breakpoints: Mapping[str, set[int]], *, timeout: float) -> None:
        """Launch the program with the workspace's breakpoints set before it runs."""
        await self._client.start()
        self._pump = asyncio.create_task(self._handle_events())
        self._client.exited.add_done_callback(lambda _: self._events.put_nowait(("_exit", {})))
        async with asyncio.timeout(timeout):
            await self._client.request(
                "initialize",
                {
                    "clientID": "nexus",
                    "adapterID": "debugpy",
                    "pathFormat": "path",
                    "linesStartAt1": True,
                    "columnsStartAt1": True,
                },
            )
            launched = self._client.send(
                "launch",
                {
                    "program": str(self.root / self.state.program),
                    "cwd": str(self.root),
                    "console": "internalConsole",
                    "justMyCode": True,
                },
            )
            await self._initialized.wait()
            for path, lines in breakpoints.items():
                await self.set_breakpoints(path, lines)
            await self._client.request("setExceptionBreakpoints", {"filters": ["uncaught"]})
            await self._client.request("configurationDone")
            await launched
        if self.state.status is DebugStatus.starting:
            await self._set(status=DebugStatus.running)

    async def set_breakpoints(self, path: str, lines: set[int]) -> list[int]:
        """Replace the breakpoints of one file; returns the lines the adapter verified."""
        if not self._client.alive:
            return []
        body = await self._client.request(
            "setBreakpoints",
            {
                "source": {"path": str(self.root / path)},
                "breakpoints": [{"line": line} for line in sorted(lines)],
            },
        )
        return [b["line"] for b in body.get("breakpoints", []) if b.get("verified")]

    async def resume(self, action: str, *, settle: float) -> DebugState:
        """`continue`, `next`, `stepIn` or `stepOut`; then wait up to `settle` seconds for
        the program to pause or end, and return the state (still running if it did not)."""
        self.last_used = time.monotonic()
        async with self.lock:  # two people saying "step over" at once step once each
            self._require_paused()
            await self._set(status=DebugStatus.running, reason=None, frames=[], variables=[])
            await self._client.request(action, {"threadId": self._thread_id})
        return await self.settled(settle)  # unlocked: "stop" need not wait for a long run

    async def settled(self, timeout: float) -> DebugState:
        """The state once the program is paused or ended, or as it is after `timeout`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(
                    lambda: self.state.status in (DebugStatus.paused, DebugStatus.ended)
                )
        return self.state

    async def variables(self, reference: int) -> list[Variable]:
        """What a variable holds (its `reference` from the paused state)."""
        self._require_paused()
        self.last_used = time.monotonic()
        return await self._variables(reference)

    async def evaluate(self, expression: str, frame: int | None) -> Variable:
        """An expression's value in a frame of the paused program (the top one by default),
        as in a debug console: it may call functions and change variables."""
        self._require_paused()
        self.last_used = time.monotonic()
        if frame is None:
            frame = self.state.frames[0].id if self.state.frames else None
        arguments: dict[str, Any] = {"expression": expression, "context": "repl"}
        if frame is not None:
            arguments["frameId"] = frame
        body = await self._client.request("evaluate", arguments)
        return _variable(expression, {**body, "value": body.get("result", "")})

    def _require_paused(self) -> None:
        if self.state.status is not DebugStatus.paused:
            raise AdapterError(f"the program is {self.state.status.value}, not paused")

    async def close(self, reason: str = "stopped") -> DebugState:
        """End the program and the adapter (politely, then by signal) and reap both."""
        await self._client.close()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        if not self.ended:
            await self._set(status=DebugStatus.ended, reason=reason, frames=[], variables=[])
        return self.state

    # -- adapter events ---------------------------------------------------------

    async def _on_event(self, event: str, body: dict[str, Any]) -> None:
        # Called from the adapter's reader: queue, so handling may make requests.
        if event == "initialized":
            self._initialized.set()
        self._events.put_nowait((event, body))

    async def _handle_events(self) -> None:
        while True:
            event, body = await self._events.get()
            try:
                await self._handle(event, body)
            except AdapterError as exc:
                log.info("debug event %s: %s", event, exc)

    async def _handle(self, event: str, body: dict[str, Any]) -> None:
        if event == "stopped":
            self._thread_id = body.get("threadId", self._thread_id)
            frames, variables = await self._inspect()
            await self._set(
                status=DebugStatus.paused,
                reason=body.get("reason"),
                frames=frames,
                variables=variables,
            )
        elif event == "continued" and self.state.status is DebugStatus.paused:
            await self._set(status=DebugStatus.running, reason=None, frames=[], variables=[])
        elif event == "output" and body.get("category") in ("stdout", "stderr"):
            await self._record_output(body.get("category", "stdout"), body.get("output", ""))
        elif event == "exited":
            self.state = self.state.model_copy(update={"exit_code": body.get("exitCode")})
        elif event in ("terminated", "_exit") and not self.ended:
            reason = "the program ended" if event == "terminated" else "the debug adapter exited"
            await self._set(status=DebugStatus.ended, reason=reason, frames=[], variables=[])

    async def _inspect(self) -> tuple[list[Frame], list[Variable]]:
        """The paused thread's stack and its top frame's local variables."""
        body = await self._client.request(
            "stackTrace", {"threadId": self._thread_id, "levels": MAX_FRAMES}
        )
        raw = body.get("stackFrames", [])
        frames = [
            Frame(
                id=f.get("id", 0),
                name=f.get("name", "?"),
                path=self._relative(f.get("source", {}).get("path")),
                line=f.get("line", 0),
            )
            for f in raw
        ]
        variables: list[Variable] = []
        if raw:
            scopes = await self._client.request("scopes", {"frameId": raw[0]["id"]})
            local = next(iter(scopes.get("scopes", [])), None)
            if local is not None and local.get("variablesReference"):
                variables = await self._variables(local["variablesReference"])
        return frames, variables

    async def _variables(self, reference: int) -> list[Variable]:
        found = await self._client.request("variables", {"variablesReference": reference})
        return [_variable(v["name"], v) for v in found.get("variables", [])[:MAX_VARIABLES]]

    def _relative(self, path: str | None) -> str | None:
        if not path:
            return None
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return None

    async def _record_output(self, category: str, text: str) -> None:
        self.output_ring.append(text)
        self._output_bytes += len(text)
        while self._output_bytes > OUTPUT_RING_BYTES and len(self.output_ring) > 1:
            self._output_bytes -= len(self.output_ring.popleft())
        await self._output(self, category, text)

    async def _set(self, **changes: Any) -> None:
        self.state = self.state.model_copy(update=changes)
        async with self._changed:
            self._changed.notify_all()
        await self._announce(self)


def _variable(name: str, raw: dict[str, Any]) -> Variable:
    return Variable(
        name=name,
        value=str(raw.get("value", ""))[:MAX_VALUE_CHARS],
        type=raw.get("type"),
        reference=raw.get("variablesReference", 0),
    )
