"""Language servers through the bridge: real jedi-language-server and ruff, a real server."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import websockets

from lsp import manager, seed
from tests._client import command_result, eventually, join, wait_file
from tests._yclient import connected_doc, wait_text, yjs_url
from tests.conftest import ADMIN_TOKEN, RunningServer, make_settings, serve

pytestmark = pytest.mark.timeout(60)

A_PY = "import os\n\n\ndef helper(value):\n    return value\n\n\nprint(helper(1))\n"
B_PY = "from a import helper\n\nhelper(2)\n"


class LspSocket:
    """A minimal LSP client over the JSON-RPC WebSocket endpoint."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.ids = itertools.count(1)
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.notifications: list[dict[str, Any]] = []
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for frame in self.connection:
                message = json.loads(frame)
                future = self.waiting.pop(message.get("id"), None) if "id" in message else None
                if future is not None:
                    future.set_result(message)
                elif "method" in message:
                    self.notifications.append(message)
                else:
                    self.notifications.append(message)  # errors without an id

    async def call(self, method: str, params: Any = None) -> dict[str, Any]:
        msg_id = next(self.ids)
        self.waiting[msg_id] = asyncio.get_running_loop().create_future()
        await self.connection.send(
            json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        )
        async with asyncio.timeout(30):
            return await self.waiting[msg_id]

    async def notify(self, method: str, params: Any = None) -> None:
        await self.connection.send(
            json.dumps({"jsonrpc": "2.0", "method": method, "params": params})
        )

    async def diagnostics(self, uri: str, predicate: Any, timeout: float = 20) -> list[Any]:
        def published() -> tuple[list[Any]] | None:
            for message in reversed(self.notifications):
                if message.get("method") == "textDocument/publishDiagnostics":
                    params = message["params"]
                    if params["uri"] == uri and predicate(params["diagnostics"]):
                        return (list(params["diagnostics"]),)
            return None

        (found,) = await eventually(published, timeout, what=f"diagnostics of {uri}")
        return found


def lsp_url(nexus: RunningServer, workspace_id: str, language: str = "python") -> str:
    return (
        f"{nexus.url.replace('http://', 'ws://')}/lsp/{workspace_id}/{language}?token={ADMIN_TOKEN}"
    )


@contextlib.asynccontextmanager
async def lsp_client(url: str) -> AsyncIterator[LspSocket]:
    async with websockets.connect(url) as connection:
        client = LspSocket(connection)
        try:
            yield client
        finally:
            client.reader.cancel()


async def workspace_with(nexus: RunningServer, files: dict[str, str]) -> dict[str, Any]:
    workspace = await nexus.create_workspace(ADMIN_TOKEN, "code")
    for name, text in files.items():
        (Path(workspace["path"]) / name).write_text(text)
    return workspace


async def command(nexus: RunningServer, name: str, workspace: str, **args: Any) -> Any:
    return await command_result(nexus, ADMIN_TOKEN, workspace, name, args, timeout=40)


def server_process(pid: int) -> psutil.Process:
    """The language server itself: the supervised process when unsealed, else the
    descendant that bwrap runs inside the sandbox."""
    supervised = psutil.Process(pid)
    return next(
        p for p in (supervised, *supervised.children(recursive=True)) if p.name() != "bwrap"
    )


def labels(result: dict[str, Any]) -> list[str]:
    items = result["result"]["items"] if isinstance(result["result"], dict) else result["result"]
    return [item["label"] for item in items]


def undefined(diagnostics: list[Any]) -> bool:
    return any(d.get("code") == "F821" for d in diagnostics)


async def test_completion_sees_an_edit_made_by_another_client(nexus: RunningServer) -> None:
    workspace = await workspace_with(nexus, {"a.py": A_PY})
    uri = (Path(workspace["path"]) / "a.py").as_uri()
    async with lsp_client(lsp_url(nexus, workspace["id"])) as lsp:
        init = await lsp.call("initialize", {"capabilities": {}, "rootUri": None})
        capabilities = init["result"]["capabilities"]
        assert capabilities["completionProvider"] and capabilities["documentFormattingProvider"]
        await lsp.notify("textDocument/didOpen", {"textDocument": {"uri": uri}})
        url = yjs_url(nexus.url, workspace["id"], "a.py", ADMIN_TOKEN)
        async with connected_doc(url) as (doc, text, _):
            text += "\ndef brand_new_function():\n    pass\n\nbrand_"
            clock = doc.get_state()  # the other client's position in the history

            lines = str(text).split("\n")
            result = await lsp.call(
                "textDocument/completion",
                {
                    "textDocument": {"uri": uri},
                    "position": {"line": len(lines) - 1, "character": len(lines[-1])},
                    "nexus": {"stateVector": base64.b64encode(clock).decode()},
                },
            )
        assert "brand_new_function" in labels(result), result


async def test_diagnostics_reach_two_clients(nexus: RunningServer) -> None:
    workspace = await workspace_with(nexus, {"bad.py": "print(undefined_name)\n"})
    uri = (Path(workspace["path"]) / "bad.py").as_uri()
    socket = await nexus.socket(ADMIN_TOKEN)
    received: list[dict[str, Any]] = []
    socket.on("lsp:diagnostics", lambda data: received.append(data))
    try:
        await join(socket, workspace["id"])
        async with lsp_client(lsp_url(nexus, workspace["id"])) as lsp:
            await lsp.call("initialize", {"capabilities": {}})
            await lsp.notify("textDocument/didOpen", {"textDocument": {"uri": uri}})
            found = await lsp.diagnostics(uri, undefined)
            assert "undefined_name" in found[0]["message"]
            await eventually(lambda: any(undefined(d["diagnostics"]) for d in received), 10)
            assert received[-1]["path"] == "bad.py"
            # The web app asks over Socket.IO too, and sees the same answer.
            ack = await socket.call(
                "lsp:request",
                {
                    "workspace": workspace["id"],
                    "method": "textDocument/hover",
                    "params": {
                        "textDocument": {"uri": "bad.py"},
                        "position": {"line": 0, "character": 2},
                    },
                },
            )
            assert ack["ok"] and "print" in json.dumps(ack["result"]), ack
    finally:
        await socket.disconnect()


async def test_rename_changes_open_documents_and_files_on_disk(nexus: RunningServer) -> None:
    workspace = await workspace_with(nexus, {"a.py": A_PY, "b.py": B_PY})
    root = Path(workspace["path"])
    url = yjs_url(nexus.url, workspace["id"], "a.py", ADMIN_TOKEN)
    async with connected_doc(url) as (_, alice, _), connected_doc(url) as (_, bob, _):
        result = await command(
            nexus, "lsp.rename", workspace["id"], path="a.py", line=3, character=5, to="assist"
        )
        assert sorted(result["changed"]) == ["a.py", "b.py"]
        expected = A_PY.replace("helper", "assist")
        await wait_text(alice, expected)
        await wait_text(bob, expected)
    assert (root / "b.py").read_text() == B_PY.replace("helper", "assist")
    await wait_file(root / "a.py", expected)
    hover = await command(nexus, "lsp.hover", workspace["id"], path="b.py", line=2, character=1)
    assert "assist" in hover["contents"]
    found = await command(
        nexus, "lsp.definition", workspace["id"], path="b.py", line=2, character=1
    )
    assert found and found[0]["path"] == "a.py" and found[0]["range"]["start"]["line"] == 3


async def test_format_and_problems(nexus: RunningServer) -> None:
    workspace = await workspace_with(nexus, {"ugly.py": "x=[1,2 ,3]\nprint( y )\n"})
    url = yjs_url(nexus.url, workspace["id"], "ugly.py", ADMIN_TOKEN)
    async with connected_doc(url) as (_, text, _):
        assert (await command(nexus, "editor.format", workspace["id"], path="ugly.py"))["changed"]
        await wait_text(text, "x = [1, 2, 3]\nprint(y)\n")

        async def reported() -> Any:
            problems = await command(nexus, "lsp.problems", workspace["id"])
            return problems if problems and undefined(problems[0]["diagnostics"]) else None

        problems = await eventually(reported, 20, interval=0.1)
    assert problems[0]["path"] == "ugly.py"


async def test_killed_server_restarts_and_diagnostics_come_back(nexus: RunningServer) -> None:
    workspace = await workspace_with(nexus, {"bad.py": "print(undefined_name)\n"})
    uri = (Path(workspace["path"]) / "bad.py").as_uri()
    async with lsp_client(lsp_url(nexus, workspace["id"])) as lsp:
        await lsp.call("initialize", {"capabilities": {}})
        await lsp.notify("textDocument/didOpen", {"textDocument": {"uri": uri}})
        await lsp.diagnostics(uri, undefined)
        before = {
            s["name"]: s["pid"]
            for s in (await command(nexus, "lsp.status", workspace["id"]))[0]["servers"]
        }
        lsp.notifications.clear()
        for pid in before.values():
            os.kill(pid, signal.SIGKILL)
        await lsp.diagnostics(uri, undefined)  # ruff is back, with the document reopened

        async def restarted() -> bool:
            servers = (await command(nexus, "lsp.status", workspace["id"]))[0]["servers"]
            return all(
                s["status"] == "running" and s["pid"] not in before.values() for s in servers
            )

        await eventually(restarted, 20, interval=0.05)
        result = await lsp.call(
            "textDocument/completion",
            {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 3}},
        )
        assert "print" in labels(result)
    # The killed servers were reaped (no zombie), and nothing of their groups lives on.
    await gone(set(before.values()))


def group_members(leaders: set[int]) -> list[psutil.Process]:
    """Live processes in the process groups led by `leaders` (zombies of processes
    orphaned to init are init's to reap, not ours)."""
    members = []
    for process in psutil.process_iter(["status"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if os.getpgid(process.pid) in leaders and process.info["status"] != "zombie":
                members.append(process)
    return members


async def gone(pids: set[int], timeout: float = 10) -> None:
    """Wait until none of `pids` exists any more (reaped, not zombies) and their groups
    are empty."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = [pid for pid in pids if psutil.pid_exists(pid)]
        members = group_members(pids)
        if not left and not members:
            return
        assert asyncio.get_running_loop().time() < deadline, (
            f"not reaped: {left}; still running in their groups: {members}"
        )
        await asyncio.sleep(0.05)


async def test_shutdown_leaves_no_process_behind(tmp_path: Path) -> None:
    async with serve(make_settings(tmp_path)) as nexus:
        workspace = await workspace_with(nexus, {"a.py": A_PY})
        async with lsp_client(lsp_url(nexus, workspace["id"])) as lsp:
            await lsp.call("initialize", {"capabilities": {}})
        servers = (await command(nexus, "lsp.status", workspace["id"]))[0]["servers"]
        processes = [psutil.Process(s["pid"]) for s in servers]
        processes += [child for p in processes for child in p.children(recursive=True)]
        assert len(processes) >= 2
    _, alive = psutil.wait_procs(processes, timeout=5)
    assert not alive


async def test_closing_the_workspace_stops_its_servers(tmp_path: Path) -> None:
    async with serve(make_settings(tmp_path)) as nexus:
        workspace = await workspace_with(nexus, {"a.py": A_PY})
        alice, bob = await nexus.socket(ADMIN_TOKEN), await nexus.socket(ADMIN_TOKEN)
        try:
            for socket in (alice, bob):
                await join(socket, workspace["id"])
            hover = {
                "workspace": workspace["id"],
                "method": "textDocument/hover",
                "params": {
                    "textDocument": {"uri": "a.py"},
                    "position": {"line": 7, "character": 2},
                },
            }
            assert (await alice.call("lsp:request", hover))["ok"]
            servers = (await command(nexus, "lsp.status", workspace["id"]))[0]["servers"]
            pids = {s["pid"] for s in servers}
            assert (await alice.call("workspace:leave", {"workspace": workspace["id"]}))["ok"]
            # Bob still has the workspace open: the servers stay, past the grace.
            await asyncio.sleep(manager.CLOSE_GRACE_SECONDS + 0.5)  # proving an absence
            assert all(psutil.pid_exists(pid) for pid in pids)
            assert (await bob.call("lsp:request", hover))["ok"]
        finally:
            await bob.disconnect()  # the last one leaves
        await gone(pids, timeout=manager.CLOSE_GRACE_SECONDS + 10)
        assert await command(nexus, "lsp.status", workspace["id"]) == []
        await alice.disconnect()


async def test_a_hung_server_times_out_and_the_bridge_carries_on(tmp_path: Path) -> None:
    async with serve(make_settings(tmp_path, lsp_request_timeout_seconds=1.0)) as nexus:
        workspace = await workspace_with(nexus, {"a.py": A_PY})
        uri = (Path(workspace["path"]) / "a.py").as_uri()
        hover = {"textDocument": {"uri": uri}, "position": {"line": 7, "character": 2}}
        async with lsp_client(lsp_url(nexus, workspace["id"])) as lsp:
            await lsp.call("initialize", {"capabilities": {}})

            async def answered() -> bool:
                return "result" in await lsp.call("textDocument/hover", hover)

            await eventually(answered, 30, interval=0.1)  # jedi answers in a second once warm
            servers = (await command(nexus, "lsp.status", workspace["id"]))[0]["servers"]
            jedi = server_process(next(s["pid"] for s in servers if s["name"] == "jedi"))
            jedi.send_signal(signal.SIGSTOP)
            try:
                hung = await lsp.call("textDocument/hover", hover)
                assert hung["error"]["code"] == -32803, hung
                assert "did not answer" in hung["error"]["message"]
                # Formatting is ruff's: the other server still answers meanwhile.
                formatted = await lsp.call(
                    "textDocument/formatting",
                    {"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": True}},
                )
                assert "result" in formatted, formatted
            finally:
                jedi.send_signal(signal.SIGCONT)
            again = await lsp.call("textDocument/hover", hover)
            assert "print" in json.dumps(again["result"]), again


async def test_stock_pygls_client_over_websocket(nexus: RunningServer) -> None:
    from lsprotocol import types
    from pygls.io_ import run_websocket
    from pygls.lsp.client import LanguageClient

    workspace = await workspace_with(nexus, {"a.py": A_PY})
    uri = (Path(workspace["path"]) / "a.py").as_uri()
    client = LanguageClient("stock", "1")
    async with websockets.connect(lsp_url(nexus, workspace["id"])) as connection:
        stop = threading.Event()
        loop = asyncio.create_task(
            run_websocket(websocket=connection, stop_event=stop, protocol=client.protocol)
        )
        await asyncio.sleep(0)  # a yield: the loop sets the transport up first, as start_ws does
        try:
            result = await client.initialize_async(
                types.InitializeParams(capabilities=types.ClientCapabilities())
            )
            assert result.capabilities.completion_provider is not None
            client.initialized(types.InitializedParams())
            client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    types.TextDocumentItem(uri=uri, language_id="python", version=1, text=A_PY)
                )
            )
            completion = await client.text_document_completion_async(
                types.CompletionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=types.Position(line=7, character=3),
                )
            )
            assert completion is not None
            items = completion.items if isinstance(completion, types.CompletionList) else completion
            assert "print" in [item.label for item in items]
        finally:
            stop.set()
            await connection.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(loop, 2)


async def test_bad_input_gets_errors_and_the_bridge_carries_on(nexus: RunningServer) -> None:
    workspace = await workspace_with(nexus, {"a.py": A_PY})
    uri = (Path(workspace["path"]) / "a.py").as_uri()
    async with lsp_client(lsp_url(nexus, workspace["id"])) as lsp:
        await lsp.call("initialize", {"capabilities": {}})
        await lsp.connection.send("{not json")
        unknown = await lsp.call("textDocument/noSuchThing", {"textDocument": {"uri": uri}})
        assert unknown["error"]["code"] == -32601
        outside = await lsp.call(
            "textDocument/hover",
            {"textDocument": {"uri": uri}, "position": {"line": 500, "character": 0}},
        )
        assert outside["error"]["code"] == -32602
        escape = await lsp.call(
            "textDocument/hover",
            {
                "textDocument": {"uri": "file:///etc/passwd"},
                "position": {"line": 0, "character": 0},
            },
        )
        assert escape["error"]["code"] == -32602
        assert any(m.get("error", {}).get("code") == -32700 for m in lsp.notifications)
        fine = await lsp.call(
            "textDocument/hover",
            {"textDocument": {"uri": uri}, "position": {"line": 7, "character": 2}},
        )
        assert "print" in json.dumps(fine["result"])
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with websockets.connect(lsp_url(nexus, workspace["id"], "cobol")) as connection:
            await connection.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
    response = await nexus.http.post(
        "/api/v1/commands/lsp.hover",
        json={"workspace": workspace["id"], "args": {"path": "a.py", "line": 99, "character": 0}},
        headers=nexus.headers(ADMIN_TOKEN),
    )
    assert response.status_code == 422, response.text


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
async def test_a_language_server_runs_sealed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The jedi process holds none of the server's secrets and sees only its workspace:
    looked at from outside, through its own `/proc/<pid>/root` (its mount namespace)."""
    monkeypatch.setenv("NEXUS_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-a-secret-of-the-server")
    settings = make_settings(tmp_path)
    async with serve(settings) as nexus:
        assert (await nexus.http.get("/healthz")).json()["sandbox"]["sealed"]
        other = await nexus.create_workspace(ADMIN_TOKEN, "other")
        Path(other["path"], "secret.py").write_text("TOKEN = 'theirs'\n")
        workspace = await workspace_with(nexus, {"a.py": A_PY})
        hover = await command(nexus, "lsp.hover", workspace["id"], path="a.py", line=7, character=2)
        assert "print" in hover["contents"]
        bridge = (await command(nexus, "lsp.status", workspace["id"]))[0]
        pid = next(s["pid"] for s in bridge["servers"] if s["name"] == "jedi")
        jedi = server_process(pid)
        assert jedi.pid != pid and "jedi-language-server" in " ".join(jedi.cmdline())

        environment = jedi.environ()
        assert not [name for name in environment if name.startswith("NEXUS_")], environment
        assert "OPENAI_API_KEY" not in environment
        assert ADMIN_TOKEN not in json.dumps(environment)
        assert environment["HOME"] == "/home/nexus"

        inside = Path(f"/proc/{jedi.pid}/root")
        assert (inside / Path(workspace["path"], "a.py").relative_to("/")).is_file()
        for hidden in (
            Path(other["path"], "secret.py"),
            Path(other["path"]),
            settings.data_dir,
        ):
            assert not (inside / hidden.relative_to("/")).exists(), hidden
        # Its /proc is its own PID namespace's: bwrap, jedi and jedi's helper, nothing of
        # the server or of ruff (each server has a namespace of its own).
        visible = [n for n in os.listdir(inside / "proc") if n.isdigit()]
        commands = [(inside / "proc" / n / "cmdline").read_bytes() for n in visible]
        supervised = psutil.Process(pid)
        sandboxed = [supervised, *supervised.children(recursive=True)]
        own = {"\0".join(p.cmdline()).encode() for p in sandboxed}
        assert commands and all(c.rstrip(b"\0") in own for c in commands), commands
        for n in visible:  # /proc/1/environ included: bwrap got the allow-list too
            assert ADMIN_TOKEN.encode() not in (inside / "proc" / n / "environ").read_bytes()


@pytest.mark.unit
def test_a_warm_cache_is_copied_without_following_links(tmp_path: Path) -> None:
    """The server copies into a workspace's home, which the workspace writes: a link
    planted there must not carry the copy anywhere else."""
    template = tmp_path / "template"
    (template / "tag").mkdir(parents=True)
    (template / "tag" / "entry.pkl").write_bytes(b"parsed")
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    seed.copy_into(template, home, Path(".cache/jedi"))
    assert (home / ".cache/jedi/tag/entry.pkl").read_bytes() == b"parsed"

    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / ".cache").symlink_to(elsewhere)
    with pytest.raises(OSError):
        seed.copy_into(template, planted, Path(".cache/jedi"))
    (planted / ".cache").unlink()
    (planted / ".cache").mkdir()
    (planted / ".cache/jedi").symlink_to(elsewhere)
    seed.copy_into(template, planted, Path(".cache/jedi"))  # there already: left alone
    assert list(elsewhere.iterdir()) == []
