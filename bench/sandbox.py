"""What sealing costs: workspace processes started by the supervisor inside the bubblewrap
sandbox against the same processes started by the same supervisor unsealed.

- terminal open to prompt: `bash -i` on a fresh PTY until its prompt is on the screen;
- `file.run` of a one-line script: `python -c "print('hi')"` from start to exit;
- language server cold start to the first completion: jedi-language-server started,
  `initialize`, `didOpen` of `import os\\nos.`, then `textDocument/completion`.

Sealed and unsealed take turns within each round; medians over the rounds. The benchmark
pins itself (and so the processes it starts) to one core.

    .venv/bin/python bench/sandbox.py [--rounds 15] [--lsp-rounds 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.supervisor import ProcessSpec, Sandbox, SandboxMode, Supervisor  # noqa: E402

JEDI = Path(sys.executable).parent / "jedi-language-server"


def spec(workspace: Path, argv: list[str], **kwargs: object) -> ProcessSpec:
    return ProcessSpec(
        kind="bench",
        name=argv[0],
        argv=argv,
        workspace_id=workspace.name,
        workspace=workspace,
        **kwargs,  # type: ignore[arg-type]
    )


async def terminal_to_prompt(supervisor: Supervisor, workspace: Path) -> float:
    master, slave = os.openpty()
    started = time.perf_counter()
    child = await supervisor.start(
        spec(
            workspace,
            ["bash", "--norc", "--noprofile", "-i"],
            env={"PS1": "READY$ ", "TERM": "xterm-256color"},
            tty=slave,
        )
    )
    os.close(slave)
    loop = asyncio.get_running_loop()
    seen = b""
    ready: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        nonlocal seen
        with contextlib.suppress(OSError):
            seen += os.read(master, 65536)
        if b"READY$ " in seen and not ready.done():
            ready.set_result(None)

    loop.add_reader(master, readable)
    try:
        async with asyncio.timeout(20):
            await ready
        return time.perf_counter() - started
    finally:
        loop.remove_reader(master)
        await child.stop(0.5, signals=())
        os.close(master)


async def run_one_liner(supervisor: Supervisor, workspace: Path) -> float:
    started = time.perf_counter()
    child = await supervisor.start(spec(workspace, [sys.executable, "-c", "print('hi')"]))
    out = await child.stdout.read()
    await child.exited
    elapsed = time.perf_counter() - started
    assert out.strip() == b"hi", out
    return elapsed


async def first_completion(supervisor: Supervisor, workspace: Path) -> float:
    (workspace / "main.py").write_text("import os\nos.")
    started = time.perf_counter()
    child = await supervisor.start(spec(workspace, [str(JEDI)]))

    def send(message: dict[str, object]) -> None:
        body = json.dumps(message).encode()
        child.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def answer(msg_id: int) -> dict[str, object]:
        while True:
            length = 0
            while (line := await child.stdout.readline()).strip():
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            message = json.loads(await child.stdout.readexactly(length))
            if message.get("id") == msg_id and "method" not in message:
                return dict(message)

    uri = (workspace / "main.py").as_uri()
    try:
        async with asyncio.timeout(60):
            send(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "processId": None,
                        "rootUri": workspace.as_uri(),
                        "capabilities": {},
                    },
                }
            )
            await answer(1)
            send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
            send(
                {
                    "jsonrpc": "2.0",
                    "method": "textDocument/didOpen",
                    "params": {
                        "textDocument": {
                            "uri": uri,
                            "languageId": "python",
                            "version": 1,
                            "text": "import os\nos.",
                        }
                    },
                }
            )
            send(
                {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "textDocument/completion",
                    "params": {
                        "textDocument": {"uri": uri},
                        "position": {"line": 1, "character": 3},
                    },
                }
            )
            result = await answer(2)
        elapsed = time.perf_counter() - started
        items = result["result"]
        assert items, "no completion"
        return elapsed
    finally:
        await child.stop(0.5)


async def measure(
    name: str,
    probe: Callable[[Supervisor, Path], Awaitable[float]],
    supervisors: dict[str, Supervisor],
    workspace: Path,
    rounds: int,
) -> dict[str, float]:
    times: dict[str, list[float]] = {mode: [] for mode in supervisors}
    await probe(supervisors["sealed"], workspace)  # warm the page cache for both
    for _ in range(rounds):
        for mode, supervisor in supervisors.items():
            times[mode].append(await probe(supervisor, workspace))
    sealed = statistics.median(times["sealed"]) * 1000
    unsealed = statistics.median(times["unsealed"]) * 1000
    print(
        f"{name:<40} {sealed:>9.1f} {unsealed:>9.1f} {sealed - unsealed:>+9.1f} ms"
        f" {sealed / unsealed:>6.2f}"
    )
    return {"sealed_ms": sealed, "unsealed_ms": unsealed, "added_ms": sealed - unsealed}


async def main(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    with tempfile.TemporaryDirectory(prefix="nexus-bench-sandbox-") as tmp:
        base = Path(tmp)
        workspace = base / "workspaces" / "bench"
        workspace.mkdir(parents=True)
        supervisors = {
            "sealed": Supervisor(Sandbox(SandboxMode.required, base / "data" / "homes")),
            "unsealed": Supervisor(Sandbox(SandboxMode.off, base / "data" / "homes")),
        }
        print(f"sandbox benchmark: medians of {args.rounds} rounds ({args.lsp_rounds} for LSP)")
        print(f"{'':<40} {'sealed':>9} {'unsealed':>9} {'added':>9}    ratio")
        results = {
            "terminal_to_prompt": await measure(
                "terminal open to prompt", terminal_to_prompt, supervisors, workspace, args.rounds
            ),
            "file_run": await measure(
                "file.run of a one-line script", run_one_liner, supervisors, workspace, args.rounds
            ),
            "lsp_first_completion": await measure(
                "language server start to first completion",
                first_completion,
                supervisors,
                workspace,
                args.lsp_rounds,
            ),
        }
        for supervisor in supervisors.values():
            await supervisor.shutdown()
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--lsp-rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    arguments = parser.parse_args()
    figures = asyncio.run(main(arguments))
    if arguments.json:
        arguments.json.write_text(json.dumps(figures, indent=2))
