"""The debugger: stepping through NEXUS's debugger bridge against debugpy driven directly
over the Debug Adapter Protocol, same program, same run.

Each round starts a fresh `nexus serve` pinned to one core (its debug adapter and the
program run there too) and a directly driven `python -m debugpy.adapter` pinned to the
same core, while this process, the client of both, pins itself to another. Figures:

- continue latency, p50 and p99 over `--steps` hits of a breakpoint in a loop: ours is
  `POST /api/v1/commands/debug.continue`, which answers with where the program paused and
  the top frame's variables; direct is `continue`, then the `stopped` event, then
  `stackTrace`, `scopes` and `variables` (what an IDE asks at every pause);
- start latency: from asking to debug the program to its first pause, inspected.

Medians over the rounds, with the ratio ours/direct.

    .venv/bin/python bench/debug.py [--rounds 3] [--steps 200]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from terminal import ADMIN_TOKEN, Nexus, percentile, pinned, pinned_rounds

from server.debug import DapClient
from server.supervisor import ProcessSpec, Sandbox, SandboxMode, Supervisor

PROGRAM = """\
total = 0
for i in range(1_000_000):
    total += i
print(total)
"""
BREAKPOINT = 3


async def ours(nexus: Nexus, workspace: str, steps: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with aiohttp.ClientSession(base_url=nexus.url, headers=headers) as http:

        async def command(name: str, **args: Any) -> Any:
            body = {"workspace": workspace, "args": args}
            async with http.post(f"/api/v1/commands/{name}", json=body) as response:
                assert response.status == 200, await response.text()
                return (await response.json())["result"]

        files = f"/api/v1/workspaces/{workspace}/files/prog.py"
        async with http.put(files, data=PROGRAM.encode()) as response:
            assert response.status in (200, 201), await response.text()
        await command("debug.toggleBreakpoint", path="prog.py", line=BREAKPOINT)
        started = time.perf_counter()
        state = await command("debug.start", path="prog.py")
        first = time.perf_counter() - started
        assert state["status"] == "paused", state
        samples = []
        for _ in range(steps):
            started = time.perf_counter()
            state = await command("debug.continue")
            samples.append(time.perf_counter() - started)
            assert state["status"] == "paused" and state["variables"], state
        await command("debug.stop")
    return {"first": first, "samples": samples}


async def direct(root: Path, core: int | None, steps: int) -> dict[str, Any]:
    stops: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    initialized = asyncio.Event()

    async def on_event(event: str, body: dict[str, Any]) -> None:
        if event == "initialized":
            initialized.set()
        elif event == "stopped":
            stops.put_nowait(body)

    argv = pinned(core, [sys.executable, "-m", "debugpy.adapter"])
    # The peer: debugpy's adapter as a plain child process (no sandbox), over the same client.
    supervisor = Supervisor(Sandbox(SandboxMode.off, root / ".homes"))
    spec = ProcessSpec(
        kind="debug_adapter", name="debugpy", argv=argv, workspace_id="bench", workspace=root
    )
    client = DapClient(supervisor, spec, on_event)

    async def inspect(thread: int) -> list[Any]:
        trace = await client.request("stackTrace", {"threadId": thread, "levels": 20})
        scopes = await client.request("scopes", {"frameId": trace["stackFrames"][0]["id"]})
        reference = scopes["scopes"][0]["variablesReference"]
        found = await client.request("variables", {"variablesReference": reference})
        return list(found["variables"])

    started = time.perf_counter()
    await client.start()
    try:
        await client.request("initialize", {"adapterID": "debugpy", "pathFormat": "path"})
        program = str(root / "prog.py")
        launched = client.send(
            "launch", {"program": program, "cwd": str(root), "console": "internalConsole"}
        )
        await initialized.wait()
        await client.request(
            "setBreakpoints", {"source": {"path": program}, "breakpoints": [{"line": BREAKPOINT}]}
        )
        await client.request("configurationDone")
        await launched
        thread = (await stops.get())["threadId"]
        await inspect(thread)
        first = time.perf_counter() - started
        samples = []
        for _ in range(steps):
            started = time.perf_counter()
            await client.request("continue", {"threadId": thread})
            thread = (await stops.get())["threadId"]
            assert await inspect(thread)
            samples.append(time.perf_counter() - started)
        await client.request("disconnect", {"terminateDebuggee": True})
    finally:
        await client.close()
    return {"first": first, "samples": samples}


async def one_round(scratch: Path, server_core: int | None, steps: int) -> dict[str, float]:
    nexus = Nexus(scratch / "nexus", server_core)
    try:
        workspace = await nexus.ready()
        mine = await ours(nexus, workspace, steps)
    finally:
        nexus.stop()
    plain = scratch / "direct"
    plain.mkdir()
    (plain / "prog.py").write_text(PROGRAM)
    theirs = await direct(plain, server_core, steps)
    out = {"first_ours": mine["first"], "first_direct": theirs["first"]}
    for label, result in (("ours", mine), ("direct", theirs)):
        out[f"continue_{label}_p50"] = percentile(result["samples"], 0.5)
        out[f"continue_{label}_p99"] = percentile(result["samples"], 0.99)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    median, server_core, client_core = await pinned_rounds(
        args.rounds, lambda scratch, core: one_round(scratch, core, args.steps)
    )
    print(
        f"debugger bridge vs debugpy over DAP ({args.rounds} rounds, {args.steps} continues "
        f"each; server core {server_core}, client core {client_core})"
    )
    print(f"{'figure':<28}{'ours':>12}{'direct':>12}{'ratio':>8}")
    for q in ("p50", "p99"):
        mine, theirs = median[f"continue_ours_{q}"], median[f"continue_direct_{q}"]
        print(f"{'continue ' + q:<28}{mine:>10.2f}ms{theirs:>10.2f}ms", end="")  # already ms
        print(f"{mine / theirs:>8.2f}")
    mine, theirs = median["first_ours"], median["first_direct"]
    print(f"{'start to first pause':<28}{mine * 1e3:>10.0f}ms{theirs * 1e3:>10.0f}ms", end="")
    print(f"{mine / theirs:>8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
