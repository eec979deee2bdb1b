"""Shared terminals with real PTYs through a real server: sharing, roles, scrollback, flow
control, process clean-up, limits, the run/test commands, and the workspace sandbox they
run in (no server secret, no other workspace, nothing left after closing)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import socketio

from tests._client import eventually, execute, join, post_command
from tests.conftest import ADMIN_TOKEN, RunningServer, make_settings, serve

sealed = pytest.mark.skipif(
    shutil.which("bwrap") is None and not os.environ.get("CI"),
    reason="bubblewrap is not installed (apt-get install bubblewrap)",
)


class Term:
    """A socket client's view of terminals: text and byte counts per terminal id, exits,
    detaches. It acknowledges output as it arrives unless `acking` is False."""

    def __init__(self, client: socketio.AsyncClient, *, acking: bool = True) -> None:
        self.client = client
        self.acking = acking
        self.text: dict[str, str] = defaultdict(str)
        self.received: dict[str, int] = defaultdict(int)
        self.exits: dict[str, int | None] = {}
        self.detached: list[dict[str, Any]] = []
        client.on("terminal:output", self._output)
        client.on("terminal:exit", self._exit)
        client.on("terminal:detached", self.detached.append)

    async def _output(self, data: dict[str, Any]) -> None:
        self.text[data["id"]] += data["data"]
        self.received[data["id"]] += data["bytes"]
        if self.acking:
            await self.client.emit("terminal:ack", {"id": data["id"], "bytes": data["bytes"]})

    async def _exit(self, data: dict[str, Any]) -> None:
        self.exits[data["id"]] = data["code"]

    async def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        reply = await self.client.call(event, payload, timeout=10)
        assert isinstance(reply, dict)
        return reply

    async def ok(self, event: str, payload: dict[str, Any]) -> Any:
        reply = await self.call(event, payload)
        assert reply["ok"], reply
        return reply["result"]

    async def type(self, terminal_id: str, line: str) -> None:
        await self.ok("terminal:input", {"id": terminal_id, "data": line + "\r"})

    async def wait_text(self, terminal_id: str, pattern: str, timeout: float = 10.0) -> re.Match:  # type: ignore[type-arg]
        return await eventually(
            lambda: re.search(pattern, self.text[terminal_id]), timeout, 0.01, what=repr(pattern)
        )

    async def wait_exit(self, terminal_id: str, timeout: float = 10.0) -> int | None:
        await eventually(lambda: terminal_id in self.exits, timeout, 0.01)
        return self.exits[terminal_id]


async def joined_term(nexus: RunningServer, token: str, workspace_id: str, **kw: Any) -> Term:
    """A Term for a new socket of `token` that has joined the workspace."""
    term = Term(await nexus.socket(token), **kw)
    await join(term.client, workspace_id)
    return term


def gone(pid: int) -> bool:
    """Not running: no such process, or a zombie whose parent is not this process (an
    orphan waiting for init to collect it runs no code and holds no resources)."""
    try:
        proc = psutil.Process(pid)
        return proc.status() == psutil.STATUS_ZOMBIE and proc.ppid() != os.getpid()
    except psutil.NoSuchProcess:
        return True


async def wait_gone(pids: list[int], timeout: float = 5.0) -> None:
    await eventually(lambda: all(map(gone, pids)), timeout, what=f"{pids} to be gone")


def namespace_pids(namespace: str) -> dict[int, int]:
    """Every process of PID namespace `namespace` (`pid:[inode]`): its pid there → its pid
    here. Inside the sandbox a shell's `$$` is the former."""
    found = {}
    for pid in psutil.pids():
        try:
            if os.readlink(f"/proc/{pid}/ns/pid") != namespace or gone(pid):
                continue
            status = Path(f"/proc/{pid}/status").read_text()
        except (OSError, psutil.Error):
            continue
        inner = re.search(r"^NSpid:.*\s(\d+)$", status, re.M)
        if inner:
            found[int(inner[1])] = pid
    return found


async def shell_pids(term: Term, terminal_id: str) -> tuple[int, int]:
    """(shell pid, pid of a background `sleep` started in it), as this process sees them."""
    await term.type(terminal_id, "sleep 1000 &")
    await term.type(terminal_id, "echo shell-pid-$$ job-pid-$! in-$(readlink /proc/self/ns/pid)")
    match = await term.wait_text(terminal_id, r"shell-pid-(\d+) job-pid-(\d+) in-(pid:\[\d+\])")
    pids = namespace_pids(match[3])
    return pids[int(match[1])], pids[int(match[2])]


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(match[1]) if match else 0.0


@pytest.fixture
async def team(nexus: RunningServer) -> AsyncIterator[dict[str, Any]]:
    """alice owns a workspace; bob is an editor and carol a viewer in it."""
    alice = await nexus.create_user("alice")
    bob = await nexus.create_user("bob")
    carol = await nexus.create_user("carol")
    workspace = await nexus.create_workspace(alice)
    await nexus.add_member(alice, workspace["id"], "bob", "editor")
    await nexus.add_member(alice, workspace["id"], "carol", "viewer")
    yield {"alice": alice, "bob": bob, "carol": carol, "workspace": workspace}


async def test_two_clients_share_a_terminal_and_a_viewer_only_watches(
    nexus: RunningServer, team: dict[str, Any]
) -> None:
    ws = team["workspace"]["id"]
    alice = await joined_term(nexus, team["alice"], ws)
    bob = await joined_term(nexus, team["bob"], ws)
    carol = await joined_term(nexus, team["carol"], ws)

    opened = await alice.ok("terminal:open", {"workspace": ws, "cols": 100, "rows": 30})
    tid = opened["id"]
    assert opened["running"] and opened["clients"] == 1
    listed = await carol.ok("terminal:list", {"workspace": ws})
    assert [t["id"] for t in listed] == [tid]
    await bob.ok("terminal:attach", {"workspace": ws, "id": tid})
    await carol.ok("terminal:attach", {"workspace": ws, "id": tid})

    await alice.type(tid, "echo hello-$((6*7)) from $NEXUS_WORKSPACE in $PWD")
    for term in (alice, bob, carol):
        await term.wait_text(tid, rf"hello-42 from {ws} in {re.escape(team['workspace']['path'])}")
    await bob.type(tid, "echo bob-typed-$((1+1))")
    for term in (alice, bob, carol):
        await term.wait_text(tid, "bob-typed-2")

    refused = await carol.call("terminal:input", {"id": tid, "data": "echo carol-$((3*3))\r"})
    assert refused["ok"] is False
    assert refused["error"]["code"] == "forbidden"
    assert "viewers can watch terminals" in refused["error"]["message"]
    for event, payload in (
        ("terminal:open", {"workspace": ws}),
        ("terminal:resize", {"id": tid, "cols": 50, "rows": 10}),
        ("terminal:close", {"id": tid}),
    ):
        assert (await carol.call(event, payload))["error"]["code"] == "forbidden", event
    await alice.type(tid, "echo after-carol-$((4*4))")
    await carol.wait_text(tid, "after-carol-16")
    assert "carol-9" not in alice.text[tid]
    assert carol.client.connected

    # A connection that has not joined the workspace gets nothing.
    outsider = Term(await nexus.socket(team["bob"]))
    for event, payload in (
        ("terminal:attach", {"workspace": ws, "id": tid}),
        ("terminal:input", {"id": tid, "data": "x"}),
    ):
        reply = await outsider.call(event, payload)
        assert reply["error"] == {"code": "forbidden", "message": "join the workspace first"}
    for term in (alice, bob, carol, outsider):
        await term.client.disconnect()


async def test_reconnecting_client_gets_its_scrollback(
    nexus: RunningServer, team: dict[str, Any]
) -> None:
    ws = team["workspace"]["id"]
    alice = await joined_term(nexus, team["alice"], ws)
    tid = (await alice.ok("terminal:open", {"workspace": ws}))["id"]
    await alice.type(tid, "echo before-$((40+2))-reconnect")
    await alice.wait_text(tid, "before-42-reconnect")
    await alice.client.disconnect()

    again = await joined_term(nexus, team["alice"], ws)
    [info] = await again.ok("terminal:list", {"workspace": ws})
    assert info["id"] == tid and info["running"] and info["clients"] == 0
    attached = await again.ok("terminal:attach", {"workspace": ws, "id": tid})
    assert "before-42-reconnect" in attached["scrollback"]
    await again.type(tid, "echo after-$((40+3))-reconnect")
    await again.wait_text(tid, "after-43-reconnect")
    await again.client.disconnect()


async def test_flow_control_bounds_memory_and_keeps_others_responsive(
    nexus: RunningServer, team: dict[str, Any]
) -> None:
    ws = team["workspace"]["id"]
    bob = await joined_term(nexus, team["bob"], ws)
    stalled = await joined_term(nexus, team["alice"], ws, acking=False)
    rss_before = psutil.Process().memory_info().rss
    before = metric((await nexus.http.get("/metrics")).text, "nexus_terminal_output_bytes_total")
    tid = (await stalled.ok("terminal:open", {"workspace": ws, "command": "yes"}))["id"]

    latencies = []
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        started = time.perf_counter()
        info = await execute(bob.client, ws, "workspace.info")
        latencies.append(time.perf_counter() - started)
        assert info["id"] == ws
        await asyncio.sleep(0.05)  # the pace of the probe, for 3 s: not a wait
    assert max(latencies) < 1.0, latencies

    text = (await nexus.http.get("/metrics")).text
    high_water = nexus.settings.terminal_high_water_bytes
    # The client that does not acknowledge got at most the high-water mark and a batch
    # while `yes` ran for 3 s, and reading stopped instead of buffering the rest.
    assert high_water // 2 < stalled.received[tid] <= high_water + 128 * 1024
    assert metric(text, "nexus_terminals_paused") >= 1
    sent = metric(text, "nexus_terminal_output_bytes_total") - before
    assert sent <= high_water + 256 * 1024
    assert psutil.Process().memory_info().rss - rss_before < 64 * 1024 * 1024

    # Acknowledging lets it flow again, and keeps flowing.
    stalled.acking = True
    await stalled.client.emit("terminal:ack", {"id": tid, "bytes": stalled.received[tid]})
    await eventually(lambda: stalled.received[tid] >= 4 * high_water, 10, 0.01)
    closed = await bob.ok("terminal:close", {"id": tid})
    assert closed["id"] == tid
    for term in (bob, stalled):
        await term.client.disconnect()


async def test_closing_leaves_no_process_behind_and_input_after_it_is_refused(
    nexus: RunningServer, team: dict[str, Any]
) -> None:
    ws = team["workspace"]["id"]
    alice = await joined_term(nexus, team["alice"], ws)
    bob = await joined_term(nexus, team["bob"], ws)
    tid = (await alice.ok("terminal:open", {"workspace": ws}))["id"]
    await bob.ok("terminal:attach", {"workspace": ws, "id": tid})
    shell, job = await shell_pids(alice, tid)
    assert psutil.Process(job).ppid() == shell

    closed = await alice.ok("terminal:close", {"id": tid})
    assert closed["code"] is not None
    await wait_gone([shell, job])
    assert bob.exits.get(tid) == closed["code"]

    refused = await alice.call("terminal:input", {"id": tid, "data": "echo hi\r"})
    assert refused["error"]["code"] == "not_found"
    assert "closed" in refused["error"]["message"]
    assert await alice.ok("terminal:list", {"workspace": ws}) == []

    # A program that ends by itself: its exit code reaches the clients; input is refused.
    tid = (await alice.ok("terminal:open", {"workspace": ws}))["id"]
    await alice.type(tid, "exit 3")
    assert await alice.wait_exit(tid) == 3
    refused = await alice.call("terminal:input", {"id": tid, "data": "echo hi\r"})
    assert refused["error"]["code"] == "conflict"
    assert "has exited (code 3)" in refused["error"]["message"]
    await alice.client.disconnect()
    await bob.client.disconnect()


async def test_resize_and_absurd_sizes(nexus: RunningServer, team: dict[str, Any]) -> None:
    ws = team["workspace"]["id"]
    alice = await joined_term(nexus, team["alice"], ws)
    tid = (await alice.ok("terminal:open", {"workspace": ws, "cols": 90, "rows": 20}))["id"]
    await alice.type(tid, "echo size-$(stty size | tr ' ' x)")
    await alice.wait_text(tid, "size-20x90")
    for cols, rows in ((0, 10), (100, 100_000), (-1, 5), (1001, 24)):
        refused = await alice.call("terminal:resize", {"id": tid, "cols": cols, "rows": rows})
        assert refused["error"]["code"] == "invalid", (cols, rows)
    for bad in ({"cols": 5000}, {"name": "evil\x1b[2J"}, {"command": "echo \x00"}):
        refused = await alice.call("terminal:open", {"workspace": ws, **bad})
        assert refused["error"]["code"] == "invalid", bad
    assert [t["id"] for t in await alice.ok("terminal:list", {"workspace": ws})] == [tid]
    assert await alice.ok("terminal:resize", {"id": tid, "cols": 120, "rows": 40})
    await alice.type(tid, "echo size-$(stty size | tr ' ' x)")
    await alice.wait_text(tid, "size-40x120")
    too_big = "x" * (nexus.settings.terminal_max_input_bytes + 1)
    refused = await alice.call("terminal:input", {"id": tid, "data": too_big})
    assert refused["error"]["code"] == "payload_too_large"
    assert alice.client.connected
    await alice.client.disconnect()


async def test_cap_stuck_clients_and_shutdown(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        terminal_max_per_user=2,
        terminal_stuck_seconds=0.5,
        terminal_high_water_bytes=64 * 1024,
        terminal_idle_seconds=1.0,
    )
    async with serve(settings) as nexus:
        alice_token = await nexus.create_user("alice")
        bob_token = await nexus.create_user("bob")
        ws = (await nexus.create_workspace(alice_token))["id"]
        await nexus.add_member(alice_token, ws, "bob", "editor")
        stalled = await joined_term(nexus, alice_token, ws, acking=False)
        bob = await joined_term(nexus, bob_token, ws)

        # A client that never acknowledges is detached; the others keep reading.
        tid = (await stalled.ok("terminal:open", {"workspace": ws, "command": "yes"}))["id"]
        await bob.ok("terminal:attach", {"workspace": ws, "id": tid})
        await eventually(lambda: stalled.detached, interval=0.01)
        assert stalled.detached[0]["id"] == tid
        mark = bob.received[tid]
        await eventually(lambda: bob.received[tid] >= mark + 1024 * 1024, interval=0.01)

        # Two running terminals per user in this workspace; a third is refused.
        second = await stalled.ok("terminal:open", {"workspace": ws})
        refused = await stalled.call("terminal:open", {"workspace": ws})
        assert refused["error"]["code"] == "conflict"
        assert "2 terminals running" in refused["error"]["message"]
        assert (await bob.call("terminal:open", {"workspace": ws}))["ok"]  # bob has his own
        await stalled.ok("terminal:close", {"id": tid})
        assert (await stalled.call("terminal:open", {"workspace": ws}))["ok"]

        # A terminal nobody watches and that prints nothing is closed when idle.
        idle = await execute(bob.client, ws, "terminal.new", {"command": "sleep 100"})

        async def closed_when_idle() -> tuple[list[Any]] | None:
            listed = await bob.ok("terminal:list", {"workspace": ws})
            return None if idle["id"] in [t["id"] for t in listed] else (listed,)

        (listed,) = await eventually(closed_when_idle, interval=0.05)
        assert all(t["running"] for t in listed)  # the watched ones are still there

        # Stopping the server ends every terminal's processes.
        shell, job = await shell_pids(stalled, second["id"])
    await wait_gone([shell, job])


async def test_file_run_and_test_run(nexus: RunningServer, team: dict[str, Any]) -> None:
    ws, root = team["workspace"]["id"], Path(team["workspace"]["path"])
    (root / "hello.py").write_text("import sys\nprint('hello from', 6 * 7)\nsys.exit(5)\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_tiny.py").write_text("def test_adds():\n    assert 1 + 1 == 2\n")
    alice = await joined_term(nexus, team["alice"], ws)

    response = await post_command(nexus, team["alice"], ws, "file.run", {"path": "hello.py"})
    assert response.status_code == 200, response.text
    ran = response.json()["result"]
    assert ran["command"].endswith("hello.py") and ran["id"]
    attached = await alice.ok("terminal:attach", {"workspace": ws, "id": ran["id"]})
    alice.text[ran["id"]] += attached["scrollback"]
    await alice.wait_text(ran["id"], "hello from 42")

    async def exited() -> bool:
        return (await alice.ok("terminal:list", {"workspace": ws}))[0]["exit_code"] is not None

    await eventually(exited, 10)
    assert (await alice.ok("terminal:list", {"workspace": ws}))[0]["exit_code"] == 5

    tests = await execute(alice.client, ws, "test.run", {})
    assert tests["command"].startswith(f"{sys.executable} -m pytest")
    attached = await alice.ok("terminal:attach", {"workspace": ws, "id": tests["id"]})
    alice.text[tests["id"]] += attached["scrollback"]
    await alice.wait_text(tests["id"], r"1 passed", timeout=20)

    for args, code in (
        ({"path": "../etc/passwd"}, 403),
        ({"path": "missing.py"}, 422),
        ({"path": "tests"}, 422),
    ):
        response = await post_command(nexus, team["alice"], ws, "file.run", args)
        assert response.status_code == code, (args, response.text)
    response = await post_command(nexus, team["carol"], ws, "file.run", {"path": "hello.py"})
    assert response.status_code == 403

    new = await execute(alice.client, ws, "terminal.new", {"command": "echo new-$((5*5))"})
    attached = await alice.ok("terminal:attach", {"workspace": ws, "id": new["id"]})
    alice.text[new["id"]] += attached["scrollback"]
    await alice.wait_text(new["id"], "new-25")
    await alice.client.disconnect()


async def test_test_run_without_a_project_says_what_it_looked_for(
    nexus: RunningServer, team: dict[str, Any]
) -> None:
    ws = team["workspace"]["id"]
    response = await post_command(nexus, team["alice"], ws, "test.run", {})
    assert response.status_code == 422
    assert "no test runner found" in response.json()["error"]["message"]


async def probe(term: Term, terminal_id: str, lines: list[str]) -> str:
    """Type `lines` into the shell, wait until they ran; their output."""
    for line in lines:
        await term.type(terminal_id, line)
    await term.type(terminal_id, "echo probes-done-$((20+1))")
    await term.wait_text(terminal_id, "probes-done-21")
    return term.text[terminal_id]


@sealed
async def test_a_terminal_holds_none_of_the_servers_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its environment is the supervisor's allow-list: no admin token, no model key, and
    the server's own environment is out of reach through `/proc`. A configured shell that
    is not there inside the sandbox gives way to bash."""
    monkeypatch.setenv("NEXUS_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-a-secret-of-the-server")
    outside_shell = tmp_path / "bin" / "fancysh"  # the server has it; the sandbox does not
    outside_shell.parent.mkdir()
    outside_shell.write_text('#!/bin/sh\nexec /bin/sh "$@"\n')
    outside_shell.chmod(0o755)
    settings = make_settings(tmp_path, sandbox="required", terminal_shell=str(outside_shell))
    assert settings.admin_token == ADMIN_TOKEN
    async with serve(settings) as nexus:
        alice = await nexus.create_user("alice")
        ws = (await nexus.create_workspace(alice))["id"]
        term = await joined_term(nexus, alice, ws)
        opened = await term.ok("terminal:open", {"workspace": ws})
        assert opened["command"] == "/bin/bash"
        text = await probe(
            term,
            opened["id"],
            [
                "env",
                "tr '\\0' '\\n' < /proc/1/environ",
                "tr '\\0' '\\n' < /proc/$PPID/environ",
                f"cat /proc/{os.getpid()}/environ",
                "cat /proc/[0-9]*/environ | tr '\\0' '\\n' | sort -u",
            ],
        )
        await term.client.disconnect()
    assert f"NEXUS_WORKSPACE={ws}" in text and "TERM=xterm-256color" in text
    for secret in (ADMIN_TOKEN, "sk-a-secret-of-the-server", alice, "NEXUS_ADMIN", "OPENAI"):
        assert secret not in text, secret
    assert re.search(rf"/proc/{os.getpid()}/environ: No such file or directory", text)


@pytest.mark.parametrize("mode", [pytest.param("auto", marks=sealed), "off"])
async def test_a_terminal_sees_only_its_own_workspace(tmp_path: Path, mode: str) -> None:
    """Another workspace's folder and the data dir are not there inside the sandbox; the
    same probes unsealed (`NEXUS_SANDBOX=off`) succeed, so the sandbox is what refuses."""
    async with serve(make_settings(tmp_path, sandbox=mode)) as nexus:
        alice = await nexus.create_user("alice")
        bob = await nexus.create_user("bob")
        other = Path((await nexus.create_workspace(alice, "alices"))["path"])
        (other / "secret.txt").write_text("alice's secret")
        mine = await nexus.create_workspace(bob, "bobs")
        root, data = nexus.settings.workspace_root, nexus.settings.data_dir
        assert (data / "nexus.db").is_file()
        term = await joined_term(nexus, bob, mine["id"])
        tid = (await term.ok("terminal:open", {"workspace": mine["id"]}))["id"]
        text = await probe(
            term,
            tid,
            [
                f"cat {other}/secret.txt; echo read-other-$?",
                f"echo listing: $(ls {root})",
                f'head -c 15 {data}/nexus.db; echo " read-data-$?"',
                f"ls {data}; echo list-data-$?",
                f"touch {other}/planted; echo write-other-$?",
            ],
        )
        await term.client.disconnect()
    listing = re.search(r"listing: ([^$\r\n]*)\r?\n", text)  # not the typed `$(ls …)`
    assert listing is not None
    names = listing[1].split()
    if mode == "off":
        assert "alice's secret" in text and "SQLite format 3" in text
        assert sorted(names) == sorted([other.name, Path(mine["path"]).name])
        assert (other / "planted").exists()
        return
    assert "alice's secret" not in text and "SQLite format" not in text
    assert names == [Path(mine["path"]).name]
    for probe_name in ("read-other", "read-data", "list-data", "write-other"):
        code = re.search(rf"{probe_name}-(\d+)", text)
        assert code is not None and code[1] != "0", probe_name
    assert not (other / "planted").exists()


@sealed
async def test_closing_a_terminal_ends_everything_it_started(
    nexus: RunningServer, team: dict[str, Any]
) -> None:
    """A background job, an orphan and a program that made itself a session of its own (as
    a daemon does) all end with the terminal: its sandbox's PID namespace goes with it."""
    ws = team["workspace"]["id"]
    alice = await joined_term(nexus, team["alice"], ws)
    tid = (await alice.ok("terminal:open", {"workspace": ws}))["id"]
    shell, job = await shell_pids(alice, tid)
    await alice.type(tid, "(sleep 1001 &); setsid sleep 1002 & disown")
    await alice.type(tid, "echo ns-$(readlink /proc/self/ns/pid) $(pgrep -c sleep)-sleeping")
    match = await alice.wait_text(tid, r"ns-(pid:\[\d+\]) 3-sleeping")
    everything = list(namespace_pids(match[1]).values())
    assert shell in everything and job in everything and len(everything) >= 5

    closed = await alice.ok("terminal:close", {"id": tid})
    assert closed["code"] is not None
    await wait_gone(everything)
    assert namespace_pids(match[1]) == {}
    await alice.client.disconnect()


async def test_a_program_not_in_the_sandbox_is_a_clear_message(
    nexus: RunningServer, team: dict[str, Any]
) -> None:
    """A tool the sandbox lacks is a 422 naming it (the server may have it on its own PATH,
    as rustc under ~/.cargo); a command line that calls one says "not found" in the
    terminal."""
    ws, root = team["workspace"]["id"], Path(team["workspace"]["path"])
    (root / "main.rs").write_text('fn main() { println!("hi"); }\n')
    response = await post_command(nexus, team["alice"], ws, "file.run", {"path": "main.rs"})
    assert response.status_code == 422, response.text
    assert "rustc is not installed where workspace programs run" in response.text

    alice = await joined_term(nexus, team["alice"], ws)
    opened = await alice.ok(
        "terminal:open", {"workspace": ws, "command": "no-such-program-in-nexus --help"}
    )
    await alice.wait_text(opened["id"], "no-such-program-in-nexus: not found")
    assert await alice.wait_exit(opened["id"]) == 127
    await alice.client.disconnect()
