"""The model gateway: latency it adds to the first token, and 200 concurrent chat streams.

A fake Anthropic server (tests/_fake_llm.py, the real SSE wire format) answers every
request with a stream of text deltas. In the same run we measure:

- direct: the `anthropic` SDK in this process calling the fake server, time to the first
  text delta (the peer: what an app calling the API itself would see);
- through NEXUS: a Socket.IO client sends `chat:send` and waits for the first
  `chat:delta` (the hub, routing, budget check, prompt building, the same SDK, fan-out).

The difference of the medians is the latency NEXUS adds (goal: at most 15 ms at p50).
Then 200 chat streams at once through one server: deltas per second delivered to clients
and the server's peak memory. NEXUS is pinned to core 0; this process and the fake
server to core 1. Rounds alternate the order; medians over rounds are reported.

    .venv/bin/python bench/ai.py [--samples 40] [--rounds 3] [--streams 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
import socketio  # noqa: E402

NEXUS = ROOT / ".venv" / "bin" / "nexus"
ADMIN_TOKEN = "bench-admin-token-0123456789"
GOAL_ADDED_MS = 15.0
CHUNKS = 20


def pin(core: int, argv: list[str]) -> list[str]:
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", str(core), *argv]
    return argv


def run_fake(port: int, chunks: int, delay: float) -> None:
    from tests._fake_llm import FakeLLM, Stream, anthropic_events

    async def main() -> None:
        fake = FakeLLM()
        fake.port = port
        fake.default = Stream(
            anthropic_events(["tok "] * chunks, input_tokens=100, output_tokens=chunks),
            delay=delay,
        )
        await fake.start()
        await asyncio.Event().wait()

    asyncio.run(main())


async def wait_http(url: str, *, ok_only: bool = True) -> None:
    """Until `url` answers (with 200 unless `ok_only` is off: NEXUS's /readyz says 503
    while it warms up)."""
    async with httpx.AsyncClient() as client, asyncio.timeout(60):
        while True:
            try:
                if (await client.get(url)).status_code == 200 or not ok_only:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def direct_first_token(fake_url: str, samples: int) -> list[float]:
    import anthropic

    client = anthropic.AsyncAnthropic(api_key="sk-bench", base_url=fake_url, max_retries=0)
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        stream = await client.messages.create(
            model="claude-test",
            max_tokens=256,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
        )
        async with stream:
            async for event in stream:
                if event.type == "content_block_delta":
                    times.append((time.perf_counter() - started) * 1000)
                    break
    await client.close()
    return times


async def hub_first_token(url: str, workspace: str, samples: int) -> list[float]:
    client = socketio.AsyncClient(reconnection=False)
    first: asyncio.Queue[float] = asyncio.Queue()
    done: asyncio.Queue[str] = asyncio.Queue()
    waiting: dict[str, bool] = {}

    async def delta(data: Any) -> None:
        if waiting.pop(data["id"], False):
            first.put_nowait(time.perf_counter())

    async def finished(data: Any) -> None:
        done.put_nowait(data["id"])

    client.on("chat:delta", delta)
    client.on("chat:done", finished)
    await client.connect(url, auth={"token": ADMIN_TOKEN}, transports=["websocket"])
    await client.call("workspace:join", {"workspace": workspace})
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        ack = await client.call("chat:send", {"workspace": workspace, "text": "hi"})
        waiting[ack["result"]["id"]] = True
        times.append((await first.get() - started) * 1000)
        await done.get()
    await client.disconnect()
    return times


async def many_streams(url: str, workspaces: list[str], streams: int, pid: int) -> dict[str, Any]:
    clients = []
    received = 0
    finished = asyncio.Event()
    done_count = 0

    def on_delta(_data: Any) -> None:
        nonlocal received
        received += 1

    def on_done(_data: Any) -> None:
        nonlocal done_count
        done_count += 1
        if done_count == streams:
            finished.set()

    for workspace in workspaces:
        client = socketio.AsyncClient(reconnection=False)
        client.on("chat:delta", on_delta)
        client.on("chat:done", on_done)
        await client.connect(url, auth={"token": ADMIN_TOKEN}, transports=["websocket"])
        await client.call("workspace:join", {"workspace": workspace})
        clients.append((client, workspace))
    process = psutil.Process(pid)
    cpu_before = sum(process.cpu_times()[:2])
    before = process.memory_info().rss
    peak = before
    started = time.perf_counter()
    per_client = streams // len(clients)
    await asyncio.gather(
        *(
            client.call("chat:send", {"workspace": ws, "text": "hi"}, timeout=60)
            for client, ws in clients
            for _ in range(per_client)
        )
    )
    while not finished.is_set():
        peak = max(peak, process.memory_info().rss)
        try:
            await asyncio.wait_for(finished.wait(), 0.05)
        except TimeoutError:
            pass
    elapsed = time.perf_counter() - started
    cpu = sum(process.cpu_times()[:2]) - cpu_before
    for client, _ in clients:
        await client.disconnect()
    return {
        "seconds": elapsed,
        "deltas_per_s": received / elapsed,
        "rss_before_mb": before / 2**20,
        "rss_peak_mb": peak / 2**20,
        "server_cpu": cpu / elapsed,
    }


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="nexus-bench-ai-"))
    fake_port, port = free_port(), free_port()
    fake_url = f"http://127.0.0.1:{fake_port}"
    fake = subprocess.Popen(  # noqa: ASYNC220 (started once, before measuring)
        pin(1, [sys.executable, __file__, "--fake-server", str(fake_port)]),
        stdin=subprocess.DEVNULL,
    )
    env = {
        **os.environ,
        "NEXUS_ANTHROPIC_API_KEY": "sk-bench",
        "NEXUS_ANTHROPIC_BASE_URL": fake_url,
        "NEXUS_MODEL_BALANCED": "anthropic:claude-test",
        "NEXUS_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(  # noqa: ASYNC220
        pin(
            0,
            [
                str(NEXUS),
                "serve",
                "--port",
                str(port),
                "--workspace-root",
                str(tmp / "ws"),
                "--data-dir",
                str(tmp / "data"),
                "--admin-token",
                ADMIN_TOKEN,
            ],
        ),
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    os.sched_setaffinity(0, {1}) if (os.cpu_count() or 1) >= 2 else None
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_http(f"{url}/readyz")
        await wait_http(f"{fake_url}/", ok_only=False)
        async with httpx.AsyncClient(base_url=url) as http:
            headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            workspaces = []
            for i in range(20):
                r = await http.post("/api/v1/workspaces", json={"name": f"w{i}"}, headers=headers)
                workspaces.append(r.json()["id"])
        await direct_first_token(fake_url, 5)  # warm both paths
        await hub_first_token(url, workspaces[0], 5)
        direct_medians, hub_medians = [], []
        for round_ in range(args.rounds):
            order = ("direct", "hub") if round_ % 2 == 0 else ("hub", "direct")
            for kind in order:
                if kind == "direct":
                    times = await direct_first_token(fake_url, args.samples)
                    direct_medians.append(statistics.median(times))
                else:
                    times = await hub_first_token(url, workspaces[0], args.samples)
                    hub_medians.append(statistics.median(times))
        direct, hub = statistics.median(direct_medians), statistics.median(hub_medians)
        print(f"first token, direct SDK → fake server: p50 {direct:.2f} ms")
        print(f"first token, Socket.IO → NEXUS → SDK → fake server: p50 {hub:.2f} ms")
        added = hub - direct
        verdict = "meets" if added <= GOAL_ADDED_MS else "misses"
        print(
            f"added by NEXUS: {added:.2f} ms (ratio {hub / direct:.2f}x; "
            f"goal ≤ {GOAL_ADDED_MS:.0f} ms: {verdict})"
        )
        results = [
            await many_streams(url, workspaces, args.streams, server.pid)
            for _ in range(args.rounds)
        ]
        seconds = statistics.median(r["seconds"] for r in results)
        rate = statistics.median(r["deltas_per_s"] for r in results)
        peak = statistics.median(r["rss_peak_mb"] for r in results)
        before = statistics.median(r["rss_before_mb"] for r in results)
        cpu = statistics.median(r["server_cpu"] for r in results)
        print(
            f"{args.streams} concurrent chat streams ({CHUNKS} deltas each): {seconds:.2f} s, "
            f"{rate:,.0f} deltas/s delivered, server RSS {before:.0f} → {peak:.0f} MiB peak, "
            f"server CPU {cpu:.0%} of a core"
        )
    finally:
        for process in (server, fake):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--fake-server", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake_server is not None:
        run_fake(args.fake_server, CHUNKS, 0.005)
        return
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
