"""Webhooks under an editing load: event-to-delivery latency, deliveries per second, and
whether 50 subscribed extensions slow the edit fan-out down.

Each round starts a fresh NEXUS (pinned to one core); this process (20 collaborators
editing one shared document over /yjs, each every 250 ms) and a webhook receiver (its own
process) run on the other core. 50 extensions are registered, each with its own receiver
URL, subscribed to `document.changed` and `file.saved` (the edits' write-backs make
those, so webhooks flow all along). Phases alternate ABBA (`without, with, with,
without`, twice) so that drift, and a busy neighbour, hit both alike:

- **without**: the extensions are disabled (nothing is delivered);
- **with**: they are enabled.

In every phase a probe saves a file over REST every 250 ms (the same load either way);
with the extensions, the time from the probe's save request to each extension's signed
`file.saved` arriving is the event-to-delivery latency. The edit fan-out is the time from
one collaborator's edit to each of the other 19 seeing it. A burst then saves 40 files
at once (2,000 deliveries) for the peak deliveries per second. Figures are medians over
all phases of a kind; each phase line also says how much CPU other processes took from
the two cores meanwhile (a shared machine's noise).

    .venv/bin/python bench/webhooks.py [--rounds 3] [--seconds 5] [--json PATH]
        [--set NEXUS_WEBHOOK_CONCURRENCY=4]

`--receiver PORT` runs the receiver; the benchmark starts it that way itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import websockets
from pycrdt import Doc, Provider, Text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests._yclient import WebSocketChannel

NEXUS = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "nexus"
ADMIN = {"Authorization": "Bearer bench-admin-token-0123456789"}
MARKER = re.compile(r"<(\d+):(\d+)>")
EDIT_INTERVAL_S = 0.25
PROBE_INTERVAL_S = 0.25
BURST_FILES = 40
ORDER = ("without", "with", "with", "without") * 2  # ABBA: drift hits both alike
WARM_UP_S = 3.0
PHASE_WARM_UP_S = 1.0  # editing on a phase's new document before it is measured


# -- the receiver (its own process) -----------------------------------------------------------


ANSWER_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"


def run_receiver(port: int) -> None:
    """A bare HTTP/1.1 server (httptools): it stands in for services on other machines,
    so it must take as little as possible of the core the collaborators are measured on
    (aiohttp took about 15% of it at 280 deliveries a second)."""
    import httptools

    records: list[list[Any]] = []

    class Hook(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.parser = httptools.HttpRequestParser(self)
            self.url, self.body = b"", b""

        def data_received(self, data: bytes) -> None:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.transport.close()

        def on_url(self, url: bytes) -> None:
            self.url += url

        def on_body(self, body: bytes) -> None:
            self.body += body

        def on_message_complete(self) -> None:
            url, body, self.url, self.body = self.url, self.body, b"", b""
            if url == b"/stats":
                answer = json.dumps(records).encode()
                records.clear()
            else:
                event = json.loads(body)
                path = event["data"].get("path", "")
                records.append([time.time(), url.rsplit(b"/", 1)[-1].decode(), event["type"], path])
                answer = b"{}"
            self.transport.write(ANSWER_HEAD % len(answer) + answer)

    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(Hook, "127.0.0.1", port)
        await server.serve_forever()

    asyncio.run(serve())


# -- processes and cores ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cores() -> tuple[int, int] | None:
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2 or shutil.which("taskset") is None:
        return None
    return available[0], available[1]


def spawn(argv: list[str], core: int | None, scratch: Path, env: dict[str, str]) -> Any:
    pinned = argv if core is None else ["taskset", "-c", str(core), *argv]
    log = (scratch / f"{Path(argv[1]).name}.log").open("wb")
    return subprocess.Popen(pinned, cwd=scratch, env=env, stdout=log, stderr=subprocess.STDOUT)


def start_nexus(scratch: Path, port: int, core: int | None, settings: list[str]) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")}
    env.update(NEXUS_WEBHOOK_ALLOWED_HOSTS="127.0.0.1", NEXUS_VOICE_PRELOAD="false")
    env.update(setting.split("=", 1) for setting in settings)
    argv = [
        str(NEXUS), "serve", "--port", str(port), "--data-dir", str(scratch / "data"),
        "--workspace-root", str(scratch / "ws"), "--admin-token", ADMIN["Authorization"][7:],
        "--log-level", "warning",
    ]  # fmt: skip
    return spawn(argv, core, scratch, env)


def nexus_pid(process: Any) -> int:
    """The server's own pid (under `taskset` it is the same process after exec)."""
    return int(process.pid)


async def wait_ready(http: aiohttp.ClientSession, url: str) -> None:
    async with asyncio.timeout(60):
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)


# -- collaborators ----------------------------------------------------------------------------


class Room:
    """N collaborators on one document; records edit → other collaborator latencies."""

    def __init__(self) -> None:
        self.sent: dict[tuple[int, int], float] = {}
        self.latencies: list[float] = []
        self.recording = False
        self.texts: list[Text] = []
        self.stack = contextlib.AsyncExitStack()

    async def leave(self) -> None:
        await self.stack.aclose()

    def observer(self, me: int) -> Any:
        def seen(event: Any) -> None:
            now = time.perf_counter()
            for item in event.delta:
                insert = item.get("insert")
                if not isinstance(insert, str):
                    continue
                for who, seq in MARKER.findall(insert):
                    sent = self.sent.get((int(who), int(seq)))
                    if int(who) != me and sent is not None and self.recording:
                        self.latencies.append((now - sent) * 1000)

        return seen

    async def join(self, url: str, count: int) -> None:
        stack = self.stack
        for me in range(count):
            doc = Doc()
            text = doc.get("source", type=Text)
            connection = await stack.enter_async_context(websockets.connect(url, max_size=None))
            provider = Provider(doc, WebSocketChannel(connection, url))
            await stack.enter_async_context(provider)
            async with asyncio.timeout(10):
                await provider.synced.wait()
            text.observe(self.observer(me))
            self.texts.append(text)

    async def edit(self, seconds: float) -> None:
        async def typist(me: int, text: Text) -> None:
            await asyncio.sleep(EDIT_INTERVAL_S * me / len(self.texts))
            deadline, seq = time.perf_counter() + seconds, 0
            while time.perf_counter() < deadline:
                seq += 1
                self.sent[(me, seq)] = time.perf_counter()
                text += f"<{me}:{seq}>"
                await asyncio.sleep(EDIT_INTERVAL_S)

        await asyncio.gather(*(typist(me, text) for me, text in enumerate(self.texts)))


# -- phases -----------------------------------------------------------------------------------


def pct(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def cpu_seconds(pid: int, *, children_too: bool = False) -> float:
    """User plus system CPU time of a process (its threads included), and with
    `children_too` of its children (the server's webhook courier), from /proc."""
    total = 0.0
    for one in (pid, *(children(pid) if children_too else ())):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in task.read_text().split()]
    return [*found, *(grandchild for child in found for grandchild in children(child))]


def cores_busy(cores: set[int]) -> float:
    """CPU seconds spent on these cores by anything (user, nice, system), from /proc/stat."""
    names = {f"cpu{core}" for core in cores}
    busy = 0
    for line in Path("/proc/stat").read_text().splitlines():
        name, *ticks = line.split()
        if name in names:
            busy += sum(int(t) for t in ticks[:3])
    return busy / os.sysconf("SC_CLK_TCK")


def ours(pids: list[int]) -> float:
    """CPU seconds of the server (with its courier), the receiver and this driver."""
    server, *rest = pids
    return cpu_seconds(server, children_too=True) + sum(cpu_seconds(pid) for pid in rest)


class Bench:
    def __init__(self, http: aiohttp.ClientSession, base: str, hooks: str, extensions: int):
        self.http, self.base, self.hooks, self.count = http, base, hooks, extensions
        self.workspace = ""
        self.server_pid = 0
        self.pids: list[int] = []
        self.cores: set[int] = set()
        self.registered: list[str] = []

    async def put(self, path: str) -> None:
        url = f"{self.base}/api/v1/workspaces/{self.workspace}/files/{path}"
        async with self.http.put(url, data=b"probe", headers=ADMIN) as response:
            assert response.status in (200, 201), await response.text()

    async def stats(self) -> list[list[Any]]:
        async with self.http.get(self.hooks + "/stats") as response:
            return list(await response.json())

    async def register(self) -> None:
        for n in range(self.count):
            body = {
                "name": f"bench-{n}",
                "webhook_url": f"{self.hooks}/hook/{n}",
                "workspace": self.workspace,
                "events": ["document.changed", "file.saved"],
            }
            async with self.http.post(
                self.base + "/api/v1/extensions", json=body, headers=ADMIN
            ) as r:
                self.registered.append((await r.json())["id"])

    async def switch(self, enabled: bool) -> None:
        """Turn every registered extension on or off (off: nothing is delivered)."""
        for extension in self.registered:
            url = f"{self.base}/api/v1/extensions/{extension}"
            await self.http.patch(url, json={"enabled": enabled}, headers=ADMIN)

    async def drain(self) -> None:
        """Wait until no delivery arrives for half a second."""
        while await self.stats():
            await asyncio.sleep(0.5)

    async def phase(self, room: Room, seconds: float, tag: str) -> dict[str, float]:
        await self.drain()
        probes: dict[str, float] = {}

        async def probe() -> None:
            index = 0
            while room.recording:
                path = f"probe-{tag}-{index}.txt"
                probes[path] = time.time()
                await self.put(path)
                index += 1
                await asyncio.sleep(PROBE_INTERVAL_S)

        room.latencies.clear()
        room.recording = True
        started, cpu = time.time(), cpu_seconds(self.server_pid, children_too=True)
        mine, total = ours(self.pids), cores_busy(self.cores)
        driver, receiver = cpu_seconds(self.pids[2]), cpu_seconds(self.pids[1])
        prober = asyncio.create_task(probe())
        await room.edit(seconds)
        room.recording = False
        await prober
        elapsed = time.time() - started
        busy = (cpu_seconds(self.server_pid, children_too=True) - cpu) / elapsed
        driver = (cpu_seconds(self.pids[2]) - driver) / elapsed
        receiver = (cpu_seconds(self.pids[1]) - receiver) / elapsed
        others = (cores_busy(self.cores) - total - (ours(self.pids) - mine)) / elapsed
        await asyncio.sleep(1.0)  # let the last deliveries land
        records = await self.stats()
        delivery = [
            (at - probes[path]) * 1000 for at, _n, kind, path in records
            if kind == "file.saved" and path in probes
        ]  # fmt: skip
        return {
            "fanout_p50_ms": pct(room.latencies, 0.50),
            "fanout_p99_ms": pct(room.latencies, 0.99),
            "fanout_samples": len(room.latencies),
            "started_at": started,
            "ended_at": started + elapsed,
            "deliveries_per_s": len(records) / elapsed,
            "server_cpu_percent": 100 * busy,
            "driver_cpu_percent": 100 * driver,
            "receiver_cpu_percent": 100 * receiver,
            "others_cpu_percent": max(0.0, 100 * others),
            "delivery_p50_ms": pct(delivery, 0.50),
            "delivery_p99_ms": pct(delivery, 0.99),
        }

    async def burst(self) -> float:
        """Deliveries per second for BURST_FILES saves at once to every extension."""
        if not self.count:
            return float("nan")
        await self.drain()
        started = time.time()
        await asyncio.gather(*(self.put(f"burst-{i}.txt") for i in range(BURST_FILES)))
        expected, got = BURST_FILES * self.count, []
        deadline = time.time() + 120
        while len(got) < expected:
            if time.time() > deadline:
                print(f"the burst did not drain: {len(got)} of {expected} deliveries in 120 s")
                return float("nan")
            got += [r for r in await self.stats() if r[3].startswith("burst-")]
            await asyncio.sleep(0.2)
        return expected / (max(r[0] for r in got) - started)


async def run_round(
    number: int, args: argparse.Namespace, pins: tuple[int, int] | None
) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="nexus-bench-webhooks-"))
    port, hook_port = free_port(), free_port()
    server = start_nexus(scratch, port, pins[0] if pins else None, args.set)
    env = dict(os.environ)
    receiver = spawn(
        [sys.executable, str(Path(__file__).resolve()), "--receiver", str(hook_port)],
        pins[1] if pins else None, scratch, env,
    )  # fmt: skip
    base, hooks = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{hook_port}"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_ready(http, base + "/healthz")
            await wait_ready(http, hooks + "/stats")
            bench = Bench(http, base, hooks, args.extensions)
            bench.server_pid = nexus_pid(server)
            bench.pids = [bench.server_pid, receiver.pid, os.getpid()]
            bench.cores = set(pins) if pins else set(os.sched_getaffinity(0))
            async with http.post(
                base + "/api/v1/workspaces", json={"name": "b"}, headers=ADMIN
            ) as r:
                bench.workspace = (await r.json())["id"]
            token = ADMIN["Authorization"][7:]

            async def fresh_room(name: str, warm_up: float) -> Room:
                """Collaborators on a new document: every phase starts alike (on one
                long-lived document the collaborators' own CPU crept up from phase to
                phase, and the fan-out with it)."""
                room = Room()
                url = f"ws://127.0.0.1:{port}/yjs/{bench.workspace}/{name}?token={token}"
                await room.join(url, args.collaborators)
                await room.edit(warm_up)
                return room

            # a fresh server is slower at first
            await (await fresh_room("warm-up.txt", WARM_UP_S)).leave()
            result: dict[str, Any] = {}
            await bench.register()
            await bench.put("warm-up.txt")  # starts the webhook courier before any phase
            async with asyncio.timeout(60):
                while not await bench.stats():
                    await asyncio.sleep(0.2)
            await bench.drain()
            await bench.switch(False)
            phases: dict[str, list[dict[str, float]]] = {"without": [], "with": []}
            for index, kind in enumerate(ORDER):
                if index and kind != ORDER[index - 1]:
                    await bench.switch(kind == "with")
                room = await fresh_room(f"shared-{index}.txt", PHASE_WARM_UP_S)
                phases[kind].append(await bench.phase(room, args.seconds, f"{number}-{index}"))
                await room.leave()
            await bench.switch(True)
            result: dict[str, Any] = {**phases, "burst_deliveries_per_s": await bench.burst()}
            return result
    finally:
        for process in (server, receiver):
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)


QUIET_PERCENT = 10.0  # a phase where other processes took less of the two cores than this


def summary(rounds: list[dict[str, Any]]) -> dict[str, float]:
    def median(kind: str, key: str, quiet: bool = False) -> float:
        values = [
            phase[key]
            for r in rounds
            for phase in r[kind]
            if not quiet or phase["others_cpu_percent"] < QUIET_PERCENT
        ]
        return statistics.median(values) if values else float("nan")

    def quiet(kind: str) -> int:
        return sum(p["others_cpu_percent"] < QUIET_PERCENT for r in rounds for p in r[kind])

    return {
        "fanout_p99_without_ms": median("without", "fanout_p99_ms"),
        "fanout_p99_with_ms": median("with", "fanout_p99_ms"),
        "fanout_p50_without_ms": median("without", "fanout_p50_ms"),
        "fanout_p50_with_ms": median("with", "fanout_p50_ms"),
        "delivery_p50_ms": median("with", "delivery_p50_ms"),
        "delivery_p99_ms": median("with", "delivery_p99_ms"),
        "sustained_deliveries_per_s": median("with", "deliveries_per_s"),
        "server_cpu_without_percent": median("without", "server_cpu_percent"),
        "server_cpu_with_percent": median("with", "server_cpu_percent"),
        "quiet_phases_without": quiet("without"),
        "quiet_phases_with": quiet("with"),
        "quiet_fanout_p99_without_ms": median("without", "fanout_p99_ms", quiet=True),
        "quiet_fanout_p99_with_ms": median("with", "fanout_p99_ms", quiet=True),
        "quiet_fanout_p50_without_ms": median("without", "fanout_p50_ms", quiet=True),
        "quiet_fanout_p50_with_ms": median("with", "fanout_p50_ms", quiet=True),
        "others_cpu_percent": median("without", "others_cpu_percent"),
        "burst_deliveries_per_s": statistics.median(r["burst_deliveries_per_s"] for r in rounds),
    }


async def main(args: argparse.Namespace) -> None:
    pins = cores()
    if pins:
        os.sched_setaffinity(0, {pins[1]})
    print(
        "pinning:",
        f"server core {pins[0]}, clients and receiver core {pins[1]}" if pins else "none",
    )
    rounds = []
    for number in range(args.rounds):
        result = await run_round(number, args, pins)
        rounds.append(result)
        seen = {"without": 0, "with": 0}
        for kind in ORDER:  # in the order they ran
            ph = result[kind][seen[kind]]
            seen[kind] += 1
            print(
                f"round {number + 1} {kind:>7}: fan-out p50/p99 {ph['fanout_p50_ms']:5.1f}/"
                f"{ph['fanout_p99_ms']:5.1f} ms; CPU % server {ph['server_cpu_percent']:3.0f}, "
                f"driver {ph['driver_cpu_percent']:3.0f}, receiver "
                f"{ph['receiver_cpu_percent']:3.0f}, others {ph['others_cpu_percent']:3.0f}"
            )
    table = summary(rounds)
    width = max(len(key) for key in table)
    for key, value in table.items():
        print(f"{key:<{width}}  {value:10.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": table, "rounds": rounds}, indent=2))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="editing per phase")
    parser.add_argument("--collaborators", type=int, default=20)
    parser.add_argument("--extensions", type=int, default=50)
    parser.add_argument("--json", help="also write every round here")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NEXUS_X=V", help="a server setting"
    )
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    options = parse_args()
    if options.receiver:
        run_receiver(options.receiver)
    else:
        asyncio.run(main(options))
