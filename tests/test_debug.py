"""The debugger bridge with real debugpy through a real server: breakpoints, stepping,
variables, what collaborators see, roles, bad input, and that no process is left."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests._client import command_result, eventually, join, post_command
from tests.conftest import ADMIN_TOKEN, RunningServer, make_settings, serve

PROGRAM = """\
def add(a, b):
    total = a + b
    return total


x = add(1, 2)
print("first", x)
y = add(x, 3)
print("second", y)
"""


async def run(nexus: RunningServer, token: str, ws: str, command: str, **args: Any) -> Any:
    return await post_command(nexus, token, ws, command, args, timeout=30)


async def ok(nexus: RunningServer, token: str, ws: str, command: str, **args: Any) -> Any:
    return await command_result(nexus, token, ws, command, args, timeout=30)


async def workspace(nexus: RunningServer, files: dict[str, str]) -> tuple[str, str, Path]:
    """A user "ada" and her workspace holding `files`: (token, workspace id, folder)."""
    owner = await nexus.create_user("ada")
    ws = await nexus.create_workspace(owner, "dbg")
    root = Path(ws["path"])
    for name, text in files.items():
        (root / name).write_text(text)
    return owner, ws["id"], root


LOOP = "import time\nwhile True:\n    time.sleep(0.05)\n"


def debuggees(root: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "debugpy" in cmdline and (str(root) in cmdline or "debugpy.adapter" in cmdline):
            found.append(proc)
    return found


async def test_breakpoints_stepping_and_variables(nexus: RunningServer) -> None:
    owner, ws_id, _ = await workspace(nexus, {"prog.py": PROGRAM})
    watcher = await nexus.socket(owner)
    states: list[dict[str, Any]] = []
    output: list[str] = []
    watcher.on("debug:state", states.append)
    watcher.on("debug:output", lambda data: output.append(data["output"]))
    await join(watcher, ws_id)

    mark = await ok(nexus, owner, ws_id, "debug.toggleBreakpoint", path="prog.py", line=2)
    assert mark["set"] and mark["breakpoints"] == {"prog.py": [2]}

    state = await ok(nexus, owner, ws_id, "debug.start", path="prog.py")
    assert state["status"] == "paused" and state["reason"] == "breakpoint", state
    assert [(f["name"], f["path"], f["line"]) for f in state["frames"][:2]] == [
        ("add", "prog.py", 2),
        ("<module>", "prog.py", 6),
    ]
    assert {v["name"]: v["value"] for v in state["variables"]} == {"a": "1", "b": "2"}

    state = await ok(nexus, owner, ws_id, "debug.stepOver")
    assert (state["status"], state["frames"][0]["line"]) == ("paused", 3)
    assert {v["name"]: v["value"] for v in state["variables"]}["total"] == "3"

    state = await ok(nexus, owner, ws_id, "debug.stepOut")
    assert state["frames"][0]["name"] == "<module>", state

    state = await ok(nexus, owner, ws_id, "debug.continue")  # the second call to add
    assert (state["status"], state["frames"][0]["line"]) == ("paused", 2)
    assert {v["name"]: v["value"] for v in state["variables"]} == {"a": "3", "b": "3"}

    # cleared while paused: the running program no longer stops there
    mark = await ok(nexus, owner, ws_id, "debug.toggleBreakpoint", line=2)
    assert not mark["set"] and mark["breakpoints"] == {}
    state = await ok(nexus, owner, ws_id, "debug.continue")
    assert (state["status"], state["exit_code"]) == ("ended", 0), state

    await eventually(lambda: "second 6\n" in "".join(output))
    assert "".join(output) == "first 3\nsecond 6\n"
    statuses = [s["status"] for s in states]
    assert statuses.count("paused") == 4 and statuses[-1] == "ended", statuses
    await watcher.disconnect()


async def test_stop_ends_the_program_and_leaves_no_process(nexus: RunningServer) -> None:
    owner, ws_id, root = await workspace(nexus, {"loop.py": LOOP})
    state = await ok(nexus, owner, ws_id, "debug.start", path="loop.py")
    assert state["status"] in ("running", "starting"), state
    assert debuggees(root), "the program runs under the debugger"
    late = await nexus.socket(owner)  # someone opening the IDE now sees it running
    joined = await late.call("workspace:join", {"workspace": ws_id}, timeout=10)
    assert joined["result"]["debug"]["status"] == "running", joined
    assert joined["result"]["debug"]["program"] == "loop.py"
    await late.disconnect()

    again = await run(nexus, owner, ws_id, "debug.start", path="loop.py")
    assert again.status_code == 409 and "stop debugging first" in again.text

    state = await ok(nexus, owner, ws_id, "debug.stop")
    assert state["status"] == "ended"
    await eventually(lambda: not debuggees(root), interval=0.05)
    missing = await run(nexus, owner, ws_id, "debug.stepOver")
    assert missing.status_code == 404 and "start debugging first" in missing.text


async def test_bad_input_and_roles(nexus: RunningServer) -> None:
    owner, ws_id, root = await workspace(nexus, {"prog.py": PROGRAM, "notes.txt": "hi\n"})
    viewer = await nexus.create_user("bob")
    await nexus.add_member(owner, ws_id, "bob", "viewer")

    cases = [
        ({"path": "../outside.py"}, 403, "inside the workspace"),
        ({"path": "notes.txt"}, 422, "only Python programs"),
        ({"path": "missing.py"}, 422, "is not a file"),
        ({}, 422, "path"),
    ]
    for args, status, message in cases:
        response = await run(nexus, owner, ws_id, "debug.start", **args)
        assert response.status_code == status and message in response.text, response.text

    refused = await run(nexus, viewer, ws_id, "debug.start", path="prog.py")
    assert refused.status_code == 403
    no_file = await run(nexus, owner, ws_id, "debug.toggleBreakpoint", line=3)
    assert no_file.status_code == 422 and "which file" in no_file.text
    paused = await run(nexus, owner, ws_id, "debug.continue")
    assert paused.status_code == 404
    state = await ok(nexus, viewer, ws_id, "debug.state")  # viewers may watch
    assert state["status"] == "none"
    assert not debuggees(root)


async def test_an_uncaught_exception_pauses_where_it_was_raised(nexus: RunningServer) -> None:
    owner, ws_id, _ = await workspace(
        nexus, {"boom.py": "def f(n):\n    return 10 / n\n\n\nf(0)\n"}
    )
    state = await ok(nexus, owner, ws_id, "debug.start", path="boom.py")
    assert state["status"] == "paused" and state["reason"] == "exception", state
    assert (state["frames"][0]["name"], state["frames"][0]["line"]) == ("f", 2)
    assert {v["name"]: v["value"] for v in state["variables"]}["n"] == "0"
    state = await ok(nexus, owner, ws_id, "debug.stop")
    assert state["status"] == "ended"


async def test_server_shutdown_ends_every_debugged_program(tmp_path: Path) -> None:
    async with serve(make_settings(tmp_path)) as nexus:
        owner, ws_id, root = await workspace(nexus, {"loop.py": LOOP})
        state = await ok(nexus, owner, ws_id, "debug.start", path="loop.py")
        assert state["status"] == "running", state
        assert debuggees(root)
    assert not debuggees(root), "the server stopped: nothing it debugged is left"


async def test_stop_does_not_wait_for_a_long_continue(nexus: RunningServer) -> None:
    owner, ws_id, root = await workspace(nexus, {"loop.py": LOOP})
    await ok(nexus, owner, ws_id, "debug.toggleBreakpoint", path="loop.py", line=3)
    state = await ok(nexus, owner, ws_id, "debug.start", path="loop.py")
    assert (state["status"], state["frames"][0]["line"]) == ("paused", 3)
    await ok(nexus, owner, ws_id, "debug.toggleBreakpoint", path="loop.py", line=3)  # cleared
    running = asyncio.create_task(ok(nexus, owner, ws_id, "debug.continue"))  # loops forever

    async def resumed() -> bool:
        return bool((await ok(nexus, owner, ws_id, "debug.state"))["status"] == "running")

    await eventually(resumed, interval=0.05)
    started = asyncio.get_running_loop().time()
    state = await ok(nexus, owner, ws_id, "debug.stop")
    assert state["status"] == "ended"
    assert asyncio.get_running_loop().time() - started < 5
    assert (await running)["status"] == "ended"
    assert not debuggees(root)


async def test_inspect_and_evaluate_while_paused(nexus: RunningServer) -> None:
    program = 'data = {"k": [1, 2]}\nprint(data)\n'
    owner, ws_id, _ = await workspace(nexus, {"prog.py": program})
    viewer = await nexus.create_user("bob")
    await nexus.add_member(owner, ws_id, "bob", "viewer")
    await ok(nexus, owner, ws_id, "debug.toggleBreakpoint", path="prog.py", line=2)
    state = await ok(nexus, owner, ws_id, "debug.start", path="prog.py")
    data = next(v for v in state["variables"] if v["name"] == "data")
    assert data["value"] == "{'k': [1, 2]}" and data["reference"] > 0

    inside = await ok(nexus, viewer, ws_id, "debug.variables", reference=data["reference"])
    assert any(v["name"] == "'k'" and v["value"] == "[1, 2]" for v in inside), inside

    value = await ok(nexus, owner, ws_id, "debug.evaluate", expression="len(data['k']) * 10")
    assert (value["value"], value["type"]) == ("20", "int")
    await ok(nexus, owner, ws_id, "debug.evaluate", expression="data['k'].append(3)")
    failed = await run(nexus, owner, ws_id, "debug.evaluate", expression="no_such_name")
    assert failed.status_code == 422 and "NameError" in failed.text, failed.text
    refused = await run(nexus, viewer, ws_id, "debug.evaluate", expression="1")
    assert refused.status_code == 403

    output: list[str] = []
    watcher = await nexus.socket(owner)
    watcher.on("debug:output", lambda data: output.append(data["output"]))
    await watcher.call("workspace:join", {"workspace": ws_id}, timeout=10)
    state = await ok(nexus, owner, ws_id, "debug.continue")
    assert state["status"] == "ended"
    await eventually(lambda: "{'k': [1, 2, 3]}\n" in "".join(output))  # the console's change
    late = await run(nexus, owner, ws_id, "debug.evaluate", expression="1")
    assert late.status_code == 404, late.text
    await watcher.disconnect()


async def test_breakpoints_survive_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with serve(settings) as nexus:
        owner, ws_id, _ = await workspace(nexus, {"prog.py": PROGRAM})
        await ok(nexus, owner, ws_id, "debug.toggleBreakpoint", path="prog.py", line=3)
    async with serve(settings) as nexus:
        login = await nexus.http.post(
            "/api/v1/auth/login", json={"username": "ada", "password": "correct horse"}
        )
        owner = login.json()["token"]
        state = await ok(nexus, owner, ws_id, "debug.state")
        assert state["breakpoints"] == {"prog.py": [3]}
        state = await ok(nexus, owner, ws_id, "debug.start", path="prog.py")
        assert (state["status"], state["frames"][0]["line"]) == ("paused", 3)
        await ok(nexus, owner, ws_id, "debug.stop")


PROBE = """\
import os


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError as exc:
        return f"refused: {type(exc).__name__}"


def write(path):
    try:
        with open(path, "w") as f:
            f.write("from the debugged program")
        return "written"
    except OSError as exc:
        return f"refused: {type(exc).__name__}"


here = 1
"""
OPENAI_KEY = "sk-test-openai-0123456789abcdef"


@pytest.mark.parametrize("sandbox", ["required", "off"])
async def test_a_debugged_program_is_sealed_in_its_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: str
) -> None:
    """Sealed, a program under the debugger reads and writes neither another workspace
    nor the database, and finds no secret of the server's; with `NEXUS_SANDBOX=off` the
    same files are open to it, so the sandbox is what refuses them. Its environment is
    allow-listed either way."""
    monkeypatch.setenv("NEXUS_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    settings = make_settings(tmp_path, sandbox=sandbox)
    async with serve(settings) as nexus:
        eve = await nexus.create_user("eve")
        theirs = Path((await nexus.create_workspace(eve, "theirs"))["path"])
        (theirs / "secret.txt").write_text("eve's secret plan\n")
        database = settings.data_dir / "nexus.db"
        assert database.is_file()
        owner, ws_id, _ = await workspace(nexus, {"probe.py": PROBE})
        line = PROBE.splitlines().index("here = 1") + 1
        await ok(nexus, owner, ws_id, "debug.toggleBreakpoint", path="probe.py", line=line)
        state = await ok(nexus, owner, ws_id, "debug.start", path="probe.py")
        async with asyncio.timeout(20):  # a loaded machine may take longer than the settle
            while state["status"] != "paused":
                assert state["status"] != "ended", state
                await asyncio.sleep(0.1)  # polling, asserting on every state seen
                state = await ok(nexus, owner, ws_id, "debug.state")
        assert state["frames"][0]["line"] == line, state

        async def evaluate(expression: str) -> str:
            value = await ok(nexus, owner, ws_id, "debug.evaluate", expression=expression)
            return str(value["value"])

        server = f"/proc/{os.getpid()}/environ"  # this process is the server
        assert await evaluate(f"read({server!r}).startswith('refused')") == str(
            sandbox == "required"
        )
        for environ in ("/proc/1/environ", "/proc/self/environ"):
            for secret in (ADMIN_TOKEN, OPENAI_KEY):
                assert await evaluate(f"{secret!r} in read({environ!r})") == "False"
        leaked = "sorted(k for k in os.environ if 'NEXUS' in k or 'KEY' in k or 'TOKEN' in k)"
        assert await evaluate(leaked) == "[]"
        secrets = (ADMIN_TOKEN, OPENAI_KEY)
        assert await evaluate(f"any(s in v for v in os.environ.values() for s in {secrets!r})") == (
            "False"
        )

        other_file = await evaluate(f"read({str(theirs / 'secret.txt')!r})")
        stolen = await evaluate(f"read({str(database)!r})[:15]")
        written = await evaluate(f"write({str(theirs / 'planted.txt')!r})")
        if sandbox == "required":
            assert "refused" in other_file and "refused" in stolen, (other_file, stolen)
            assert "refused" in written and not (theirs / "planted.txt").exists(), written
        else:
            assert "eve's secret plan" in other_file and "SQLite format 3" in stolen
            assert written == "'written'" and (theirs / "planted.txt").exists()
        assert (await ok(nexus, owner, ws_id, "debug.stop"))["status"] == "ended"
