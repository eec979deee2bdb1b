"""Workspace files over REST and explorer events over Socket.IO, on real folders."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import websockets
from pycrdt import create_sync_message

from tests._client import eventually, join, post_command, wait_file
from tests._yclient import connected_doc, wait_text, yjs_url
from tests.conftest import ADMIN_TOKEN, RunningServer, make_settings, serve

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


async def _workspace(nexus: RunningServer) -> tuple[str, Path]:
    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    return workspace["id"], Path(workspace["path"])


def _files(workspace_id: str, path: str) -> str:
    return f"/api/v1/workspaces/{workspace_id}/files/{path}"


async def test_tree_lists_one_folder_and_hides_noise(nexus: RunningServer) -> None:
    workspace_id, root = await _workspace(nexus)
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "app.py").write_text("x = 1\n")
    (root / "README.md").write_text("# hi\n")
    (root / ".gitignore").write_text("*.log\nbuild/\n")
    (root / "debug.log").write_text("noise")
    (root / "build").mkdir()
    (root / "node_modules" / "left-pad").mkdir(parents=True)
    (root / ".git").mkdir()
    tree = f"/api/v1/workspaces/{workspace_id}/tree"

    response = await nexus.http.get(tree, headers=AUTH)
    assert response.status_code == 200, response.text
    entries = response.json()["entries"]
    assert [(e["name"], e["type"]) for e in entries] == [
        ("src", "folder"),
        (".gitignore", "file"),
        ("README.md", "file"),
    ]
    assert entries[2]["size"] == 5

    everything = await nexus.http.get(tree, params={"include_ignored": "true"}, headers=AUTH)
    names = {e["name"]: e["ignored"] for e in everything.json()["entries"]}
    assert names["debug.log"] is True and names["node_modules"] is True and names["src"] is False
    assert ".git" not in names

    sub = await nexus.http.get(tree, params={"path": "src"}, headers=AUTH)
    assert [e["path"] for e in sub.json()["entries"]] == ["src/pkg", "src/app.py"]

    missing = await nexus.http.get(tree, params={"path": "nope"}, headers=AUTH)
    assert missing.status_code == 404
    a_file = await nexus.http.get(tree, params={"path": "README.md"}, headers=AUTH)
    assert a_file.status_code == 422
    outside = await nexus.http.get(tree, params={"path": "../"}, headers=AUTH)
    assert outside.status_code == 403


async def test_write_read_with_etags_refuses_stale_writes(nexus: RunningServer) -> None:
    workspace_id, root = await _workspace(nexus)
    url = _files(workspace_id, "src/new.py")

    created = await nexus.http.put(url, content=b"a = 1\n", headers=AUTH)
    assert created.status_code == 201, created.text
    first = created.json()["etag"]
    assert created.headers["etag"] == first
    assert (root / "src" / "new.py").read_text() == "a = 1\n"

    read = await nexus.http.get(url, headers=AUTH)
    assert read.content == b"a = 1\n" and read.headers["etag"] == first
    assert read.headers["content-type"].startswith("text/")
    assert (await nexus.http.get(url, headers={**AUTH, "If-None-Match": first})).status_code == 304

    updated = await nexus.http.put(url, content=b"a = 2\n", headers={**AUTH, "If-Match": first})
    assert updated.status_code == 200 and updated.json()["etag"] != first

    stale = await nexus.http.put(url, content=b"a = 3\n", headers={**AUTH, "If-Match": first})
    assert stale.status_code == 409
    assert stale.json()["error"]["details"]["current"]["etag"] == updated.json()["etag"]
    assert (root / "src" / "new.py").read_text() == "a = 2\n"

    exists = await nexus.http.put(url, content=b"again", headers={**AUTH, "If-None-Match": "*"})
    assert exists.status_code == 409
    assert (root / "src" / "new.py").read_text() == "a = 2\n"

    as_json = await nexus.http.get(url, headers={**AUTH, "Accept": "application/json"})
    body = as_json.json()
    assert body["content"] == "a = 2\n" and body["binary"] is False and body["size"] == 6


async def test_binary_files_upload_and_download(nexus: RunningServer) -> None:
    workspace_id, root = await _workspace(nexus)
    url = _files(workspace_id, "assets/logo.png")
    assert (await nexus.http.put(url, content=PNG, headers=AUTH)).status_code == 201
    assert (root / "assets" / "logo.png").read_bytes() == PNG

    download = await nexus.http.get(url, params={"download": "true"}, headers=AUTH)
    assert download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert "attachment" in download.headers["content-disposition"]

    as_json = await nexus.http.get(url, params={"format": "json"}, headers=AUTH)
    assert as_json.json()["binary"] is True and as_json.json()["content"] is None

    # A binary file is not opened as a shared document either.
    ws_url = yjs_url(nexus.url, workspace_id, "assets/logo.png", ADMIN_TOKEN)
    async with websockets.connect(ws_url) as connection:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await connection.recv()
    assert closed.value.rcvd is not None and "binary" in closed.value.rcvd.reason


async def test_uploads_over_the_limit_are_refused(tmp_path: Path) -> None:
    async with serve(make_settings(tmp_path, files_max_upload_bytes=4096)) as nexus:
        workspace_id, root = await _workspace(nexus)
        response = await nexus.http.put(
            _files(workspace_id, "big.bin"), content=b"x" * 5000, headers=AUTH
        )
        assert response.status_code == 413
        assert not (root / "big.bin").exists()


async def test_delete_folders_and_moves(nexus: RunningServer) -> None:
    workspace_id, root = await _workspace(nexus)
    folders = f"/api/v1/workspaces/{workspace_id}/folders"
    move = f"/api/v1/workspaces/{workspace_id}/move"
    assert (
        await nexus.http.post(folders, json={"path": "lib/util"}, headers=AUTH)
    ).status_code == 201
    assert (root / "lib" / "util").is_dir()
    assert (await nexus.http.post(folders, json={"path": "lib"}, headers=AUTH)).status_code == 409
    (root / "lib" / "util" / "a.py").write_text("A\n")
    (root / "b.py").write_text("B\n")

    renamed = await nexus.http.post(move, json={"from": "b.py", "to": "lib/b.py"}, headers=AUTH)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["path"] == "lib/b.py" and (root / "lib" / "b.py").read_text() == "B\n"
    taken = await nexus.http.post(
        move, json={"from": "lib/b.py", "to": "lib/util/a.py"}, headers=AUTH
    )
    assert taken.status_code == 409 and (root / "lib" / "b.py").exists()
    into_itself = await nexus.http.post(move, json={"from": "lib", "to": "lib/x"}, headers=AUTH)
    assert into_itself.status_code == 422
    replaced = await nexus.http.post(
        move, json={"from": "lib/b.py", "to": "lib/util/a.py", "overwrite": True}, headers=AUTH
    )
    assert replaced.status_code == 200 and (root / "lib" / "util" / "a.py").read_text() == "B\n"

    not_empty = await nexus.http.delete(_files(workspace_id, "lib"), headers=AUTH)
    assert not_empty.status_code == 409 and (root / "lib").exists()
    stale = await nexus.http.delete(
        _files(workspace_id, "lib/util/a.py"), headers={**AUTH, "If-Match": '"nope"'}
    )
    assert stale.status_code == 409 and (root / "lib" / "util" / "a.py").exists()
    gone = await nexus.http.delete(
        _files(workspace_id, "lib"), params={"recursive": "true"}, headers=AUTH
    )
    assert gone.status_code == 204 and not (root / "lib").exists()
    assert (await nexus.http.delete(_files(workspace_id, "lib"), headers=AUTH)).status_code == 404


async def test_paths_never_leave_the_workspace(nexus: RunningServer, tmp_path: Path) -> None:
    workspace_id, root = await _workspace(nexus)
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    os.symlink(secret, root / "link.txt")
    os.symlink(tmp_path, root / "outside")

    for path, status in [
        ("link.txt", 403),
        ("outside/secret.txt", 403),
        ("%2E%2E/secret.txt", 403),
        ("bad%00name", 422),
        ("tab%09name", 422),
        (".git/config", 403),
    ]:
        read = await nexus.http.get(_files(workspace_id, path), headers=AUTH)
        assert read.status_code == status, (path, read.text)
        write = await nexus.http.put(_files(workspace_id, path), content=b"x", headers=AUTH)
        assert write.status_code == status, (path, write.text)
        assert "error" in write.json()
    assert secret.read_text() == "top secret"

    listed = await nexus.http.get(f"/api/v1/workspaces/{workspace_id}/tree", headers=AUTH)
    types = {e["name"]: e["type"] for e in listed.json()["entries"]}
    assert types["link.txt"] == "symlink" and types["outside"] == "symlink"

    # Deleting a link removes the link, never what it points to.
    assert (
        await nexus.http.delete(_files(workspace_id, "link.txt"), headers=AUTH)
    ).status_code == 204
    assert not (root / "link.txt").is_symlink() and secret.read_text() == "top secret"


async def test_viewers_read_but_do_not_write(nexus: RunningServer) -> None:
    workspace_id, root = await _workspace(nexus)
    (root / "a.txt").write_text("hello")
    viewer = await nexus.create_user("vera")
    await nexus.add_member(ADMIN_TOKEN, workspace_id, "vera", "viewer")
    headers = nexus.headers(viewer)
    assert (await nexus.http.get(_files(workspace_id, "a.txt"), headers=headers)).text == "hello"
    refused = await nexus.http.put(_files(workspace_id, "a.txt"), content=b"bye", headers=headers)
    assert refused.status_code == 403
    assert (
        await nexus.http.delete(_files(workspace_id, "a.txt"), headers=headers)
    ).status_code == 403
    stranger = await nexus.create_user("sam")
    denied = await nexus.http.get(_files(workspace_id, "a.txt"), headers=nexus.headers(stranger))
    assert denied.status_code in (403, 404)
    assert (root / "a.txt").read_text() == "hello"


async def test_files_commands_share_the_service(nexus: RunningServer) -> None:
    workspace_id, root = await _workspace(nexus)

    async def run(command: str, **args: Any) -> Any:
        response = await post_command(nexus, ADMIN_TOKEN, workspace_id, command, args)
        return response.json().get("result") if response.status_code == 200 else response

    written = await run("files.write", path="notes/todo.md", content="- ship\n")
    read = await run("files.read", path="notes/todo.md")
    assert read["content"] == "- ship\n" and read["etag"] == written["etag"]
    stale = await run("files.write", path="notes/todo.md", content="x", etag='"old"')
    assert stale.status_code == 409
    listed = await run("files.list", path="notes")
    assert [e["name"] for e in listed["entries"]] == ["todo.md"]
    assert (await run("files.move", **{"from": "notes", "to": "docs"}))["path"] == "docs"
    assert (root / "docs" / "todo.md").read_text() == "- ship\n"


async def test_explorer_hears_changes_but_not_noise(nexus: RunningServer) -> None:
    workspace_id, root = await _workspace(nexus)
    (root / ".gitignore").write_text("*.log\n")
    client = await nexus.socket(ADMIN_TOKEN)
    events: list[dict[str, Any]] = []
    client.on("explorer:changed", events.append)

    def seen() -> dict[str, str]:
        return {c["path"]: c["kind"] for e in events for c in e["changes"]}

    try:
        await join(client, workspace_id)
        await eventually(lambda: watching(root / "probe.txt", seen), interval=0.1)
        events.clear()
        (root / "node_modules").mkdir()
        (root / "node_modules" / "dep.js").write_text("noise")
        (root / "run.log").write_text("noise")
        (root / "src").mkdir()
        (root / "main.py").write_text("print(1)\n")

        await eventually(lambda: "main.py" in seen() and "src" in seen())
        assert seen()["main.py"] == "added" and seen()["src"] == "added"
        assert not any(p.startswith("node_modules") or p.endswith(".log") for p in seen())
        assert all(e["workspace"] == workspace_id for e in events)

        events.clear()
        (root / "main.py").unlink()
        await eventually(lambda: "main.py" in seen())
        assert seen()["main.py"] == "deleted"
    finally:
        await client.disconnect()


def watching(probe: Path, seen: Callable[[], dict[str, str]]) -> bool:
    """Whether the explorer's watcher reports a change to `probe` yet; touches it again
    each time, since a change made before the watcher started is never reported."""
    probe.write_text(str(time.monotonic()))
    return probe.name in seen()


async def test_rest_writes_reach_live_documents(nexus: RunningServer) -> None:
    workspace_id, root = await _workspace(nexus)
    (root / "app.py").write_text("one\n")
    url = _files(workspace_id, "app.py")
    async with connected_doc(yjs_url(nexus.url, workspace_id, "app.py", ADMIN_TOKEN)) as (
        _,
        text,
        _,
    ):
        text += "two\n"
        # Reading right after typing sees the typed text: open documents are saved first.
        read = await nexus.http.get(url, headers=AUTH)
        assert read.text == "one\ntwo\n"
        written = await nexus.http.put(
            url, content=b"zero\none\ntwo\n", headers={**AUTH, "If-Match": read.headers["etag"]}
        )
        assert written.status_code == 200, written.text
        await wait_text(text, "zero\none\ntwo\n")


async def test_deleting_an_open_file_closes_it_for_good(nexus: RunningServer) -> None:
    workspace_id, root = await _workspace(nexus)
    (root / "doomed.py").write_text("keep me?\n")
    ws_url = yjs_url(nexus.url, workspace_id, "doomed.py", ADMIN_TOKEN)
    async with connected_doc(ws_url) as (doc, text, connection):
        text += "typed\n"
        await wait_file(root / "doomed.py", "keep me?\ntyped\n")
        deleted = await nexus.http.delete(_files(workspace_id, "doomed.py"), headers=AUTH)
        assert deleted.status_code == 204
        await asyncio.wait_for(connection.wait_closed(), 5)
        assert connection.close_code == 4410 and "deleted" in connection.close_reason
    await asyncio.sleep(0.5)  # a window for a stray write-back: proving an absence
    assert not (root / "doomed.py").exists()

    # The old copy cannot bring the file back; a fresh client gets an empty document.
    async with websockets.connect(ws_url) as old_copy:
        await old_copy.send(create_sync_message(doc))
        with pytest.raises(websockets.ConnectionClosed) as stale:
            while True:
                await old_copy.recv()
    assert stale.value.rcvd is not None and stale.value.rcvd.code == 4409
    async with connected_doc(ws_url) as (_, fresh, _):
        assert str(fresh) == ""
    assert not (root / "doomed.py").exists() or (root / "doomed.py").read_text() == ""


async def test_moving_an_open_file_closes_it_and_the_content_moves(nexus: RunningServer) -> None:
    workspace_id, root = await _workspace(nexus)
    (root / "old.py").write_text("base\n")
    ws_url = yjs_url(nexus.url, workspace_id, "old.py", ADMIN_TOKEN)
    async with connected_doc(ws_url) as (_, text, connection):
        text += "typed just now\n"
        await wait_file(root / "old.py", "base\ntyped just now\n")
        moved = await nexus.http.post(
            f"/api/v1/workspaces/{workspace_id}/move",
            json={"from": "old.py", "to": "new.py"},
            headers=AUTH,
        )
        assert moved.status_code == 200, moved.text
        await asyncio.wait_for(connection.wait_closed(), 5)
        assert connection.close_code == 4410 and "new.py" in connection.close_reason
    assert (root / "new.py").read_text() == "base\ntyped just now\n"
    assert not (root / "old.py").exists()
    new_url = yjs_url(nexus.url, workspace_id, "new.py", ADMIN_TOKEN)
    async with connected_doc(new_url) as (_, text, _):
        assert str(text) == "base\ntyped just now\n"
