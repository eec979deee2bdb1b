"""The supervisor and its sandbox, with real processes: what a sealed workspace process
can and cannot reach, the same probes unsealed (so the sandbox is what refuses them),
limits that contain a fork bomb and a memory hog, and stopping that leaves nothing."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from server.supervisor import Limits, ProcessSpec, Sandbox, SandboxMode, Supervisor
from tests._client import eventually

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None and not os.environ.get("CI"),
    reason="bubblewrap is not installed (apt-get install bubblewrap)",
)

PROBE = r"""
import os, signal, sys
results = {}
def attempt(name, action):
    try:
        action()
        results[name] = "allowed"
    except Exception as exc:
        results[name] = f"refused: {type(exc).__name__}"
other, data, server_pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
attempt("read other workspace", lambda: open(os.path.join(other, "secret.txt")).read())
attempt("read data dir", lambda: open(os.path.join(data, "nexus.db"), "rb").read())
attempt("server environ", lambda: open(f"/proc/{server_pid}/environ", "rb").read())
attempt("see server process", lambda: os.stat(f"/proc/{server_pid}/cmdline"))
attempt("signal server", lambda: os.kill(server_pid, 0))
attempt("write outside", lambda: open(os.path.join(other, "planted.txt"), "w").write("x"))
try:
    init = open("/proc/1/environ", "rb").read()
except OSError:
    init = b""
results["pid 1 has secrets"] = "yes" if b"SECRET_PROBE" in init else "no"
results["own environ has secrets"] = "yes" if "SECRET_PROBE" in os.environ else "no"
print(repr(results))
"""


@pytest.fixture
async def folders(tmp_path: Path) -> AsyncIterator[tuple[Path, Path, Path]]:
    root, data = tmp_path / "workspaces", tmp_path / "data"
    mine, other = root / "mine", root / "other"
    for folder in (mine, other, data):
        folder.mkdir(parents=True)
    (other / "secret.txt").write_text("other workspace's secret")
    (data / "nexus.db").write_bytes(b"SQLite format 3\0")
    (mine / "probe.py").write_text(PROBE)
    yield mine, other, data


def supervisor_for(mode: SandboxMode, data: Path, **kwargs: int) -> Supervisor:
    return Supervisor(Sandbox(mode, data / "homes"), **kwargs)


async def run(supervisor: Supervisor, workspace: Path, argv: list[str], **limits: int) -> str:
    spec = ProcessSpec(
        kind="test",
        name="probe",
        argv=argv,
        workspace_id=workspace.name,
        workspace=workspace,
        limits=Limits(**limits) if limits else supervisor.defaults(),
    )
    child = await supervisor.start(spec)
    try:
        async with asyncio.timeout(60):
            out = await child.stdout.read()
            await child.exited
    finally:
        await child.stop(0.5)
    return out.decode()


async def test_a_sealed_process_sees_only_its_workspace(
    folders: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, other, data = folders
    monkeypatch.setenv("NEXUS_ADMIN_TOKEN", "SECRET_PROBE_TOKEN")
    monkeypatch.setenv("OPENAI_API_KEY", "SECRET_PROBE_KEY")
    argv = [sys.executable, "probe.py", str(other), str(data), str(os.getpid())]

    sealed = eval(await run(supervisor_for(SandboxMode.required, data), mine, argv))
    assert sealed == {
        "read other workspace": "refused: FileNotFoundError",
        "read data dir": "refused: FileNotFoundError",
        "server environ": "refused: FileNotFoundError",
        "see server process": "refused: FileNotFoundError",
        "signal server": "refused: ProcessLookupError",
        "write outside": "refused: FileNotFoundError",
        "pid 1 has secrets": "no",
        "own environ has secrets": "no",
    }
    assert not (other / "planted.txt").exists()

    # The same probe unsealed reaches all of it but the environment (an allow-list either
    # way): the sandbox is what refuses the rest.
    unsealed = eval(await run(supervisor_for(SandboxMode.off, data), mine, argv))
    for probe in ("read other workspace", "read data dir", "server environ", "signal server"):
        assert unsealed[probe] == "allowed", probe
    assert unsealed["own environ has secrets"] == "no"


async def test_files_made_inside_belong_to_the_servers_user(
    folders: tuple[Path, Path, Path],
) -> None:
    mine, _other, data = folders
    await run(supervisor_for(SandboxMode.required, data), mine, ["sh", "-c", "echo hi > made.txt"])
    made = mine / "made.txt"
    assert made.read_text() == "hi\n"
    assert made.stat().st_uid == os.getuid()


async def test_a_fork_bomb_is_contained(folders: tuple[Path, Path, Path]) -> None:
    mine, _other, data = folders
    supervisor = supervisor_for(SandboxMode.required, data, max_processes=64)
    bomb = (
        "import os, time\n"
        "n = 0\n"
        "for _ in range(10000):\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(30); os._exit(0)\n"
        "        n += 1\n"
        "    except OSError:\n"
        "        break\n"
        "print(n, flush=True)\n"
        "os._exit(0)\n"
    )
    (mine / "bomb.py").write_text(bomb)
    before = len(psutil.pids())
    out = await run(supervisor, mine, [sys.executable, "bomb.py"], processes=64)
    assert 0 < int(out) < 64
    # Stopping took the bomb's children with it (the PID namespace ends with bwrap).
    await eventually(lambda: len(psutil.pids()) <= before + 5, 10, interval=0.1)


async def test_a_memory_hog_is_stopped_by_its_ceiling(folders: tuple[Path, Path, Path]) -> None:
    mine, _other, data = folders
    supervisor = supervisor_for(SandboxMode.required, data)
    hog = (
        "try:\n"
        "    b = bytearray(2 * 1024**3)\n"
        "    print('allocated')\n"
        "except MemoryError:\n"
        "    print('refused')\n"
    )
    (mine / "hog.py").write_text(hog)
    out = await run(supervisor, mine, [sys.executable, "hog.py"], memory_mb=512)
    assert out.strip() == "refused"


async def test_stop_leaves_no_process_even_one_that_ignores_term(
    folders: tuple[Path, Path, Path],
) -> None:
    mine, _other, data = folders
    supervisor = supervisor_for(SandboxMode.required, data)
    script = "trap '' TERM HUP; sleep 1000 & sleep 1000 & echo ready; wait"
    spec = ProcessSpec(
        kind="test", name="stubborn", argv=["sh", "-c", script], workspace_id="mine", workspace=mine
    )
    child = await supervisor.start(spec)
    assert (await child.stdout.readline()).strip() == b"ready"
    members = child.members()
    assert members
    await supervisor.shutdown(grace=0.5)
    assert child.exited.done()
    assert not [m for m in members if m.is_running() and m.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.unit
def test_required_without_bwrap_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(RuntimeError, match="NEXUS_SANDBOX"):
        Sandbox(SandboxMode.required, tmp_path)
    relaxed = Sandbox(SandboxMode.auto, tmp_path)
    assert not relaxed.sealed and "not installed" in relaxed.status.detail


async def test_tools_below_tmp_stay_visible(folders: tuple[Path, Path, Path]) -> None:
    """A virtualenv or toolchain under /tmp or /home (a CI checkout, say) is bound after the
    sandbox's own /tmp and /home, so it is not hidden by them."""
    mine, _other, data = folders
    tools = data.parent / "tools"
    tools.mkdir()
    (tools / "hello").write_text("#!/bin/sh\necho hello from a tool\n")
    (tools / "hello").chmod(0o755)
    assert str(tools).startswith("/tmp/")
    supervisor = Supervisor(Sandbox(SandboxMode.required, data / "homes", (str(tools),)))
    out = await run(supervisor, mine, [str(tools / "hello")])
    assert out == "hello from a tool\n"
