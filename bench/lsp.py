"""Language servers: requests through NEXUS's LSP bridge against jedi-language-server
driven directly over stdio, same file, same run.

Each round starts a fresh `nexus serve` pinned to one core (its language servers run
there too) and a directly driven `jedi-language-server` pinned to the same core, while
this process, the client of both, pins itself to another. Figures:

- completion, hover and definition latency, p50 and p99 over `--requests` requests each,
  taking turns between the bridge (JSON-RPC over `ws://…/lsp/{workspace}/python`) and
  the direct server (pygls `LanguageClient` over stdio);
- first-completion latency after a workspace opens: ours (the bridge warms jedi up as it
  starts; we wait for its `$/nexus/status` saying so) against a cold jedi-language-server
  started, initialized and asked straight away. Both complete `os.` in a fresh file.

Medians over the rounds, with the ratio ours/direct.

    .venv/bin/python bench/lsp.py [--rounds 3] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from terminal import ADMIN_TOKEN, Nexus, pinned, pinned_rounds

from lsp.registry import ServerSpec, servers_for
from lsp.upstream import Upstream
from server.supervisor import Sandbox, SandboxMode, Supervisor

SOURCE = '''import os
import json


class Store:
    """A small key-value store."""

    def __init__(self, path):
        self.path = path
        self.items = {}

    def put(self, key, value):
        self.items[key] = value
        return value

    def dump(self):
        return json.dumps(self.items)


def make_store(path):
    return Store(os.path.join(path, "store.json"))


store = make_store("/tmp")
store.put("a", 1)
store.dump()
'''


def peer_supervisor(root: Path) -> Supervisor:
    """The peer: jedi-language-server as a plain child process (no sandbox)."""
    return Supervisor(Sandbox(SandboxMode.off, root.parent / ".homes"))


def position_after(needle: str) -> dict[str, int]:
    """The LSP position just after the first `needle` in SOURCE."""
    offset = SOURCE.index(needle) + len(needle)
    line = SOURCE.count("\n", 0, offset)
    return {"line": line, "character": offset - (SOURCE.rfind("\n", 0, offset) + 1)}


COMPLETION = position_after("store.pu")  # members of Store
HOVER = position_after("return St")  # the class, with its docstring
DEFINITION = position_after("store = make_st")  # the function above


class Bridge:
    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.ids = itertools.count(1)
        self.status: list[dict[str, Any]] = []

    async def call(self, method: str, params: Any) -> Any:
        msg_id = next(self.ids)
        await self.connection.send(
            json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        )
        while True:
            message = json.loads(await self.connection.recv())
            if message.get("id") == msg_id:
                if "error" in message:
                    raise RuntimeError(message["error"])
                return message["result"]
            if message.get("method") == "$/nexus/status":
                self.status.append(message["params"])

    async def notify(self, method: str, params: Any) -> None:
        await self.connection.send(
            json.dumps({"jsonrpc": "2.0", "method": method, "params": params})
        )

    async def wait_warm(self) -> None:
        while not any(s.get("warm") for s in self.status):
            message = json.loads(await self.connection.recv())
            if message.get("method") == "$/nexus/status":
                self.status.append(message["params"])


def jedi_spec(core: int | None) -> ServerSpec:
    spec = next(s for s in servers_for("python") if s.name == "jedi")
    return ServerSpec(
        spec.name,
        tuple(pinned(core, list(spec.command))),
        spec.methods,
        spec.diagnostics,
        spec.initialization_options,
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def one_round(scratch: Path, server_core: int | None, requests: int) -> dict[str, float]:
    out: dict[str, float] = {}
    nexus = Nexus(scratch / "nexus", server_core)
    direct: Upstream | None = None
    try:
        workspace = await nexus.ready()
        root = scratch / "nexus" / "ws" / "bench"
        (root / "store.py").write_text(SOURCE)
        (root / "first.py").write_text("import os\nos.")
        url = f"{nexus.url.replace('http', 'ws')}/lsp/{workspace}/python?token={ADMIN_TOKEN}"
        async with websockets.connect(url, max_size=None) as connection:
            ours = Bridge(connection)
            await ours.call("initialize", {"capabilities": {}})
            await ours.wait_warm()
            first_uri = (root / "first.py").as_uri()
            await ours.notify("textDocument/didOpen", {"textDocument": {"uri": first_uri}})
            started = time.perf_counter()
            await ours.call(
                "textDocument/completion",
                {"textDocument": {"uri": first_uri}, "position": {"line": 1, "character": 3}},
            )
            out["first_ours"] = time.perf_counter() - started

            # A cold jedi, asked at once, on the same kind of file.
            cold_root = scratch / "cold"
            cold_root.mkdir()
            (cold_root / "first.py").write_text("import os\nos.")
            cold = Upstream(
                jedi_spec(server_core),
                cold_root,
                supervisor=peer_supervisor(cold_root),
                workspace_id="bench-cold",
                memory_mb=0,
                on_notification=lambda *_: None,
            )
            started = time.perf_counter()
            await cold.start(60)
            uri = (cold_root / "first.py").as_uri()
            cold.notify(
                "textDocument/didOpen",
                {
                    "textDocument": {
                        "uri": uri,
                        "languageId": "python",
                        "version": 1,
                        "text": "import os\nos.",
                    }
                },
            )
            await cold.request(
                "textDocument/completion",
                {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 3}},
                timeout=60,
            )
            out["first_cold"] = time.perf_counter() - started
            await cold.stop()

            # The same file through both, taking turns.
            direct = Upstream(
                jedi_spec(server_core),
                root,
                supervisor=peer_supervisor(root),
                workspace_id="bench",
                memory_mb=0,
                on_notification=lambda *_: None,
            )
            await direct.start(60)
            uri = (root / "store.py").as_uri()
            direct.notify(
                "textDocument/didOpen",
                {
                    "textDocument": {
                        "uri": uri,
                        "languageId": "python",
                        "version": 1,
                        "text": SOURCE,
                    }
                },
            )
            await ours.notify("textDocument/didOpen", {"textDocument": {"uri": uri}})
            for method, position in (
                ("textDocument/completion", COMPLETION),
                ("textDocument/hover", HOVER),
                ("textDocument/definition", DEFINITION),
            ):
                params = {"textDocument": {"uri": uri}, "position": position}
                for _ in range(5):  # warm both
                    await ours.call(method, params)
                    await direct.request(method, params, timeout=30)
                mine, theirs = [], []
                for _ in range(requests):
                    started = time.perf_counter()
                    await ours.call(method, params)
                    mine.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    await direct.request(method, params, timeout=30)
                    theirs.append(time.perf_counter() - started)
                name = method.split("/")[1]
                for label, values in (("ours", mine), ("direct", theirs)):
                    out[f"{name}_{label}_p50"] = percentile(values, 0.5)
                    out[f"{name}_{label}_p99"] = percentile(values, 0.99)
    finally:
        if direct is not None:
            await direct.stop()
        nexus.stop()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    median, server_core, client_core = await pinned_rounds(
        args.rounds, lambda scratch, core: one_round(scratch, core, args.requests)
    )
    print(
        f"LSP bridge vs jedi-language-server over stdio ({args.rounds} rounds, "
        f"{args.requests} requests each; server core {server_core}, client core {client_core})"
    )
    print(f"{'figure':<28}{'ours':>12}{'direct':>12}{'ratio':>8}{'overhead':>12}")
    for name in ("completion", "hover", "definition"):
        for q in ("p50", "p99"):
            ours, direct = median[f"{name}_ours_{q}"], median[f"{name}_direct_{q}"]
            print(
                f"{name + ' ' + q:<28}{ours * 1e3:>10.2f}ms{direct * 1e3:>10.2f}ms"
                f"{ours / direct:>8.2f}{(ours - direct) * 1e3:>10.2f}ms"
            )
    ours, cold = median["first_ours"], median["first_cold"]
    print(
        f"{'first completion (os.)':<28}{ours * 1e3:>10.0f}ms{cold * 1e3:>10.0f}ms"
        f"{ours / cold:>8.2f}   (ours warmed at start; direct: cold jedi, start included)"
    )


if __name__ == "__main__":
    asyncio.run(main())
