"""Collaboration benchmark: NEXUS's `/yjs` endpoint against the stock y-websocket server.

The same node workloads (bench/collab/workload.mjs, stock `WebsocketProvider` clients from
tests/js/node_modules) run against `nexus serve` and against `@y/websocket-server` 0.1.1 in
one run: fan-out latency, the burst rate a document sustains, syncing a 1 MB document, memory
per idle open document and the automerge-paper trace replay. Every measurement gets a fresh
server in a temporary folder; the servers run on core 0 and the clients on core 1; the two
servers take turns and the first one changes every round. Medians over the rounds are
printed as metric | NEXUS | y-websocket | ratio.

    .venv/bin/python bench/collab/run.py [--quick] [--rounds 3] [--json PATH]

Needs `cd tests/js && npm ci` first. If NEXUS or its endpoint fails, its column says n/a
with the error and the stock side is still measured.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
NEXUS = ROOT / ".venv" / "bin" / "nexus"
JS = ROOT / "tests" / "js"
STOCK_SERVER = JS / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"
WORKLOAD = HERE / "workload.mjs"
TRACE = Path("/work/shared/fixtures/traces/automerge-paper.json.gz")
ADMIN_TOKEN = "bench-admin-token-0123456789"
KINDS = ("nexus", "stock")
NAMES = {"nexus": "NEXUS", "stock": "y-websocket"}
LIMIT_MS = 50.0
START_TIMEOUT_S = 30.0
IN_MEMORY = "n/a (in memory)"


class BenchError(Exception):
    """A server or workload that failed; the metric is reported as n/a with this text."""


# -- settings -----------------------------------------------------------------------------------


@dataclass
class Plan:
    """What to measure and how hard; `--quick` shrinks it to about a minute."""

    rounds: int = 3
    heavy_rounds: int = 1  # rounds that also measure idle memory and the trace
    clients: list[int] = field(default_factory=lambda: [2, 10, 50])
    rate: int = 50
    updates: int = 150
    warmup: int = 20
    burst_clients: int = 3
    step_ms: int = 1000
    refine: int = 3
    max_rate: int = 51200
    sync_bytes: int = 1 << 20
    sync_repeats: int = 5
    docs: int = 1000
    trace: Path = TRACE
    trace_edits: int = 0
    trace_timeout_s: float = 120.0
    metrics: list[str] = field(default_factory=lambda: list(METRICS))
    servers: list[str] = field(default_factory=lambda: list(KINDS))


def parse_plan(argv: list[str] | None = None) -> tuple[Plan, Path | None]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="about one minute: fewer of all")
    parser.add_argument("--rounds", type=int, help="rounds (default 3; 1 with --quick)")
    parser.add_argument(
        "--heavy-rounds", type=int, help="rounds that measure idle memory and the trace (1)"
    )
    parser.add_argument("--clients", help="fan-out client counts, comma-separated (2,10,50)")
    parser.add_argument("--rate", type=int, help="fan-out updates per second (50)")
    parser.add_argument("--updates", type=int, help="measured fan-out updates (150)")
    parser.add_argument("--burst-clients", type=int, help="clients in the burst room (3)")
    parser.add_argument("--step-ms", type=int, help="length of one burst step (1000)")
    parser.add_argument("--max-rate", type=int, help="highest burst rate tried (51200)")
    parser.add_argument("--docs", type=int, help="idle documents opened (1000)")
    parser.add_argument("--trace", type=Path, help="sequential editing trace (.json.gz)")
    parser.add_argument("--trace-edits", type=int, help="replay only the first N (all)")
    parser.add_argument("--trace-timeout", type=float, help="seconds per replay (120)")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(METRICS)}")
    parser.add_argument("--servers", help="comma-separated subset of nexus,stock")
    parser.add_argument("--json", type=Path, help="also write medians and every round here")
    args = parser.parse_args(argv)
    plan = quick_plan() if args.quick else Plan()
    simple = {
        "rounds": args.rounds, "heavy_rounds": args.heavy_rounds, "rate": args.rate,
        "updates": args.updates, "burst_clients": args.burst_clients, "step_ms": args.step_ms,
        "max_rate": args.max_rate, "docs": args.docs, "trace": args.trace,
        "trace_edits": args.trace_edits, "trace_timeout_s": args.trace_timeout,
    }  # fmt: skip
    for name, value in simple.items():
        if value is not None:
            setattr(plan, name, value)
    if args.clients:
        plan.clients = [int(n) for n in args.clients.split(",")]
    if args.only:
        plan.metrics = pick(args.only, list(METRICS))
    if args.servers:
        plan.servers = pick(args.servers, list(KINDS))
    return plan, args.json


def quick_plan() -> Plan:
    return Plan(
        rounds=1, updates=60, warmup=10, step_ms=400, refine=2, sync_repeats=3, docs=300,
        trace_edits=5000, trace_timeout_s=60.0,
    )  # fmt: skip


def pick(text: str, allowed: list[str]) -> list[str]:
    chosen = [item.strip() for item in text.split(",") if item.strip()]
    unknown = set(chosen) - set(allowed)
    if unknown:
        raise SystemExit(f"unknown: {', '.join(sorted(unknown))} (choose from {allowed})")
    return chosen


# -- processes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pinning:
    """Servers on one core, clients (and this script) on another; None when not pinned."""

    server: int | None
    client: int | None

    def server_argv(self, argv: list[str]) -> list[str]:
        return argv if self.server is None else ["taskset", "-c", str(self.server), *argv]

    def client_argv(self, argv: list[str]) -> list[str]:
        return argv if self.client is None else ["taskset", "-c", str(self.client), *argv]

    def describe(self) -> str:
        if self.server is None:
            return "NOT pinned (fewer than 2 cores or no taskset)"
        return f"servers on core {self.server}, clients and driver on core {self.client}"


def choose_pinning() -> Pinning:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2 or shutil.which("taskset") is None:
        return Pinning(None, None)
    os.sched_setaffinity(0, {cores[1]})
    return Pinning(cores[0], cores[1])


class Children:
    """Every process started here, each in its own process group, so that none outlives
    the benchmark: they are stopped at the end, on an error and on SIGINT/SIGTERM."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(argv, start_new_session=True, **kwargs)
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            if process.poll() is not None:
                break
            try:
                os.killpg(process.pid, sig)
                process.wait(timeout=wait_s)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        if process in self.running:
            self.running.remove(process)

    def stop_all(self) -> None:
        for process in list(self.running):
            self.stop(process, grace_s=2.0)


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds so far: the pinned cores in all, the server, this script and its reaped
    children (the node clients). Their difference over a measurement is what other
    processes on this shared machine took from the pinned cores."""

    cores: float
    server: float
    ours: float

    @classmethod
    def take(cls, pinning: Pinning, server_pid: int) -> CpuSnapshot:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        own = resource.getrusage(resource.RUSAGE_SELF)
        ours = children.ru_utime + children.ru_stime + own.ru_utime + own.ru_stime
        return cls(core_seconds(pinning), process_seconds(server_pid), ours)

    def others_since(self, start: CpuSnapshot) -> float:
        used = (self.server - start.server) + (self.ours - start.ours)
        return max(0.0, (self.cores - start.cores) - used)


def core_seconds(pinning: Pinning) -> float:
    """Busy time (user, nice, system) of the pinned cores, or of all cores, from /proc/stat."""
    wanted = {f"cpu{c}" for c in (pinning.server, pinning.client) if c is not None} or {"cpu"}
    busy = 0
    for line in Path("/proc/stat").read_text().splitlines():
        name, *ticks = line.split()
        if name in wanted:
            busy += sum(int(t) for t in ticks[:3])
    return busy / os.sysconf("SC_CLK_TCK")


def process_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def on_sigterm(_signum: int, _frame: Any) -> None:
    """Turn SIGTERM into SystemExit so the `finally` clauses stop the children."""
    raise SystemExit(143)


# -- servers ------------------------------------------------------------------------------------


@dataclass
class Server:
    kind: str
    process: subprocess.Popen[bytes]
    port: int
    scratch: Path
    workspace: str = "bench"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/yjs/{self.workspace}"

    @property
    def data_dir(self) -> Path:
        return self.scratch / "data"

    def log_tail(self) -> str:
        text = (self.scratch / "server.log").read_text(errors="replace")
        return text[-1500:].strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_argv(kind: str, port: int, scratch: Path) -> list[str]:
    if kind == "stock":
        return ["node", str(STOCK_SERVER)]
    return [
        str(NEXUS), "serve", "--host", "127.0.0.1", "--port", str(port),
        "--data-dir", str(scratch / "data"), "--workspace-root", str(scratch / "workspaces"),
        "--admin-token", ADMIN_TOKEN, "--log-level", "warning",
    ]  # fmt: skip


def server_env(port: int) -> dict[str, str]:
    """No NEXUS_* from the shell (a Redis URL would change what is measured), and nothing
    that would make the stock server persist or call back."""
    skip = ("NEXUS_", "YPERSISTENCE", "CALLBACK_", "HOST", "PORT")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    return {**env, "HOST": "127.0.0.1", "PORT": str(port)}


def start_server(kind: str, scratch: Path, pinning: Pinning, children: Children) -> Server:
    port = free_port()
    scratch.mkdir(parents=True)
    with (scratch / "server.log").open("wb") as log:
        process = children.start(
            pinning.server_argv(server_argv(kind, port, scratch)),
            cwd=scratch, env=server_env(port), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(kind, process, port, scratch)
    wait_ready(server)
    if kind == "nexus":
        server.workspace = create_workspace(server)
    return server


def http(server: Server, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}", data=data, method=method,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and server.process.poll() is None:
        try:
            # NEXUS: /readyz, so that its background warm-up (the speech model) is over
            # before anything is measured.
            if http(server, "GET", "/readyz" if server.kind == "nexus" else "/")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise BenchError(f"{NAMES[server.kind]} did not start: {server.log_tail()}")


def create_workspace(server: Server) -> str:
    status, body = http(server, "POST", "/api/v1/workspaces", {"name": "bench"})
    if status not in (200, 201):
        raise BenchError(f"creating the workspace failed: {status} {body}")
    return str(body["id"])


def sqlite_bytes(data_dir: Path) -> int:
    """The database and its write-ahead log as they are on disk (the -shm index is not data)."""
    files = [p for p in data_dir.glob("nexus.db*") if not p.name.endswith("-shm")]
    return sum(p.stat().st_size for p in files if p.is_file())


def database_bytes(data_dir: Path, quiet_s: float = 1.0, limit_s: float = 20.0) -> int:
    """The size of NEXUS's database once writes have stopped, with the write-ahead log folded
    in: a copy is checkpointed, since SQLite keeps a WAL file at its largest size ever."""
    size, since, deadline = sqlite_bytes(data_dir), time.monotonic(), time.monotonic() + limit_s
    while time.monotonic() - since < quiet_s and time.monotonic() < deadline:
        time.sleep(0.2)
        if (now := sqlite_bytes(data_dir)) != size:
            size, since = now, time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("nexus.db", "nexus.db-wal"):
            if (data_dir / name).exists():
                shutil.copyfile(data_dir / name, Path(tmp) / name)
        connection = sqlite3.connect(Path(tmp) / "nexus.db")
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()
        return (Path(tmp) / "nexus.db").stat().st_size


# -- workloads ----------------------------------------------------------------------------------


@dataclass
class Context:
    plan: Plan
    pinning: Pinning
    children: Children


def workload(ctx: Context, server: Server, mode: str, cfg: dict[str, Any], timeout_s: float) -> Any:
    """Run one node workload against `server` and return its JSON result."""
    base = {"url": server.ws_url, "token": ADMIN_TOKEN, "server_pid": server.process.pid}
    argv = ctx.pinning.client_argv(["node", str(WORKLOAD), mode, json.dumps({**base, **cfg})])
    process = ctx.children.start(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        out, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{mode}: no result within {timeout_s:.0f} s") from exc
    finally:
        ctx.children.stop(process)
    lines = out.decode(errors="replace").strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = err.decode(errors="replace").strip()[-600:]
        raise BenchError(f"{mode}: exit {process.returncode}: {tail}") from None
    if isinstance(result, dict) and "error" in result:
        raise BenchError(f"{mode}: {result['error']}")
    return result


Values = dict[str, Any]


def measure_fanout(ctx: Context, server: Server) -> tuple[Values, Any]:
    plan, values, details = ctx.plan, {}, []
    for count in plan.clients:
        cfg = {"room": f"bench/fanout-{count}.py", "clients": count, "rate": plan.rate,
               "count": plan.updates, "warmup": plan.warmup}  # fmt: skip
        result = workload(ctx, server, "fanout", cfg, 60 + 3 * (plan.updates / plan.rate))
        if result["lost"]:
            raise BenchError(f"fanout with {count} clients lost {result['lost']} deliveries")
        values[f"fanout_{count}_p50"] = result["p50_ms"]
        values[f"fanout_{count}_p99"] = result["p99_ms"]
        details.append(result)
    return values, details


def measure_burst(ctx: Context, server: Server) -> tuple[Values, Any]:
    plan = ctx.plan
    cfg = {"room": "bench/burst.py", "clients": plan.burst_clients, "start_rate": 200,
           "max_rate": plan.max_rate, "step_ms": plan.step_ms, "limit_ms": LIMIT_MS,
           "refine": plan.refine}  # fmt: skip
    result = workload(ctx, server, "burst", cfg, 240)
    return {"burst": result["updates_per_s"]}, result


def measure_sync(ctx: Context, server: Server) -> tuple[Values, Any]:
    plan = ctx.plan
    cfg = {"room": "bench/big.txt", "size": plan.sync_bytes, "chunk": 65536,
           "repeats": plan.sync_repeats}  # fmt: skip
    result = workload(ctx, server, "sync", cfg, 120)
    return {"sync": result["median_ms"]}, result


def measure_idle(ctx: Context, server: Server) -> tuple[Values, Any]:
    cfg = {"room": "idle", "docs": ctx.plan.docs, "warm": 20, "parallel": 25, "settle_ms": 1500}
    result = workload(ctx, server, "idle", cfg, 60 + ctx.plan.docs * 0.1)
    if result["still_open"] != ctx.plan.docs:
        raise BenchError(f"only {result['still_open']} of {ctx.plan.docs} documents stayed open")
    return {"idle": result["kib_per_doc"]}, result


def measure_trace(ctx: Context, server: Server) -> tuple[Values, Any]:
    plan = ctx.plan
    before = database_bytes(server.data_dir) if server.kind == "nexus" else 0
    cfg = {"room": "bench/paper.tex", "trace": str(plan.trace), "edits": plan.trace_edits,
           "timeout_ms": plan.trace_timeout_s * 1000, "high_water": 1 << 20}  # fmt: skip
    result = workload(ctx, server, "trace", cfg, plan.trace_timeout_s + 60)
    values: Values = {"trace_s": result["replay_ms"] / 1000}
    if not result["writer_matches"]:
        raise BenchError("the writer's own text does not match the trace's endContent")
    if server.kind == "nexus":
        after = database_bytes(server.data_dir)
        values["trace_bytes"] = after - before
        result.update(database_bytes_before=before, database_bytes_after=after,
                      wal_and_database_on_disk=sqlite_bytes(server.data_dir))  # fmt: skip
    else:
        values["trace_bytes"] = IN_MEMORY
    return values, result


Measure = Callable[[Context, Server], tuple[Values, Any]]
METRICS: dict[str, Measure] = {
    "fanout": measure_fanout, "burst": measure_burst, "sync": measure_sync,
    "idle": measure_idle, "trace": measure_trace,
}  # fmt: skip
# Metrics that share one fresh server; memory and persisted bytes each get their own.
GROUPS = (("fanout", "burst", "sync"), ("idle",), ("trace",))
HEAVY = ("idle", "trace")  # long and steady: measured in the first `heavy_rounds` only


def rows_of(metric: str, plan: Plan) -> list[str]:
    if metric == "fanout":
        return [f"fanout_{n}_{p}" for n in plan.clients for p in ("p50", "p99")]
    return ["trace_s", "trace_bytes"] if metric == "trace" else [metric]


# -- rounds -------------------------------------------------------------------------------------


@dataclass
class Results:
    """Values per server and row over the rounds, the errors that replaced some, details."""

    values: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)
    details: list[dict[str, Any]] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)  # server kind -> why it was skipped
    notes: list[str] = field(default_factory=list)

    def add(self, kind: str, values: Values) -> None:
        for row, value in values.items():
            self.values.setdefault(kind, {}).setdefault(row, []).append(value)

    def fail(self, kind: str, rows: list[str], error: str) -> None:
        for row in rows:
            self.errors.setdefault(kind, {}).setdefault(row, error)


def run_group(ctx: Context, kind: str, metrics: list[str], scratch: Path, out: Results) -> None:
    """One fresh server, a probe that the endpoint works, then each metric in turn."""
    rows = [row for m in metrics for row in rows_of(m, ctx.plan)]
    if kind in out.broken:
        out.fail(kind, rows, out.broken[kind])
        return
    server = None
    try:
        server = start_server(kind, scratch, ctx.pinning, ctx.children)
        workload(ctx, server, "probe", {"room": "bench/probe.py"}, 30)
    except BenchError as exc:
        out.broken[kind] = str(exc)
        out.fail(kind, rows, str(exc))
        if server is not None:
            ctx.children.stop(server.process)
        return
    try:
        for metric in metrics:
            measure_one(ctx, server, metric, out)
    finally:
        ctx.children.stop(server.process)


def measure_one(ctx: Context, server: Server, metric: str, out: Results) -> None:
    started = time.monotonic()
    cpu = CpuSnapshot.take(ctx.pinning, server.process.pid)
    try:
        values, details = METRICS[metric](ctx, server)
    except BenchError as exc:
        if server.process.poll() is not None:
            exc = BenchError(f"{exc} (server exited: {server.log_tail()[-300:]})")
        out.fail(server.kind, rows_of(metric, ctx.plan), str(exc))
        print(f"  {NAMES[server.kind]:<12} {metric:<7} FAILED: {exc}", flush=True)
        return
    took = time.monotonic() - started
    others = CpuSnapshot.take(ctx.pinning, server.process.pid).others_since(cpu) / took
    out.add(server.kind, values)
    out.details.append(
        {"server": server.kind, "metric": metric, "others_cpu": others, "result": details}
    )
    for closes in server_closes(details):
        note = f"note: {NAMES[server.kind]} closed synced clients during {metric}: {closes}"
        out.notes.append(note)
        print(f"  {note}")
    shown = ", ".join(f"{k}={fmt(k, v)}" for k, v in values.items())
    print(
        f"  {NAMES[server.kind]:<12} {metric:<7} {shown}  ({took:.0f} s; other processes "
        f"took {others:.0%} of a core)",
        flush=True,
    )


def server_closes(details: Any) -> list[str]:
    """What the workloads report about connections the server dropped (they reconnect)."""
    results = details if isinstance(details, list) else [details]
    found = [r.get("server_closes") for r in results if isinstance(r, dict)]
    return [", ".join(f"{n} x {why!r}" for why, n in c.items()) for c in found if c]


def run_round(ctx: Context, number: int, tmp: Path, out: Results) -> None:
    order = ctx.plan.servers if number % 2 == 0 else ctx.plan.servers[::-1]
    print(f"round {number + 1}/{ctx.plan.rounds}: {' then '.join(NAMES[k] for k in order)}")
    for group in GROUPS:
        metrics = [m for m in group if m in ctx.plan.metrics]
        if number >= ctx.plan.heavy_rounds:
            metrics = [m for m in metrics if m not in HEAVY]
        for kind in order if metrics else ():
            run_group(ctx, kind, metrics, tmp / f"r{number}-{kind}-{metrics[0]}", out)


# -- report -------------------------------------------------------------------------------------

LABELS = {
    "burst": f"burst updates/s with p99 <= {LIMIT_MS:.0f} ms",
    "sync": "sync a 1 MB document (ms)",
    "idle": "memory per idle open document (KiB)",
    "trace_s": "automerge-paper replay (s)",
    "trace_bytes": "automerge-paper persisted bytes",
}


def label(row: str, plan: Plan) -> str:
    if row.startswith("fanout_"):
        _, count, pct = row.split("_")
        return f"fan-out {pct}, {count} clients (ms)"
    if row == "sync":
        return f"sync a {plan.sync_bytes / (1 << 20):g} MB document (ms)"
    if row.startswith("trace") and plan.trace_edits:
        return LABELS[row].replace("automerge-paper", f"trace ({plan.trace_edits} edits)")
    return LABELS[row]


def fmt(row: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if row in ("burst", "trace_bytes"):
        return f"{value:,.0f}"
    return f"{value:.1f}" if row == "idle" else f"{value:.2f}"


def median(values: list[Any]) -> Any:
    numbers = [v for v in values if not isinstance(v, str)]
    return statistics.median(numbers) if numbers else (values[0] if values else None)


def cell(out: Results, kind: str, row: str) -> tuple[str, Any]:
    value = median(out.values.get(kind, {}).get(row, []))
    if value is not None:
        return fmt(row, value), value
    return ("n/a" if row in out.errors.get(kind, {}) else "-"), None


def table(plan: Plan, out: Results) -> list[dict[str, Any]]:
    rows = [row for m in METRICS if m in plan.metrics for row in rows_of(m, plan)]
    lines = []
    for row in rows:
        ours, ours_value = cell(out, "nexus", row)
        stock, stock_value = cell(out, "stock", row)
        numeric = all(isinstance(v, int | float) for v in (ours_value, stock_value))
        ratio = f"{ours_value / stock_value:.2f}" if numeric and stock_value else "-"
        lines.append(
            {"row": row, "metric": label(row, plan), "nexus": ours, "stock": stock,
             "ratio": ratio, "nexus_value": ours_value, "stock_value": stock_value}
        )  # fmt: skip
    return lines


def print_report(plan: Plan, out: Results, lines: list[dict[str, Any]]) -> None:
    header = ("metric", NAMES["nexus"], NAMES["stock"], "ratio")
    widths = [max(len(header[0]), *(len(line["metric"]) for line in lines)), 12, 15, 6]
    print()
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for line in lines:
        cells = (line["metric"], line["nexus"], line["stock"], line["ratio"])
        print(" | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
    print(f"\nmedians of {plan.rounds} round(s) ({plan.heavy_rounds} for memory and trace); "
          "ratio = NEXUS / y-websocket (lower is better except for burst updates/s)")  # fmt: skip
    for kind in KINDS:
        for error in dict.fromkeys(out.errors.get(kind, {}).values()):
            print(f"{NAMES[kind]} n/a: {error}")
    for note in [*burst_notes(out), *dict.fromkeys(out.notes)]:
        print(note)


def burst_notes(out: Results) -> list[str]:
    """Who was busy at the first burst step over the limit: a server below 90% of its core
    was not what stopped the ramp (the clients' core, or a neighbour on it, was)."""
    notes = []
    for item in out.details:
        result = item["result"]
        if item["metric"] != "burst":
            continue
        if result.get("reached_max"):
            notes.append(f"note: {NAMES[item['server']]} burst reached --max-rate; raise it")
        failed = next((step for step in result["steps"] if not step["ok"]), None)
        if failed and failed.get("server_busy") is not None:
            notes.append(
                f"note: {NAMES[item['server']]} burst: at {failed['rate']:.0f}/s (p99 "
                f"{failed['p99_ms']:.0f} ms) the server used {failed['server_busy']:.0%} of its "
                f"core, the clients {failed['client_busy']:.0%} of theirs"
            )
    return notes


# -- main ---------------------------------------------------------------------------------------


def check_setup(plan: Plan) -> None:
    if not STOCK_SERVER.exists():
        raise SystemExit("node packages missing: cd tests/js && npm ci --no-audit --no-fund")
    if "trace" in plan.metrics and not plan.trace.exists():
        raise SystemExit(f"trace not found: {plan.trace}")


def main(argv: list[str] | None = None) -> int:
    plan, json_path = parse_plan(argv)
    check_setup(plan)
    signal.signal(signal.SIGTERM, on_sigterm)
    ctx = Context(plan, choose_pinning(), Children())
    out = Results()
    started = time.monotonic()
    print(f"collab benchmark: {ctx.pinning.describe()}; node {node_version()}")
    tmp = Path(tempfile.mkdtemp(prefix="nexus-collab-bench-"))
    try:
        for number in range(plan.rounds):
            run_round(ctx, number, tmp, out)
    finally:
        ctx.children.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    lines = table(plan, out)
    print_report(plan, out, lines)
    print(f"took {time.monotonic() - started:.0f} s")
    if json_path:
        dump = {"plan": {**asdict(plan), "trace": str(plan.trace)}, "table": lines,
                "errors": out.errors, "rounds": out.values, "details": out.details}  # fmt: skip
        json_path.write_text(json.dumps(dump, indent=2, default=str))
    return 0


def node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError as exc:
        raise SystemExit(f"node is needed: {exc}") from exc


if __name__ == "__main__":
    sys.exit(main())
