"""Socket.IO broadcast fan-out in one workspace room: NEXUS against a bare python-socketio server.

Each round starts both servers afresh, pinned to one core, while this process (the load
generator) is pinned to another. N clients join one room per server; one of them sends and
everybody, the sender included, receives. Latency comes from paced messages, throughput
(deliveries per second across all receivers) from a bounded window of unacknowledged
messages. Within a round the two servers take turns in short bursts (A B B A ...) and the
first one changes each round, so a busy neighbour on a shared machine hits both alike.
Medians over the rounds are reported with the ratio ours/bare.

    .venv/bin/python bench/hub.py [--clients 20] [--rounds 3] [--json PATH]

`--bare-server PORT` runs the bare peer; the benchmark starts it that way itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio

NEXUS = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "nexus"
ADMIN_TOKEN = "bench-admin-token-0123456789"
BARE_ROOM = "bench"
GOAL_RATIO = 0.80
START_TIMEOUT_S = 30.0
PHASE_TIMEOUT_S = 60.0
KINDS = ("ours", "bare")
NAMES = {"ours": "NEXUS", "bare": "bare python-socketio"}


# -- the bare peer ----------------------------------------------------------------------------


def run_bare_server(port: int) -> None:
    """The reference: every sid enters one room on connect; `broadcast` re-emits to it."""
    import uvicorn

    sio = socketio.AsyncServer(async_mode="asgi")

    async def connect(sid: str, _environ: dict[str, Any], _auth: Any = None) -> None:
        await sio.enter_room(sid, BARE_ROOM)

    async def broadcast(_sid: str, data: Any) -> dict[str, bool]:
        await sio.emit("message", data, room=BARE_ROOM)
        return {"ok": True}

    sio.on("connect", connect)
    sio.on("broadcast", broadcast)
    app = socketio.ASGIApp(sio, other_asgi_app=healthz)
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_config=None, ws="websockets-sansio", lifespan="off"
    )


async def healthz(_scope: dict[str, Any], _receive: Any, send: Any) -> None:
    """Answer 200 to any plain HTTP request, so both servers share one readiness check."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


# -- cores and server processes ---------------------------------------------------------------


@dataclass(frozen=True)
class Pinning:
    """The cores of the servers and of the load generator; None when not pinned."""

    server: int | None
    client: int | None

    def command(self, argv: list[str]) -> list[str]:
        return argv if self.server is None else ["taskset", "-c", str(self.server), *argv]

    def describe(self) -> str:
        if self.server is None:
            return "NOT pinned (fewer than 2 cores or no taskset): servers and load share cores"
        return f"servers pinned to core {self.server}, load generator to core {self.client}"

    def busy_seconds(self) -> float:
        """CPU time spent on the pinned cores by anything, from /proc/stat."""
        cores = {f"cpu{self.server}", f"cpu{self.client}"}
        busy = 0
        for line in Path("/proc/stat").read_text().splitlines():
            name, *ticks = line.split()
            if name in cores:  # user nice system idle iowait irq softirq ...
                busy += sum(int(t) for t in ticks[:3]) + int(ticks[5]) + int(ticks[6])
        return busy / os.sysconf("SC_CLK_TCK")


def choose_pinning() -> Pinning:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2 or shutil.which("taskset") is None:
        return Pinning(None, None)
    return Pinning(cores[0], cores[1])


@dataclass
class Server:
    """A server subprocess and what a client needs to reach its room."""

    kind: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    workspace: str = ""

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the server process, from /proc."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_argv(kind: str, port: int, scratch: Path) -> list[str]:
    if kind == "bare":
        return [sys.executable, str(Path(__file__).resolve()), "--bare-server", str(port)]
    return [
        str(NEXUS), "serve", "--host", "127.0.0.1", "--port", str(port),
        "--data-dir", str(scratch / "data"), "--workspace-root", str(scratch / "workspaces"),
        "--admin-token", ADMIN_TOKEN, "--log-level", "warning",
    ]  # fmt: skip


def spawn(kind: str, scratch: Path, pinning: Pinning) -> Server:
    """Start a server in its own scratch folder without the caller's NEXUS_* settings, so a
    stray Redis URL or .env cannot change what is measured."""
    port = free_port()
    scratch.mkdir(parents=True)
    log = scratch / "server.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEXUS_")}
    with log.open("wb") as out:
        process = subprocess.Popen(
            pinning.command(server_argv(kind, port, scratch)),
            cwd=scratch,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(kind, process, f"http://127.0.0.1:{port}", log)


async def wait_ready(server: Server, http: aiohttp.ClientSession) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and server.process.poll() is None:
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(f"{server.url}/healthz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)
    tail = server.log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"{NAMES[server.kind]} did not become ready:\n{tail}")


async def create_workspace(server: Server, http: aiohttp.ClientSession) -> str:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    url = f"{server.url}/api/v1/workspaces"
    async with http.post(url, json={"name": "bench"}, headers=headers) as response:
        body = await response.json()
        if response.status != 201:
            raise RuntimeError(f"creating the workspace failed: {response.status} {body}")
        return str(body["id"])


async def start_servers(
    tmp: Path, pinning: Pinning, http: aiohttp.ClientSession, stack: contextlib.AsyncExitStack
) -> dict[str, Server]:
    """Both servers, started side by side and stopped when `stack` closes."""
    servers = {kind: spawn(kind, tmp / kind, pinning) for kind in KINDS}
    for server in servers.values():
        stack.push_async_callback(asyncio.to_thread, server.stop)
    await asyncio.gather(*(wait_ready(server, http) for server in servers.values()))
    servers["ours"].workspace = await create_workspace(servers["ours"], http)
    return servers


# -- clients and rooms ------------------------------------------------------------------------


@dataclass
class Deliveries:
    """What every receiver of one room got in the current burst. Messages of another burst
    (late ones after a timeout) are ignored. Kept small: it runs once per delivery."""

    phase: int = 0
    expected: int = 0
    count: int = 0
    last: float = 0.0
    latencies: list[float] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self, expected: int) -> int:
        self.phase += 1
        self.expected, self.count, self.last, self.latencies = expected, 0, time.perf_counter(), []
        self.done.clear()
        return self.phase

    def receive(self, message: dict[str, Any]) -> None:
        now = time.perf_counter()
        data = message["data"]
        if data["phase"] != self.phase:
            return
        self.count += 1
        self.last = now
        self.latencies.append(now - data["t"])
        if self.count >= self.expected:
            self.done.set()

    async def wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.done.wait(), PHASE_TIMEOUT_S)


@dataclass
class Room:
    """N connected clients in one room of one server; `clients[0]` sends."""

    server: Server
    clients: list[socketio.AsyncClient]
    deliveries: Deliveries

    @property
    def send_event(self) -> str:
        return "workspace:broadcast" if self.server.kind == "ours" else "broadcast"

    def envelope(self, phase: int, pad: str) -> dict[str, Any]:
        """The same payload for both servers; the bare one echoes it whole."""
        data = {"phase": phase, "t": time.perf_counter(), "pad": pad}
        return {"workspace": self.server.workspace, "topic": "bench", "data": data}


async def connect_client(server: Server, deliveries: Deliveries) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    client.on("workspace:message" if server.kind == "ours" else "message", deliveries.receive)
    await client.connect(
        server.url, auth={"token": ADMIN_TOKEN}, transports=["websocket"], wait_timeout=10
    )
    if server.kind == "ours":
        ack = await client.call("workspace:join", {"workspace": server.workspace}, timeout=10)
        if not ack.get("ok"):
            raise RuntimeError(f"workspace:join failed: {ack}")
    return client


async def open_room(server: Server, count: int, stack: contextlib.AsyncExitStack) -> Room:
    """Connect one by one (each join announces presence to all before it); the clients
    disconnect when `stack` closes."""
    room = Room(server, [], Deliveries())
    stack.push_async_callback(close_room, room)
    for _ in range(count):
        room.clients.append(await connect_client(server, room.deliveries))
    return room


async def close_room(room: Room) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            await asyncio.gather(*(c.disconnect() for c in room.clients), return_exceptions=True)


# -- sending ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    clients: int
    latency_messages: int  # per server per round, split over the bursts
    interval_s: float
    messages: int  # throughput messages per server per round, split over the bursts
    window: int
    bursts: int
    warmup: int
    pad: str


async def send_paced(room: Room, load: Load, phase: int, count: int) -> int:
    """One message every interval on an absolute schedule, so a late wake-up does not
    stretch the run; no acks are asked for, as a notifying client would not wait either."""
    start = time.perf_counter()
    for index in range(count):
        delay = start + index * load.interval_s - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await room.clients[0].emit(room.send_event, room.envelope(phase, load.pad))
    return 0


async def send_windowed(room: Room, load: Load, phase: int, count: int) -> int:
    """Send `count` messages with at most `load.window` unacknowledged; returns how many
    the server refused."""
    window = asyncio.Semaphore(load.window)
    refused = 0

    def acked(reply: Any = None) -> None:
        nonlocal refused
        window.release()
        if not (isinstance(reply, dict) and reply.get("ok")):
            refused += 1

    for _ in range(count):
        await window.acquire()
        await room.clients[0].emit(room.send_event, room.envelope(phase, load.pad), callback=acked)
    async with asyncio.timeout(PHASE_TIMEOUT_S):
        for _ in range(load.window):
            await window.acquire()
    return refused


# -- measuring --------------------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile; NaN when nothing arrived."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


@dataclass
class Measurement:
    """One server in one round."""

    server: str
    throughput: float  # deliveries per second, all receivers together
    p50_ms: float
    p99_ms: float
    server_cpu_us: float  # server CPU time per delivery in the throughput bursts
    server_busy: float  # server CPU time / elapsed in the throughput bursts
    loadgen_busy: float  # this process's CPU time / elapsed in the throughput bursts
    others_busy: float  # CPU time of other processes on the pinned cores / elapsed
    lost: int  # deliveries that did not arrive in time
    refused: int  # broadcasts the server acknowledged with an error


@dataclass
class Tally:
    """One server's bursts of one round, added up."""

    latencies: list[float] = field(default_factory=list)
    deliveries: int = 0
    elapsed: float = 0.0
    server_cpu: float = 0.0
    loadgen_cpu: float = 0.0
    others_cpu: float = 0.0
    lost: int = 0
    refused: int = 0

    def measurement(self, kind: str) -> Measurement:
        elapsed = max(self.elapsed, 1e-9)
        return Measurement(
            server=kind,
            throughput=self.deliveries / elapsed,
            p50_ms=percentile(self.latencies, 0.50) * 1e3,
            p99_ms=percentile(self.latencies, 0.99) * 1e3,
            server_cpu_us=self.server_cpu / max(self.deliveries, 1) * 1e6,
            server_busy=self.server_cpu / elapsed,
            loadgen_busy=self.loadgen_cpu / elapsed,
            others_busy=max(self.others_cpu, 0.0) / elapsed,
            lost=self.lost,
            refused=self.refused,
        )


Sender = Callable[[Room, Load, int, int], Coroutine[Any, Any, int]]


async def burst(room: Room, load: Load, send: Sender, count: int, tally: Tally) -> None:
    """Send `count` messages and wait for every delivery (or the phase timeout)."""
    expected = count * len(room.clients)
    pinned = room.server.process.pid and load_pinning.server is not None
    server0, own0 = room.server.cpu_seconds(), time.process_time()
    cores0 = load_pinning.busy_seconds() if pinned else 0.0
    phase = room.deliveries.start(expected)
    start = room.deliveries.last
    tally.refused += await send(room, load, phase, count)
    await room.deliveries.wait()
    server_cpu, own_cpu = room.server.cpu_seconds() - server0, time.process_time() - own0
    cores = load_pinning.busy_seconds() - cores0 if pinned else server_cpu + own_cpu
    tally.latencies += room.deliveries.latencies
    tally.deliveries += room.deliveries.count
    tally.elapsed += room.deliveries.last - start
    tally.server_cpu += server_cpu
    tally.loadgen_cpu += own_cpu
    tally.others_cpu += cores - server_cpu - own_cpu
    tally.lost += expected - room.deliveries.count


def turns(first: str, bursts: int) -> list[str]:
    """A B B A A B ...: each server gets the first and the second slot equally often."""
    second = KINDS[1 - KINDS.index(first)]
    return [kind for i in range(bursts) for kind in ((first, second)[:: 1 - 2 * (i % 2)])]
