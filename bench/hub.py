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
import math
import os
import shutil
import signal
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
            if name in cores:  # user nice system: what process times count too
                busy += sum(int(t) for t in ticks[:3])
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
    for server in servers.values():  # both are starting already
        await wait_ready(server, http)
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
    client = socketio.AsyncClient(reconnection=False, handle_sigint=False)  # asyncio's own
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
class Burst:
    """One burst of messages to one server."""

    expected: int
    deliveries: int
    latencies: list[float]
    elapsed: float  # first send to last delivery
    server_cpu: float
    loadgen_cpu: float
    others_cpu: float  # other processes on the pinned cores; NaN when not pinned
    refused: int


Sender = Callable[[Room, Load, int, int], Coroutine[Any, Any, int]]


async def burst(room: Room, load: Load, pinning: Pinning, send: Sender, count: int) -> Burst:
    """Send `count` messages and wait for every delivery (or the phase timeout)."""
    expected = count * len(room.clients)
    pinned = pinning.server is not None
    cores = pinning.busy_seconds() if pinned else 0.0
    server_cpu, loadgen_cpu = room.server.cpu_seconds(), time.process_time()
    phase = room.deliveries.start(expected)
    start = room.deliveries.last
    refused = await send(room, load, phase, count)
    await room.deliveries.wait()
    server_cpu = room.server.cpu_seconds() - server_cpu
    loadgen_cpu = time.process_time() - loadgen_cpu
    others = pinning.busy_seconds() - cores - server_cpu - loadgen_cpu if pinned else math.nan
    return Burst(
        expected=expected,
        deliveries=room.deliveries.count,
        latencies=room.deliveries.latencies,
        elapsed=room.deliveries.last - start,
        server_cpu=server_cpu,
        loadgen_cpu=loadgen_cpu,
        others_cpu=max(others, 0.0) if pinned else others,
        refused=refused,
    )


@dataclass
class Measurement:
    """One server in one round: its latency bursts and throughput bursts added up."""

    server: str
    throughput: float  # deliveries per second, all receivers together
    p50_ms: float
    p99_ms: float
    server_cpu_us: float  # server CPU time per delivery, throughput bursts
    capacity: float  # deliveries per second of server CPU: throughput were the server the limit
    server_busy: float  # server CPU time / elapsed, throughput bursts
    loadgen_busy: float  # this process's CPU time / elapsed, throughput bursts
    others_busy: float  # other processes' CPU time on the pinned cores / elapsed
    lost: int  # deliveries that did not arrive in time
    refused: int  # broadcasts the server acknowledged with an error

    @classmethod
    def of(cls, kind: str, latency: list[Burst], throughput: list[Burst]) -> Measurement:
        elapsed = max(sum(b.elapsed for b in throughput), 1e-9)
        deliveries = sum(b.deliveries for b in throughput)
        latencies = [sample for b in latency for sample in b.latencies]
        server_cpu = max(sum(b.server_cpu for b in throughput), 1e-9)
        everything = latency + throughput
        return cls(
            server=kind,
            throughput=deliveries / elapsed,
            p50_ms=percentile(latencies, 0.50) * 1e3,
            p99_ms=percentile(latencies, 0.99) * 1e3,
            server_cpu_us=server_cpu / max(deliveries, 1) * 1e6,
            capacity=deliveries / server_cpu,
            server_busy=server_cpu / elapsed,
            loadgen_busy=sum(b.loadgen_cpu for b in throughput) / elapsed,
            others_busy=sum(b.others_cpu for b in throughput) / elapsed,
            lost=sum(b.expected - b.deliveries for b in everything),
            refused=sum(b.refused for b in everything),
        )


def schedule(first: str, total: int, bursts: int) -> list[tuple[str, int]]:
    """(server, messages) per burst, A B B A A B ...: each server goes first and second
    equally often and gets the same message counts."""
    order = (first, KINDS[1 - KINDS.index(first)])
    plan: list[tuple[str, int]] = []
    for i in range(bursts):
        count = total // bursts + (i < total % bursts)
        plan += [(kind, count) for kind in (order if i % 2 == 0 else order[::-1])]
    return plan


async def run_round(
    index: int, tmp: Path, pinning: Pinning, load: Load, http: aiohttp.ClientSession
) -> list[Measurement]:
    """Fresh servers and rooms, a warm-up, then latency bursts and throughput bursts taking
    turns between the servers; everything started here is stopped on the way out."""
    latency: dict[str, list[Burst]] = {kind: [] for kind in KINDS}
    throughput: dict[str, list[Burst]] = {kind: [] for kind in KINDS}
    async with contextlib.AsyncExitStack() as stack:
        servers = await start_servers(tmp / f"round-{index}", pinning, http, stack)
        rooms = {kind: await open_room(servers[kind], load.clients, stack) for kind in KINDS}
        for room in rooms.values():
            await burst(room, load, pinning, send_windowed, load.warmup)
        first = KINDS[index % 2]
        for kind, count in schedule(first, load.latency_messages, load.bursts):
            latency[kind].append(await burst(rooms[kind], load, pinning, send_paced, count))
        for kind, count in schedule(first, load.messages, load.bursts):
            throughput[kind].append(await burst(rooms[kind], load, pinning, send_windowed, count))
    return [Measurement.of(kind, latency[kind], throughput[kind]) for kind in KINDS]


async def bench(rounds: int, pinning: Pinning, load: Load) -> list[Measurement]:
    """All rounds; SIGTERM cancels like Ctrl-C does, so the servers are stopped either way."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="nexus-bench-") as tmp:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            for index in range(rounds):
                measured = await run_round(index, Path(tmp), pinning, load, http)
                print_round(index + 1, measured)
                results += measured
    return results


# -- reporting --------------------------------------------------------------------------------


METRICS = [
    ("throughput (deliveries/s)", "throughput", "{:,.0f}"),
    ("latency p50 (ms)", "p50_ms", "{:.2f}"),
    ("latency p99 (ms)", "p99_ms", "{:.2f}"),
    ("server CPU per delivery (us)", "server_cpu_us", "{:.1f}"),
    ("server capacity (deliveries/CPU-s)", "capacity", "{:,.0f}"),
    ("server CPU busy", "server_busy", "{:.0%}"),
    ("load generator CPU busy", "loadgen_busy", "{:.0%}"),
]


def print_round(number: int, measured: list[Measurement]) -> None:
    for m in measured:
        print(
            f"round {number}  {NAMES[m.server]:<20} {m.throughput:>8,.0f} deliveries/s  "
            f"p50 {m.p50_ms:6.2f} ms  p99 {m.p99_ms:6.2f} ms  "
            f"server {m.server_busy:4.0%} busy {m.server_cpu_us:5.1f} us/delivery  "
            f"load gen {m.loadgen_busy:4.0%}  others {m.others_busy:4.0%}"
            + (f"  LOST {m.lost}" if m.lost else "")
            + (f"  REFUSED {m.refused}" if m.refused else ""),
            flush=True,
        )


def medians(results: list[Measurement], kind: str) -> dict[str, float]:
    mine = [r for r in results if r.server == kind]
    names = [name for name in Measurement.__dataclass_fields__ if name != "server"]
    return {name: statistics.median(getattr(r, name) for r in mine) for name in names}


def report(results: list[Measurement], load: Load, pinning: Pinning) -> dict[str, Any]:
    """Print the table of medians and the goal line; return everything for --json."""
    ours, bare = medians(results, "ours"), medians(results, "bare")
    ratio = ours["throughput"] / bare["throughput"]
    print(
        f"\n{load.clients} clients in one room, {len(load.pad)}-byte padding, window "
        f"{load.window}; medians of {len(results) // 2} round(s); {pinning.describe()}\n"
    )
    header = f"{'metric':<34} | {NAMES['ours']:>10} | {NAMES['bare']:>20} | {'ratio':>5}"
    print(header)
    print("-" * len(header))
    for label, name, fmt in METRICS:
        ours_cell, bare_cell = fmt.format(ours[name]), fmt.format(bare[name])
        print(f"{label:<34} | {ours_cell:>10} | {bare_cell:>20} | {ours[name] / bare[name]:>5.2f}")
    print()
    if pinning.server is not None:
        print(
            f"other processes on the pinned cores: {ours['others_busy']:.0%} of a core while "
            f"NEXUS was measured, {bare['others_busy']:.0%} while the bare server was"
        )
    print(f"throughput ratio >= {GOAL_RATIO:.2f}: {'PASS' if ratio >= GOAL_RATIO else 'FAIL'}")
    if any(m["loadgen_busy"] >= 0.95 and m["server_busy"] < 0.9 for m in (ours, bare)):
        print(
            "NOTE: the load generator used all of its core while a server had time to spare, so\n"
            "the client capped throughput and the ratio stays near 1 whatever the servers cost;\n"
            "the server CPU rows (per delivery, capacity) compare the servers themselves."
        )
    if any(r.lost or r.refused for r in results):
        print("WARNING: deliveries were lost or broadcasts refused; see the rounds above")
    return {
        "load": asdict(load) | {"pad": len(load.pad)},
        "pinning": pinning.describe(),
        "medians": {"ours": ours, "bare": bare},
        "throughput_ratio": ratio,
        "goal_met": ratio >= GOAL_RATIO,
        "rounds": [asdict(r) for r in results],
    }


# -- command line -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add = parser.add_argument
    add("--clients", type=int, default=20, help="clients in each room (default 20)")
    add("--rounds", type=int, default=3, help="rounds, each measuring both servers (default 3)")
    add("--messages", type=int, default=2000, help="throughput messages per round (default 2000)")
    add("--window", type=int, default=32, help="unacknowledged messages at most (default 32)")
    add("--latency-messages", type=int, default=400, help="paced messages per round (default 400)")
    add("--interval-ms", type=float, default=5.0, help="pace of latency messages (default 5)")
    add("--bursts", type=int, default=4, help="bursts per server and phase (default 4)")
    add("--size", type=int, default=256, help="padding bytes per message (default 256)")
    add("--json", type=Path, help="also write the numbers to this file")
    add("--bare-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    counts = (args.clients, args.rounds, args.window, args.bursts)
    if min(counts) < 1 or min(args.messages, args.latency_messages) < args.bursts:
        parser.error("counts must be at least 1, message counts at least --bursts")
    return args


def event_loop() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop when installed, as under uvicorn: a cheaper load generator saturates more."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.bare_server is not None:
        run_bare_server(args.bare_server)
        return
    pinning = choose_pinning()
    if pinning.client is not None:
        os.sched_setaffinity(0, {pinning.client})
    load = Load(
        clients=args.clients,
        latency_messages=args.latency_messages,
        interval_s=args.interval_ms / 1e3,
        messages=args.messages,
        window=args.window,
        bursts=args.bursts,
        warmup=min(200, args.messages),
        pad="x" * args.size,
    )
    print(f"hub broadcast benchmark: {pinning.describe()}", flush=True)
    try:
        with asyncio.Runner(loop_factory=event_loop()) as runner:
            results = runner.run(bench(args.rounds, pinning, load))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("interrupted; the servers were stopped")
    summary = report(results, load, pinning)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
