"""Terminal streaming: NEXUS's terminal channel against reading the same kind of PTY directly.

Each round starts a fresh `nexus serve` pinned to one core (its terminals' programs run
there too) while this process, the client, pins itself to another. Two figures, each
measured through NEXUS (python-socketio client: `terminal:input` → `terminal:output`,
acknowledging output with `terminal:ack` as a browser would) and directly (a PTY opened
in this process, the same program on it, pinned to the server's core, its master read
with `loop.add_reader`), in the same round, taking turns:

- keystroke-to-echo latency: `stty raw -echo; cat` echoes each character as it arrives;
  one character is sent, the next only after its echo came back; p50 and p99.
- output throughput: `head -c N /dev/zero | base64` (N = --megabytes MiB), bytes read
  from the PTY per second from start to the program's exit.

Medians over the rounds, with the ratio ours/direct.

    .venv/bin/python bench/terminal.py [--rounds 3] [--keystrokes 300] [--megabytes 32]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import socketio

NEXUS = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "nexus"
ADMIN_TOKEN = "bench-admin-token-0123456789"
ECHO_COMMAND = "stty raw -echo; cat"
START_TIMEOUT_S = 30.0


def output_command(megabytes: int) -> str:
    return f"head -c {megabytes * 1024 * 1024} /dev/zero | base64"


# -- pinning and the server -------------------------------------------------------------


def cores() -> tuple[int | None, int | None]:
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2 or shutil.which("taskset") is None:
        return None, None
    return available[0], available[1]


def pinned(core: int | None, argv: list[str]) -> list[str]:
    return argv if core is None else ["taskset", "-c", str(core), *argv]


async def pinned_rounds(
    rounds: int, one_round: Callable[[Path, int | None], Awaitable[dict[str, float]]]
) -> tuple[dict[str, float], int | None, int | None]:
    """Run `one_round(scratch folder, server core)` `rounds` times from the client core;
    returns each figure's median over the rounds, and the two cores."""
    server_core, client_core = cores()
    if client_core is not None:
        os.sched_setaffinity(0, {client_core})
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for number in range(rounds):
            results.append(await one_round(Path(scratch) / str(number), server_core))
    median = {key: statistics.median(r[key] for r in results) for key in results[0]}
    return median, server_core, client_core


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Nexus:
    def __init__(self, scratch: Path, core: int | None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        scratch.mkdir(parents=True)
        self.log = scratch / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")}
        argv = [
            str(NEXUS), "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--data-dir", str(scratch / "data"), "--workspace-root", str(scratch / "ws"),
            "--admin-token", ADMIN_TOKEN, "--log-level", "warning",
        ]  # fmt: skip
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                pinned(core, argv), cwd=scratch, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def ready(self) -> str:
        """Wait for /readyz; create the workspace; return its id."""
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(self.log.read_text(errors="replace")[-2000:])
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/readyz") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.1)
            async with http.post(
                f"{self.url}/api/v1/workspaces", json={"name": "bench"}, headers=headers
            ) as response:
                return str((await response.json())["id"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# -- NEXUS's terminal channel -----------------------------------------------------------


class Channel:
    """One socket client in the workspace, acknowledging output as it arrives."""

    def __init__(self, client: socketio.AsyncClient, workspace: str) -> None:
        self.client = client
        self.workspace = workspace
        self.on_output: Callable[[str, int], None] = lambda data, count: None
        self.exited: asyncio.Future[int] | None = None
        client.on("terminal:output", self._output)
        client.on("terminal:exit", self._exit)

    @classmethod
    async def connect(cls, url: str, workspace: str) -> Channel:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(url, auth={"token": ADMIN_TOKEN}, transports=["websocket"])
        channel = cls(client, workspace)
        await channel.call("workspace:join", {"workspace": workspace})
        return channel

    async def call(self, event: str, payload: dict[str, Any]) -> Any:
        reply = await self.client.call(event, payload, timeout=30)
        if not reply.get("ok"):
            raise RuntimeError(f"{event}: {reply}")
        return reply["result"]

    async def _output(self, data: dict[str, Any]) -> None:
        self.on_output(data["data"], data["bytes"])
        await self.client.emit("terminal:ack", {"id": data["id"], "bytes": data["bytes"]})

    async def _exit(self, data: dict[str, Any]) -> None:
        if self.exited is not None and not self.exited.done():
            self.exited.set_result(data["code"])

    async def open(self, command: str) -> str:
        result = await self.call("terminal:open", {"workspace": self.workspace, "command": command})
        return str(result["id"])


async def nexus_latency(channel: Channel, keystrokes: int) -> list[float]:
    loop = asyncio.get_running_loop()
    echoed: asyncio.Future[None] = loop.create_future()
    expected = ""
    received = ""

    def on_output(data: str, _count: int) -> None:
        nonlocal received
        received += data
        if expected and expected in received and not echoed.done():
            echoed.set_result(None)

    channel.on_output = on_output
    terminal = await channel.open(ECHO_COMMAND)
    await asyncio.sleep(0.3)  # let stty switch the terminal to raw mode
    samples = []
    for i in range(keystrokes):
        expected, received = chr(ord("a") + i % 26), ""
        echoed = loop.create_future()
        started = time.perf_counter()
        await channel.client.emit("terminal:input", {"id": terminal, "data": expected})
        await asyncio.wait_for(echoed, 10)
        samples.append(time.perf_counter() - started)
        await asyncio.sleep(0.002)
    await channel.call("terminal:close", {"id": terminal})
    return samples


async def socketio_round_trips(channel: Channel, count: int) -> list[float]:
    """The floor under our echo: one Socket.IO event and its ack (`terminal:list`)."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await channel.call("terminal:list", {"workspace": channel.workspace})
        samples.append(time.perf_counter() - started)
        await asyncio.sleep(0.002)
    return samples


async def nexus_throughput(channel: Channel, megabytes: int) -> tuple[float, int]:
    total = 0

    def on_output(_data: str, count: int) -> None:
        nonlocal total
        total += count

    channel.on_output = on_output
    channel.exited = asyncio.get_running_loop().create_future()
    started = time.perf_counter()
    terminal = await channel.open(output_command(megabytes))
    await asyncio.wait_for(channel.exited, 300)
    elapsed = time.perf_counter() - started
    await channel.call("terminal:close", {"id": terminal})
    return total / elapsed / 1e6, total


# -- the same PTY, read directly --------------------------------------------------------


class DirectPty:
    """A program on a PTY opened here, its master read with `add_reader`."""

    def __init__(self, command: str, core: int | None) -> None:
        self.master, slave = os.openpty()
        self.process = subprocess.Popen(
            pinned(core, ["/bin/sh", "-c", command]),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        os.set_blocking(self.master, False)
        self.loop = asyncio.get_running_loop()
        self.on_data: Callable[[bytes], None] = lambda data: None
        self.eof = self.loop.create_future()
        self.loop.add_reader(self.master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self.on_data(data)
        else:
            self.loop.remove_reader(self.master)
            if not self.eof.done():
                self.eof.set_result(None)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        with contextlib.suppress(ValueError, OSError):
            self.loop.remove_reader(self.master)
        os.close(self.master)


async def direct_latency(core: int | None, keystrokes: int) -> list[float]:
    pty = DirectPty(ECHO_COMMAND, core)
    loop = asyncio.get_running_loop()
    expected, received = b"", b""
    echoed: asyncio.Future[None] = loop.create_future()

    def on_data(data: bytes) -> None:
        nonlocal received
        received += data
        if expected and expected in received and not echoed.done():
            echoed.set_result(None)

    pty.on_data = on_data
    await asyncio.sleep(0.3)
    samples = []
    try:
        for i in range(keystrokes):
            expected, received = bytes([ord("a") + i % 26]), b""
            echoed = loop.create_future()
            started = time.perf_counter()
            os.write(pty.master, expected)
            await asyncio.wait_for(echoed, 10)
            samples.append(time.perf_counter() - started)
            await asyncio.sleep(0.002)
    finally:
        pty.close()
    return samples


async def direct_throughput(core: int | None, megabytes: int) -> tuple[float, int]:
    total = 0

    def on_data(data: bytes) -> None:
        nonlocal total
        total += len(data)

    started = time.perf_counter()
    pty = DirectPty(output_command(megabytes), core)
    pty.on_data = on_data
    try:
        await asyncio.wait_for(pty.eof, 300)
        elapsed = time.perf_counter() - started
    finally:
        pty.close()
    return total / elapsed / 1e6, total


# -- rounds ----------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def one_round(
    index: int, args: argparse.Namespace, server_core: int | None, client_core: int | None
) -> dict[str, Any]:
    scratch = Path(tempfile.mkdtemp(prefix="nexus-bench-terminal-"))
    nexus = Nexus(scratch / "nexus", server_core)
    try:
        workspace = await nexus.ready()
        channel = await Channel.connect(nexus.url, workspace)
        result: dict[str, Any] = {}
        order = ("ours", "direct") if index % 2 == 0 else ("direct", "ours")
        for kind in order:
            if kind == "ours":
                samples = await nexus_latency(channel, args.keystrokes)
                floor = await socketio_round_trips(channel, args.keystrokes)
                result["socketio_round_trip_p50_ms"] = percentile(floor, 0.50)
            else:
                samples = await direct_latency(server_core, args.keystrokes)
            result[f"{kind}_p50_ms"] = percentile(samples, 0.50)
            result[f"{kind}_p99_ms"] = percentile(samples, 0.99)
        for kind in reversed(order):
            if kind == "ours":
                cpu = nexus.cpu_seconds()
                rate, total = await nexus_throughput(channel, args.megabytes)
                result["ours_server_cpu_s_per_100mb"] = (
                    (nexus.cpu_seconds() - cpu) / total * 100e6 if total else 0.0
                )
            else:
                rate, total = await direct_throughput(server_core, args.megabytes)
            result[f"{kind}_mb_s"] = rate
            result[f"{kind}_bytes"] = total
        if server_core is not None and client_core is not None:
            # A reference: the direct reader sharing the program's core, as the server does.
            os.sched_setaffinity(0, {server_core})
            try:
                result["direct_same_core_mb_s"], _ = await direct_throughput(
                    server_core, args.megabytes
                )
            finally:
                os.sched_setaffinity(0, {client_core})
        await channel.client.disconnect()
        return result
    finally:
        nexus.stop()
        shutil.rmtree(scratch, ignore_errors=True)


async def main(args: argparse.Namespace) -> None:
    server_core, client_core = cores()
    if client_core is not None:
        os.sched_setaffinity(0, {client_core})
        print(f"server and its terminals on core {server_core}, client on core {client_core}")
    else:
        print("NOT pinned (fewer than 2 cores or no taskset)")
    rounds = []
    for index in range(args.rounds):
        result = await one_round(index, args, server_core, client_core)
        rounds.append(result)
        print(
            f"round {index + 1}: latency p50 {result['ours_p50_ms']:.2f} vs "
            f"{result['direct_p50_ms']:.2f} ms, p99 {result['ours_p99_ms']:.2f} vs "
            f"{result['direct_p99_ms']:.2f} ms; throughput {result['ours_mb_s']:.1f} vs "
            f"{result['direct_mb_s']:.1f} MB/s"
        )
    medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(f"\nmedians of {args.rounds} rounds ({args.keystrokes} keystrokes, ", end="")
    print(f"{args.megabytes} MiB of zeros through base64):\n")
    print("| metric | NEXUS terminal | direct PTY | ratio ours/direct |\n|---|---:|---:|---:|")
    for label, key in (
        ("keystroke echo p50 (ms)", "p50_ms"),
        ("keystroke echo p99 (ms)", "p99_ms"),
        ("output throughput (MB/s)", "mb_s"),
    ):
        ours, direct = medians[f"ours_{key}"], medians[f"direct_{key}"]
        print(f"| {label} | {ours:.2f} | {direct:.2f} | {ours / direct:.2f} |")
    if "direct_same_core_mb_s" in medians:
        same = medians["direct_same_core_mb_s"]
        print(
            f"\ndirect PTY read on the program's core (as the server reads): {same:.2f} MB/s; "
            f"ours / that = {medians['ours_mb_s'] / same:.2f}"
        )
    print(
        "a Socket.IO event and its ack (terminal:list), the floor under our echo: "
        f"p50 {medians['socketio_round_trip_p50_ms']:.2f} ms"
    )
    cpu = medians["ours_server_cpu_s_per_100mb"]
    print(f"NEXUS server CPU per 100 MB of output: {cpu:.2f} s ({100 / cpu:.0f} MB/s per core)")
    if args.json:
        Path(args.json).write_text(json.dumps({"medians": medians, "rounds": rounds}, indent=2))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keystrokes", type=int, default=300)
    parser.add_argument("--megabytes", type=int, default=32)
    parser.add_argument("--json", help="also write medians and rounds to this file")
    return parser.parse_args()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main(parse_args()))
    sys.exit(0)
