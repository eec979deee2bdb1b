"""Socket.IO broadcast fan-out in one workspace room: NEXUS against a bare python-socketio server.

Both servers run as fresh subprocesses pinned to one core; this process, the load generator,
is pinned to another. N clients join one room; one of them sends, everybody (sender included)
receives. Two phases per server: paced messages for latency, then a bounded window of
in-flight messages for throughput (deliveries per second across all receivers). Rounds
alternate which server goes first and the medians are reported, with the ratio ours/bare.

    .venv/bin/python bench/hub.py [--clients 20] [--rounds 3] [--json PATH]

`--bare-server PORT` runs the bare peer (used by the benchmark itself).
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
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio

ROOT = Path(__file__).resolve().parent.parent
NEXUS = ROOT / ".venv" / "bin" / "nexus"
ADMIN_TOKEN = "bench-admin-token-0123456789"
BARE_ROOM = "bench"
GOAL_RATIO = 0.80
START_TIMEOUT_S = 30.0
PHASE_TIMEOUT_S = 60.0
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


# -- server processes -------------------------------------------------------------------------


@dataclass(frozen=True)
class Pinning:
    """Which cores the servers and the load generator get; None when there is only one."""

    server: int | None
    client: int | None

    def command(self, argv: list[str]) -> list[str]:
        return argv if self.server is None else ["taskset", "-c", str(self.server), *argv]

    def describe(self) -> str:
        if self.server is None:
            return "not pinned (fewer than 2 cores or no taskset): servers share the load core"
        return f"servers pinned to core {self.server}, load generator to core {self.client}"


def choose_pinning() -> Pinning:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2 or shutil.which("taskset") is None:
        return Pinning(None, None)
    return Pinning(cores[0], cores[1])


@dataclass
class Server:
    """A running server subprocess, with what a client needs to reach its room."""

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
    """Start a server in its own scratch folder, without NEXUS_* settings from the caller,
    so a stray Redis URL or .env cannot change what is measured."""
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
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(f"{server.url}/healthz") as response:
                if response.status == 200:
                    return
        await asyncio.sleep(0.1)
    tail = server.log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"{NAMES[server.kind]} did not become ready:\n{tail}")


async def create_workspace(server: Server, http: aiohttp.ClientSession) -> str:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with http.post(
        f"{server.url}/api/v1/workspaces", json={"name": "bench"}, headers=headers
    ) as response:
        body = await response.json()
        if response.status != 201:
            raise RuntimeError(f"creating the workspace failed: {response.status} {body}")
        return str(body["id"])


# -- the load -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    clients: int
    latency_messages: int
    interval_s: float
    messages: int
    window: int
    warmup: int
    pad: str


@dataclass
class Deliveries:
    """Counts what every receiver got in the current phase; messages of other phases (late
    ones after a timeout) are ignored. Kept tiny: it runs once per delivery."""

    phase: int = 0
    expected: int = 0
    count: int = 0
    last: float = 0.0
    latencies: list[float] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self, phase: int, expected: int) -> None:
        self.phase, self.expected, self.count = phase, expected, 0
        self.last = time.perf_counter()
        self.latencies = []
        self.done.clear()

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
    """N connected clients in one room; `clients[0]` sends."""

    server: Server
    clients: list[socketio.AsyncClient]
    deliveries: Deliveries
    phases: Iterator[int]

    @property
    def send_event(self) -> str:
        return "workspace:broadcast" if self.server.kind == "ours" else "broadcast"

    def envelope(self, phase: int, pad: str) -> dict[str, Any]:
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


async def open_room(server: Server, count: int) -> Room:
    deliveries = Deliveries()
    clients: list[socketio.AsyncClient] = []
    try:
        for _ in range(count):  # one by one: joins announce presence to everyone already in
            clients.append(await connect_client(server, deliveries))
    except BaseException:
        await close_room(clients)
        raise
    return Room(server, clients, deliveries, iter(range(1, 1_000_000)))


async def close_room(clients: list[socketio.AsyncClient]) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)


async def send_paced(room: Room, load: Load, phase: int) -> None:
    """One message every interval on an absolute schedule, so a late wake-up does not
    stretch the run; no acks are asked for, as a client would not wait for them either."""
    start = time.perf_counter()
    for index in range(load.latency_messages):
        delay = start + index * load.interval_s - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await room.clients[0].emit(room.send_event, room.envelope(phase, load.pad))


async def send_windowed(room: Room, load: Load, phase: int, count: int) -> int:
    """Send `count` messages with at most `load.window` unacknowledged; returns refusals."""
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
    server_cpu_us: float  # server CPU time per delivery in the throughput phase
    server_busy: float  # server CPU time / elapsed in the throughput phase
    loadgen_busy: float  # this process's CPU time / elapsed in the throughput phase
    lost: int  # deliveries that did not arrive in time, both phases
    refused: int  # broadcasts the server acknowledged with an error


async def run_phase(room: Room, expected: int, send: Callable[[int], Awaitable[Any]]) -> Any:
    phase = next(room.phases)
    room.deliveries.start(phase, expected)
    result = await send(phase)
    await room.deliveries.wait()
    return result


async def measure(room: Room, load: Load) -> Measurement:
    n, deliveries = len(room.clients), room.deliveries
    await run_phase(room, load.warmup * n, lambda p: send_windowed(room, load, p, load.warmup))
    await run_phase(room, load.latency_messages * n, lambda p: send_paced(room, load, p))
    latencies, lost = deliveries.latencies, load.latency_messages * n - deliveries.count

    cpu0, own0, start = room.server.cpu_seconds(), time.process_time(), time.perf_counter()
    refused = await run_phase(
        room, load.messages * n, lambda p: send_windowed(room, load, p, load.messages)
    )
    elapsed = max(deliveries.last - start, 1e-9)
    server_cpu, own_cpu = room.server.cpu_seconds() - cpu0, time.process_time() - own0
    lost += load.messages * n - deliveries.count
    return Measurement(
        server=room.server.kind,
        throughput=deliveries.count / elapsed,
        p50_ms=percentile(latencies, 0.50) * 1e3,
        p99_ms=percentile(latencies, 0.99) * 1e3,
        server_cpu_us=server_cpu / max(deliveries.count, 1) * 1e6,
        server_busy=server_cpu / elapsed,
        loadgen_busy=own_cpu / elapsed,
        lost=lost,
        refused=refused,
    )


async def bench_server(
    kind: str, scratch: Path, pinning: Pinning, load: Load, http: aiohttp.ClientSession
) -> Measurement:
    """Fresh server, room, measurement; the server is stopped whatever happens."""
    server = spawn(kind, scratch, pinning)
    try:
        await wait_ready(server, http)
        if kind == "ours":
            server.workspace = await create_workspace(server, http)
        room = await open_room(server, load.clients)
        try:
            return await measure(room, load)
        finally:
            await close_room(room.clients)
    finally:
        await asyncio.to_thread(server.stop)


async def bench(rounds: int, pinning: Pinning, load: Load) -> list[Measurement]:
    """Alternate which server goes first, so drift on a shared machine hits both alike."""
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="nexus-bench-") as tmp:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            for index in range(rounds):
                order = ("ours", "bare") if index % 2 == 0 else ("bare", "ours")
                for kind in order:
                    result = await bench_server(
                        kind, Path(tmp) / f"{index}-{kind}", pinning, load, http
                    )
                    print_round(index + 1, result)
                    results.append(result)
    return results


# -- reporting -----------------------------------------------------------------------------------


METRICS = [
    ("throughput (deliveries/s)", "throughput", "{:,.0f}"),
    ("latency p50 (ms)", "p50_ms", "{:.2f}"),
    ("latency p99 (ms)", "p99_ms", "{:.2f}"),
    ("server CPU per delivery (us)", "server_cpu_us", "{:.1f}"),
    ("server CPU busy (throughput)", "server_busy", "{:.0%}"),
    ("load generator CPU busy", "loadgen_busy", "{:.0%}"),
]


def print_round(number: int, m: Measurement) -> None:
    print(
        f"round {number} {NAMES[m.server]:<21} {m.throughput:>9,.0f} deliveries/s  "
        f"p50 {m.p50_ms:6.2f} ms  p99 {m.p99_ms:6.2f} ms  "
        f"server {m.server_busy:4.0%} busy, {m.server_cpu_us:5.1f} us/delivery  "
        f"load gen {m.loadgen_busy:4.0%} busy"
        + (f"  LOST {m.lost}" if m.lost else "")
        + (f"  REFUSED {m.refused}" if m.refused else ""),
        flush=True,
    )


def medians(results: list[Measurement], kind: str) -> dict[str, float]:
    mine = [r for r in results if r.server == kind]
    return {attr: statistics.median(getattr(r, attr) for r in mine) for _, attr, _ in METRICS}


def report(results: list[Measurement], load: Load, pinning: Pinning) -> dict[str, Any]:
    ours, bare = medians(results, "ours"), medians(results, "bare")
    ratio = ours["throughput"] / bare["throughput"]
    rounds = len(results) // 2
    print(
        f"\n{load.clients} clients in one room, {len(load.pad)}-byte padding; "
        f"medians of {rounds} round(s); {pinning.describe()}\n"
    )
    header = f"{'metric':<30} | {NAMES['ours']:>12} | {NAMES['bare']:>20} | {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for label, attr, fmt in METRICS:
        cells = (fmt.format(ours[attr]), fmt.format(bare[attr]), ours[attr] / bare[attr])
        print(f"{label:<30} | {cells[0]:>12} | {cells[1]:>20} | {cells[2]:>6.2f}")
    print(f"\nthroughput ratio >= {GOAL_RATIO:.2f}: {'PASS' if ratio >= GOAL_RATIO else 'FAIL'}")
    problems = sum(r.lost + r.refused for r in results)
    if problems:
        print(f"WARNING: {problems} deliveries lost or broadcasts refused; see the rounds above")
    return {
        "load": asdict(load) | {"pad": len(load.pad)},
        "pinning": pinning.describe(),
        "medians": {"ours": ours, "bare": bare},
        "throughput_ratio": ratio,
        "goal_met": ratio >= GOAL_RATIO,
        "rounds": [asdict(r) for r in results],
    }


# -- command line ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add = parser.add_argument
    add("--clients", type=int, default=20, help="clients in the room (default 20)")
    add("--rounds", type=int, default=3, help="rounds, each measuring both servers (default 3)")
    add("--messages", type=int, default=2000, help="throughput messages per round (default 2000)")
    add("--window", type=int, default=32, help="unacknowledged messages at most (default 32)")
    add("--latency-messages", type=int, default=300, help="paced messages (default 300)")
    add("--interval-ms", type=float, default=5.0, help="pace of latency messages (default 5)")
    add("--size", type=int, default=256, help="padding bytes per message (default 256)")
    add("--json", type=Path, help="also write the numbers to this file")
    add("--bare-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.clients, args.rounds, args.messages, args.window, args.latency_messages) < 1:
        parser.error("counts must be at least 1")
    return args


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
        warmup=min(200, args.messages),
        pad="x" * args.size,
    )
    print(f"hub broadcast benchmark: {pinning.describe()}", flush=True)
    results = asyncio.run(bench(args.rounds, pinning, load))
    summary = report(results, load, pinning)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
