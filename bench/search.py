"""Workspace text search over a 100k-line tree: NEXUS against `grep -rn` in the same run.

The script writes a tree of Python-like files (1,000 files of 100 lines by default, a few
known needles among them) into a temporary folder, starts `nexus serve` on it pinned to
core 0, pins itself (the client, the in-process search and grep) to core 1, and times each
query three ways, taking turns within every run:

- ours in-process: `server.search.service.search_files` called directly;
- ours over REST: `POST /api/v1/workspaces/{id}/search/text` on the running server, round
  trip through a kept-alive HTTP connection;
- grep: `grep -rnF` for literals (`-i` when case-insensitive), `grep -rnE` for the regex,
  on the same folder, its output read to the end.

The files are read once before timing (warm page cache), every query runs once unmeasured,
and the figures are medians over the runs; the ratio is ours / grep (lower is better).

    .venv/bin/python bench/search.py [--files 1000] [--lines 100] [--runs 7] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from server.search.service import SearchArgs, search_files

NEXUS = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "nexus"
ADMIN_TOKEN = "bench-admin-token-0123456789"
START_TIMEOUT_S = 30.0
WORDS = (
    "self value result items config request response handler data index count name path "
    "buffer token user session state event message error"
).split()


@dataclass(frozen=True)
class Query:
    name: str
    args: SearchArgs
    grep: list[str]


QUERIES = [
    Query(
        "literal",
        SearchArgs(query="NeedleLiteral", case_sensitive=True),
        ["grep", "-rnF", "NeedleLiteral"],
    ),
    Query(
        "literal, ignore case",
        SearchArgs(query="needleliteral"),
        ["grep", "-rniF", "needleliteral"],
    ),
    Query(
        "regex",
        SearchArgs(query=r"def \w+_handler\(", is_regex=True, case_sensitive=True),
        ["grep", "-rnE", r"def \w+_handler\("],
    ),
]


def generate_tree(root: Path, files: int, lines: int, seed: int = 7) -> None:
    """Python-like modules, 50 per folder; every 20th holds `NeedleLiteral`, every 25th a
    `def needle_handler(` (the regex also matches nothing else)."""
    rng = random.Random(seed)
    for number in range(files):
        folder = root / f"pkg_{number // 50:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        out = [f'"""Module {number}."""', "import os", ""]
        while len(out) < lines:
            roll = rng.random()
            a, b, c = rng.sample(WORDS, 3)
            if roll < 0.1:
                out.append(f"def {a}_{b}_{len(out)}({c}, *args):")
            elif roll < 0.15:
                out.append(f"class {a.title()}{b.title()}{len(out)}:")
            else:
                out.append(f"    {a} = {b}.{c}({rng.randint(0, 999)}, {a}_{c})  # {b} {c}")
        if number % 20 == 3 and lines > 50:
            out[50] = "    marker = 'NeedleLiteral found here'  # needle"
        if number % 25 == 7 and lines > 60:
            out[60] = "def needle_handler(request, *args):"
        (folder / f"module_{number:04d}.py").write_text("\n".join(out[:lines]) + "\n")


# -- the server -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin_cores() -> tuple[list[str], str]:
    """(prefix for the server's command, description); this process goes to core 1."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2 or shutil.which("taskset") is None:
        return [], "NOT pinned (fewer than 2 cores or no taskset)"
    os.sched_setaffinity(0, {cores[1]})
    return ["taskset", "-c", str(cores[0])], (
        f"server pinned to core {cores[0]}; client, in-process search and grep to core {cores[1]}"
    )


class Server:
    """`nexus serve` in a scratch folder, without the caller's NEXUS_* settings."""

    def __init__(self, scratch: Path, workspaces: Path, prefix: list[str]) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = scratch / "server.log"
        env = {key: value for key, value in os.environ.items() if not key.startswith("NEXUS_")}
        argv = [
            str(NEXUS), "serve", "--host", "127.0.0.1", "--port", self.url.rsplit(":", 1)[1],
            "--data-dir", str(scratch / "data"), "--workspace-root", str(workspaces),
            "--admin-token", ADMIN_TOKEN, "--log-level", "warning",
        ]  # fmt: skip
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*prefix, *argv],
                cwd=scratch,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, http: httpx.Client) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if http.get(f"{self.url}/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        tail = self.log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"nexus did not become ready:\n{tail}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# -- timing -----------------------------------------------------------------------------------


def time_in_process(root: Path, query: Query) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, matches)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = search_files(root, query.args)
    return time.perf_counter() - started, time.process_time() - cpu, len(result.results)


def time_rest(http: httpx.Client, url: str, query: Query) -> tuple[float, float, int]:
    """(wall seconds, NaN: the server's CPU is not measured per request, matches)."""
    body = query.args.model_dump(mode="json")
    started = time.perf_counter()
    response = http.post(url, json=body)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"search failed: {response.status_code} {response.text}")
    return elapsed, math.nan, len(response.json()["results"])


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_grep(root: Path, query: Query) -> tuple[float, float, int]:
    """(wall seconds, grep's CPU seconds, matching lines)."""
    started, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run([*query.grep, str(root)], capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"grep failed: {done.stderr.decode(errors='replace')}")
    return elapsed, children_cpu() - cpu, done.stdout.count(b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    options = parser.parse_args()

    prefix, pinning = pin_cores()
    with tempfile.TemporaryDirectory(prefix="nexus-bench-search-") as scratch_name:
        scratch = Path(scratch_name)
        root = scratch / "workspaces" / "bench"
        generate_tree(root, options.files, options.lines)
        for path in root.rglob("*.py"):  # warm the page cache
            path.read_bytes()
        server = Server(scratch, scratch / "workspaces", prefix)
        try:
            with httpx.Client(
                timeout=30, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            ) as http:
                server.wait_ready(http)
                created = http.post(f"{server.url}/api/v1/workspaces", json={"name": "bench"})
                created.raise_for_status()
                url = f"{server.url}/api/v1/workspaces/{created.json()['id']}/search/text"
                figures = measure(root, http, url, options.runs)
        finally:
            server.stop()
    report(figures, options, pinning)


def measure(root: Path, http: httpx.Client, url: str, runs: int) -> dict[str, Any]:
    """Medians per query and way; every way must find what grep finds."""
    ways = {
        "in-process": lambda q: time_in_process(root, q),
        "REST": lambda q: time_rest(http, url, q),
        "grep": lambda q: time_grep(root, q),
    }
    samples: dict[str, dict[str, list[float]]] = {
        q.name: {key: [] for way in ways for key in (way, f"{way} CPU")} for q in QUERIES
    }
    counts: dict[str, dict[str, int]] = {q.name: {} for q in QUERIES}
    order = list(ways)
    for run in range(runs + 1):  # run 0 warms up and is not counted
        for query in QUERIES:
            for way in order[run % 3 :] + order[: run % 3]:  # take turns going first
                elapsed, cpu, count = ways[way](query)
                counts[query.name][way] = count
                if run:
                    samples[query.name][way].append(elapsed * 1000)
                    samples[query.name][f"{way} CPU"].append(cpu * 1000)
    for name, by_way in counts.items():
        if len(set(by_way.values())) != 1:
            raise RuntimeError(f"{name}: the ways disagree on the number of matches: {by_way}")
    return {
        name: {
            "matches": counts[name]["grep"],
            **{
                key: statistics.median(values)
                for key, values in by_way.items()
                if not any(math.isnan(value) for value in values)
            },
        }
        for name, by_way in samples.items()
    }


def report(figures: dict[str, Any], options: argparse.Namespace, pinning: str) -> None:
    lines = options.files * options.lines
    print(f"search over {options.files} files, {lines:,} lines; medians of {options.runs} runs")
    print(pinning)
    print("wall time (ms)")
    print(
        f"{'query':<22}{'matches':>8}{'in-process':>12}{'REST':>9}{'grep':>9}"
        f"{'in-proc/grep':>14}{'REST/grep':>11}"
    )
    for name, row in figures.items():
        print(
            f"{name:<22}{row['matches']:>8}{row['in-process']:>12.2f}{row['REST']:>9.2f}"
            f"{row['grep']:>9.2f}{row['in-process'] / row['grep']:>14.2f}"
            f"{row['REST'] / row['grep']:>11.2f}"
        )
    print("CPU time (ms; steadier than wall time on a shared machine)")
    print(f"{'query':<22}{'in-process':>12}{'grep':>9}{'in-proc/grep':>14}")
    for name, row in figures.items():
        ours, grep = row["in-process CPU"], row["grep CPU"]
        ratio = f"{ours / grep:>14.2f}" if grep else f"{'-':>14}"
        print(f"{name:<22}{ours:>12.2f}{grep:>9.2f}{ratio}")
    if options.json:
        options.json.write_text(json.dumps({"pinning": pinning, "queries": figures}, indent=2))


if __name__ == "__main__":
    main()
