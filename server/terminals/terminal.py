"""One shared terminal: its process, the scrollback ring, the attached clients and the flow
control that keeps a fast program from flooding a slow client.

Output path: the PTY is read while reading is on; reads collect in `_pending`; one pump
task sends batches (up to `batch_bytes`, at most one emit per `batch_seconds` while output
streams, at once after a quiet spell, so a keystroke's echo is not delayed) to every
attached client and appends them to the scrollback ring.

Output is sent as text: bytes are decoded as UTF-8 incrementally (a character split across
two reads is decoded whole, invalid bytes become U+FFFD), which is what xterm.js's
`write(string)` takes. Every `terminal:output` carries `bytes`, the number of PTY bytes it
holds; clients acknowledge those numbers with `terminal:ack`, so accounting never depends
on how a client counts characters.

Flow control: each client's unacknowledged bytes are tracked. When one client has more
than `high_water` unacknowledged, nothing more is sent and the PTY is no longer read (the
program blocks on its next write, as in a real terminal); both resume once every client
is at or below `low_water`. A client that holds the terminal back for `stuck_seconds` is
detached so that it cannot stall the others for ever.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import shlex
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from server import metrics
from server.supervisor import ProcessSpec, Supervisor
from server.terminals._pty import PtyProcess

log = logging.getLogger("nexus.terminals")

STREAMING_BYTES = 4096  # a batch this big means output streams: coalesce the next one
MAX_SIZE = 1000  # columns or rows; anything larger is a mistake or an attack
NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"  # a terminal's label: no NUL or control characters

# `send(event, payload)` → False when the client is gone (the terminal then detaches it).
Send = Callable[[str, dict[str, Any]], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class Limits:
    scrollback_bytes: int = 256 * 1024
    high_water: int = 1024 * 1024
    low_water: int = 256 * 1024
    stuck_seconds: float = 30.0
    batch_bytes: int = 64 * 1024
    batch_seconds: float = 0.004
    exit_grace: float = 1.0


@dataclass(slots=True)
class Client:
    sid: str
    user_id: int
    send: Send
    unacked: int = 0
    over_since: float | None = None  # when it went above the high-water mark


class TerminalInfo(BaseModel):
    id: str
    name: str
    workspace: str
    owner: int
    command: str
    cols: int
    rows: int
    running: bool
    exit_code: int | None
    clients: int
    created_at: float


class Scrollback:
    """The last `capacity` bytes of output (bytearray deletes from the front in O(1))."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data = bytearray()

    def append(self, data: bytes) -> None:
        self._data += data
        excess = len(self._data) - self.capacity
        if excess > 0:
            del self._data[:excess]

    def __len__(self) -> int:
        return len(self._data)

    def text(self) -> str:
        """The buffer as text, without a character cut at either end."""
        data = bytes(self._data)
        start = 0
        while start < min(3, len(data)) and 0x80 <= data[start] < 0xC0:
            start += 1  # a UTF-8 continuation byte: the start of its character was dropped
        return codecs.getincrementaldecoder("utf-8")("replace").decode(data[start:])


@dataclass(eq=False)
class Terminal:
    id: str
    name: str
    workspace_id: str
    owner_id: int
    argv: list[str]
    cwd: Path  # the workspace folder: where it starts, what its sandbox holds
    limits: Limits
    cols: int = 80
    rows: int = 24
    created_at: float = field(default_factory=time.time)
    exit_code: int | None = None
    clients: dict[str, Client] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.scrollback = Scrollback(self.limits.scrollback_bytes)
        self.last_activity = time.monotonic()
        self.closed = False
        self._pty: PtyProcess | None = None
        self._pending = bytearray()
        self._pending_count = 0  # PTY bytes decoded but not yet sent (a split character)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._eof = asyncio.Event()
        self._exit_due = False
        self._exit_sent = False
        self._flow_paused = False
        self._flowing = asyncio.Event()  # set while no client holds the output back
        self._flowing.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._stuck_task: asyncio.Task[None] | None = None
        self._last_emit = 0.0
        self._last_size = 0

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self, supervisor: Supervisor, env: dict[str, str]) -> None:
        """Start `argv` on a PTY in the workspace's sandbox, with `env` added to the
        supervisor's allow-listed environment."""
        spec = ProcessSpec(
            kind="terminal",
            name=f"terminal {self.id}",
            argv=self.argv,
            workspace_id=self.workspace_id,
            workspace=self.cwd,
            env=env,
            limits=supervisor.defaults(),
            network=supervisor.network,
        )
        self._pty = await PtyProcess.spawn(
            supervisor,
            spec,
            cols=self.cols,
            rows=self.rows,
            on_output=self._on_output,
            on_eof=self._eof.set,
        )
        self._pty.resume_reading()
        self._tasks = [
            asyncio.create_task(self._pump(), name=f"terminal:{self.id}:pump"),
            asyncio.create_task(self._watch_exit(), name=f"terminal:{self.id}:exit"),
        ]
        metrics.TERMINALS_OPEN.inc()

    @property
    def pid(self) -> int | None:
        return self._pty.pid if self._pty else None

    @property
    def running(self) -> bool:
        return self._pty is not None and self._pty.returncode is None

    @property
    def buffered_bytes(self) -> int:
        """Output held in server memory for this terminal (pending batch + scrollback)."""
        return len(self._pending) + len(self.scrollback)

    def info(self) -> TerminalInfo:
        return TerminalInfo(
            id=self.id,
            name=self.name,
            workspace=self.workspace_id,
            owner=self.owner_id,
            command=shlex.join(self.argv),
            cols=self.cols,
            rows=self.rows,
            running=self.running,
            exit_code=self.exit_code,
            clients=len(self.clients),
            created_at=self.created_at,
        )

    async def close(self, *, notify: bool = True) -> None:
        """Kill the session, reap it, tell attached clients (unless the server is going
        down), and forget them."""
        if self.closed:
            return
        self.closed = True
        for task in [*self._tasks, self._stuck_task]:
            if task is not None:
                task.cancel()
        if self._pty is not None:
            await self._pty.close(self.limits.exit_grace)
            if self.exit_code is None:
                self.exit_code = _exit_code(self._pty.returncode)
        if self._flow_paused:
            metrics.TERMINALS_PAUSED.dec()
            self._flow_paused = False
        if notify and not self._exit_sent:
            await self._send_exit()
        self.clients.clear()
        metrics.TERMINALS_OPEN.dec()

    async def _watch_exit(self) -> None:
        """When the program ends, deliver what it printed, then `terminal:exit`. Output
        still in the PTY is awaited until EOF, or for `exit_grace` seconds of reading when
        a background job keeps the terminal open."""
        assert self._pty is not None
        code = await self._pty.wait()
        self.exit_code = _exit_code(code)
        waited = 0.0
        while not self._eof.is_set() and waited < self.limits.exit_grace:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.05):
                    await self._eof.wait()
            if not self._flow_paused:
                waited += 0.05
        self._exit_due = True
        self._wake.set()

    # -- clients ------------------------------------------------------------------------

    def attach(self, sid: str, user_id: int, send: Send) -> str:
        """Add (or re-add) a client; returns the scrollback it should show first."""
        self.clients[sid] = Client(sid, user_id, send)
        self.last_activity = time.monotonic()
        self._check_flow()
        return self.scrollback.text()

    def detach(self, sid: str) -> bool:
        client = self.clients.pop(sid, None)
        if client is None:
            return False
        self.last_activity = time.monotonic()
        self._check_flow()
        return True

    def ack(self, sid: str, count: int) -> None:
        client = self.clients.get(sid)
        if client is not None:
            client.unacked = max(0, client.unacked - count)
            self._check_flow()

    # -- input and size -----------------------------------------------------------------

    def write(self, data: bytes) -> None:
        assert self._pty is not None
        self.last_activity = time.monotonic()
        self._pty.write(data)

    def resize(self, cols: int, rows: int) -> None:
        assert self._pty is not None
        self.cols, self.rows = cols, rows
        self._pty.resize(cols, rows)

    # -- output -------------------------------------------------------------------------

    def _on_output(self, data: bytes) -> None:
        self._pending += data
        self.last_activity = time.monotonic()
        if len(self._pending) >= self.limits.batch_bytes:
            self._full.set()
            self._update_reading()
        self._wake.set()

    def _update_reading(self) -> None:
        if self._pty is None or self.closed:
            return
        if self._flow_paused or len(self._pending) >= self.limits.batch_bytes:
            self._pty.pause_reading()
        else:
            self._pty.resume_reading()

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                await self._flowing.wait()
                # Coalesce only while output streams; an echo after a pause goes at once.
                delay = self._last_emit + self.limits.batch_seconds - loop.time()
                if delay > 0 and self._last_size >= STREAMING_BYTES and not self._full.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._full.wait()
                chunk = bytes(self._pending[: self.limits.batch_bytes])
                del self._pending[: self.limits.batch_bytes]
                if len(self._pending) < self.limits.batch_bytes:
                    self._full.clear()
                    self._update_reading()
                await self._emit(chunk)
                self._last_emit, self._last_size = loop.time(), len(chunk)
            if self._exit_due and not self._exit_sent:
                await self._send_exit()

    async def _emit(self, chunk: bytes) -> None:
        self.scrollback.append(chunk)
        metrics.TERMINAL_OUTPUT_BYTES.inc(len(chunk))
        self._pending_count += len(chunk)
        text = self._decoder.decode(chunk)
        if not text:
            return
        count, self._pending_count = self._pending_count, 0
        payload = {"id": self.id, "data": text, "bytes": count}
        for client in list(self.clients.values()):
            client.unacked += count
            if not await client.send("terminal:output", payload):
                self.clients.pop(client.sid, None)
        self._check_flow()

    async def _send_exit(self) -> None:
        self._exit_sent = True
        payload = {"id": self.id, "code": self.exit_code}
        for client in list(self.clients.values()):
            await client.send("terminal:exit", payload)

    # -- flow control -------------------------------------------------------------------

    def _check_flow(self) -> None:
        high, low = self.limits.high_water, self.limits.low_water
        clients = self.clients.values()
        if not self._flow_paused and any(c.unacked > high for c in clients):
            self._flow_paused = True
            self._flowing.clear()
            metrics.TERMINALS_PAUSED.inc()
            metrics.TERMINAL_PAUSES.inc()
            if self._stuck_task is None or self._stuck_task.done():
                self._stuck_task = asyncio.create_task(
                    self._detach_stuck(), name=f"terminal:{self.id}:stuck"
                )
        elif self._flow_paused and all(c.unacked <= low for c in clients):
            self._flow_paused = False
            self._flowing.set()
            metrics.TERMINALS_PAUSED.dec()
        now = time.monotonic()
        for client in clients:
            # Holding the terminal back: over the high mark, or not yet down to the low
            # mark while reading is paused.
            if client.unacked > high or (self._flow_paused and client.unacked > low):
                if client.over_since is None:
                    client.over_since = now
            else:
                client.over_since = None
        self._update_reading()

    async def _detach_stuck(self) -> None:
        """While paused, detach each client that has held the terminal back for too long."""
        while self._flow_paused and not self.closed:
            now = time.monotonic()
            since = [c.over_since for c in self.clients.values() if c.over_since is not None]
            first = min(since, default=now)
            await asyncio.sleep(max(0.0, first + self.limits.stuck_seconds - now) or 0.01)
            now = time.monotonic()
            for client in list(self.clients.values()):
                held = client.over_since
                if held is None or now - held < self.limits.stuck_seconds:
                    continue
                if self.clients.pop(client.sid, None) is None:
                    continue
                metrics.TERMINAL_STUCK_DETACHED.inc()
                log.info("terminal %s: detached stuck client %s", self.id, client.sid)
                await client.send(
                    "terminal:detached", {"id": self.id, "reason": "too much unacknowledged output"}
                )
            self._check_flow()


def _exit_code(returncode: int | None) -> int | None:
    """Shell convention: 128 + N for a program ended by signal N."""
    if returncode is None or returncode >= 0:
        return returncode
    return 128 + signal.Signals(-returncode).value
