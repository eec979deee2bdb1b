"""Shared documents through `/yjs`: sync, disk, roles, bad input, durability."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import websockets
from pycrdt import Doc, Text
from websockets.typing import Origin

from tests._client import eventually, wait_file
from tests._yclient import connected_doc, wait_text, yjs_url
from tests.conftest import ADMIN_TOKEN, RunningServer, make_settings, serve


async def test_two_clients_converge_and_the_file_follows(nexus: RunningServer) -> None:
    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    root = Path(workspace["path"])
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("print('hi')\n")
    url = yjs_url(nexus.url, workspace["id"], "src/app.py", ADMIN_TOKEN)
    async with connected_doc(url) as (_, alice, _), connected_doc(url) as (_, bob, _):
        assert str(alice) == "print('hi')\n" == str(bob)
        alice.insert(0, "# by alice\n")
        await wait_text(bob, "# by alice\nprint('hi')\n")
        bob += "print('bye')\n"
        expected = "# by alice\nprint('hi')\nprint('bye')\n"
        await wait_text(alice, expected)
        await wait_file(root / "src" / "app.py", expected, timeout=2.0)


async def test_unicode_lands_where_it_was_typed(nexus: RunningServer) -> None:
    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    url = yjs_url(nexus.url, workspace["id"], "notes.md", ADMIN_TOKEN)
    async with connected_doc(url) as (_, alice, _), connected_doc(url) as (_, bob, _):
        alice += "a😀b日本e\u0301"
        await wait_text(bob, "a😀b日本e\u0301")
        bob.insert(len("a😀".encode()), "X")  # pycrdt indexes UTF-8
        await wait_text(alice, "a😀Xb日本e\u0301")
    await wait_file(Path(workspace["path"]) / "notes.md", "a😀Xb日本e\u0301")


async def test_viewers_read_but_cannot_write(nexus: RunningServer) -> None:
    owner = await nexus.create_user("alice")
    viewer = await nexus.create_user("bob")
    workspace = await nexus.create_workspace(owner)
    await nexus.add_member(owner, workspace["id"], "bob", "viewer")
    (Path(workspace["path"]) / "a.txt").write_text("base\n")
    async with (
        connected_doc(yjs_url(nexus.url, workspace["id"], "a.txt", owner)) as (_, alice, _),
        connected_doc(yjs_url(nexus.url, workspace["id"], "a.txt", viewer)) as (_, bob, _),
    ):
        bob += "vandalism\n"
        alice += "real edit\n"
        await eventually(lambda: "real edit" in str(bob))  # his own edit stays local
        await asyncio.sleep(0.3)  # a window for bob's edit to reach alice: proving an absence
        assert str(alice) == "base\nreal edit\n"
    await wait_file(Path(workspace["path"]) / "a.txt", "base\nreal edit\n")


@pytest.mark.parametrize(
    ("path", "token", "code"),
    [
        ("../outside.txt", ADMIN_TOKEN, 4403),
        ("a.txt", "nx_bad", 4401),
        ("a.txt", "", 4401),
        (".git/config", ADMIN_TOKEN, 4403),
    ],
)
async def test_bad_connections_are_refused_before_opening(
    nexus: RunningServer, path: str, token: str, code: int
) -> None:
    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    url = yjs_url(nexus.url, workspace["id"], path, token)
    async with websockets.connect(url) as connection:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await connection.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code
    assert not (Path(workspace["path"]).parent / "outside.txt").exists()


async def test_unknown_workspace_is_refused(nexus: RunningServer) -> None:
    async with websockets.connect(yjs_url(nexus.url, "nope", "a.txt", ADMIN_TOKEN)) as conn:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await conn.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404


async def test_pages_from_foreign_origins_cannot_open_documents_or_language_servers(
    nexus: RunningServer,
) -> None:
    """A page on another site must not ride a user's token into the workspace: the
    handshake is refused (HTTP 403) before anything is opened, on /yjs and /lsp alike."""
    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    base = nexus.url.replace("http://", "ws://")
    urls = [
        yjs_url(nexus.url, workspace["id"], "a.txt", ADMIN_TOKEN),
        f"{base}/lsp/{workspace['id']}/python?token={ADMIN_TOKEN}",
    ]
    for url in urls:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(url, origin=Origin("https://evil.example")):
                pass
        assert refused.value.response.status_code == 403, url
    assert not (Path(workspace["path"]) / "a.txt").exists()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x00\x02\x04\xff\xff\xff\xff", 1007),  # an update that is not one
        (b"\x00\x02\xff\xff\xff", 1002),  # truncated update
        (b"\x07", 1002),  # unknown message type
        (b"\x00", 1002),  # truncated sync message
        ("text frame", 1003),
    ],
)
async def test_malformed_frames_close_only_that_connection(
    nexus: RunningServer, frame: bytes | str, code: int
) -> None:
    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    url = yjs_url(nexus.url, workspace["id"], "a.txt", ADMIN_TOKEN)
    async with connected_doc(url) as (_, good, _):
        async with websockets.connect(url) as bad:
            await bad.send(frame)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await bad.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == code
        assert closed.value.rcvd.reason
        good += "still fine"
        async with connected_doc(url) as (_, other, _):
            await wait_text(other, "still fine")


async def test_oversized_messages_are_refused(tmp_path: Path) -> None:
    async with serve(make_settings(tmp_path, collab_max_message_bytes=4096)) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        url = yjs_url(nexus.url, workspace["id"], "a.txt", ADMIN_TOKEN)
        async with websockets.connect(url, max_size=None) as connection:
            await connection.send(b"\x00\x02" + b"\x01" * 10_000)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await connection.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_edits_survive_a_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with serve(settings) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)
        url = yjs_url(nexus.url, workspace["id"], "keep.txt", ADMIN_TOKEN)
        client_doc: Doc = Doc()
        async with connected_doc(url, client_doc) as (_, text, _):
            text += "persisted\n"
            await wait_file(Path(workspace["path"]) / "keep.txt", "persisted\n")  # stored
    async with serve(settings) as nexus:
        url = yjs_url(nexus.url, workspace["id"], "keep.txt", ADMIN_TOKEN)
        async with connected_doc(url) as (_, fresh, _):
            assert str(fresh) == "persisted\n"
        # The old client reconnects with its own state: nothing is duplicated.
        async with connected_doc(url, client_doc) as (_, text, _):
            await asyncio.sleep(0.2)  # a window for a duplicating update: proving an absence
            assert str(text) == "persisted\n"
    assert (Path(workspace["path"]) / "keep.txt").read_text() == "persisted\n"


async def test_disk_changes_merge_into_the_live_document(nexus: RunningServer) -> None:
    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    path = Path(workspace["path"]) / "m.txt"
    path.write_text("one\ntwo\nthree\n")
    url = yjs_url(nexus.url, workspace["id"], "m.txt", ADMIN_TOKEN)
    async with connected_doc(url) as (_, alice, _):
        await wait_text(alice, "one\ntwo\nthree\n")
        path.write_text("one\ntwo changed on disk\nthree\n")
        await wait_text(alice, "one\ntwo changed on disk\nthree\n")
        alice += "four\n"
        await wait_file(path, "one\ntwo changed on disk\nthree\nfour\n")


@pytest.mark.unit
def test_text_helpers() -> None:
    from server.collab.text import apply_diff, merge3

    doc: Doc = Doc()
    text = doc.get("source", type=Text)
    text += "héllo 😀 wörld"
    assert apply_diff(text, "héllo 😀 wörld", "héllo 🎉 wörld!")
    assert str(text) == "héllo 🎉 wörld!"
    assert merge3("a\nb\nc\n", "a\nB\nc\n", "a\nb\nC\n") == "a\nB\nC\n"
    assert merge3("x", "xy", "x") == "xy"
    assert merge3("x", "x", "z") == "z"
    # The file holds our own earlier write while we typed on: nothing doubles.
    assert merge3("abc\n", "abXYcZ\n", "abXYc\n") == "abXYcZ\n"
    assert merge3("a\nb\nc\n", "a\nB\nc\nmore", "a\nB\nc\n") == "a\nB\nc\nmore"
    # Both changed the same spot differently: both kept.
    assert merge3("abc", "aXc", "aYc") in {"aXYc", "aYXc"}


async def test_socketio_and_websocket_clients_share_one_room(nexus: RunningServer) -> None:
    from tests._yclient import SocketDoc

    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    (Path(workspace["path"]) / "app.py").write_text("x = 1\n")
    socket = await nexus.socket(ADMIN_TOKEN)
    browser = SocketDoc(socket, workspace["id"], "app.py")
    ack = await browser.open()
    assert ack["result"] == {"workspace": workspace["id"], "path": "app.py"}
    assert str(browser.text) == "x = 1\n"
    url = yjs_url(nexus.url, workspace["id"], "app.py", ADMIN_TOKEN)
    async with connected_doc(url) as (_, stock, _):
        browser.text += "y = 2\n"
        await wait_text(stock, "x = 1\ny = 2\n")
        stock += "z = 3\n"
        await wait_text(browser.text, "x = 1\ny = 2\nz = 3\n")
    await wait_file(Path(workspace["path"]) / "app.py", "x = 1\ny = 2\nz = 3\n")

    bad = await socket.call("doc:message", {**browser.ref, "data": b"\x07"})
    assert bad["ok"] is False and "unknown message type" in bad["error"]["message"]
    assert socket.connected
    escape = await socket.call("doc:join", {"workspace": workspace["id"], "path": "../x"})
    assert escape["error"]["code"] == "forbidden"
    await socket.disconnect()


async def test_awareness_is_relayed_and_removed_on_disconnect(nexus: RunningServer) -> None:
    from pycrdt import Awareness, create_awareness_message, read_message

    from server.collab import awareness_clients

    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    url = yjs_url(nexus.url, workspace["id"], "cursor.txt", ADMIN_TOKEN)

    async def next_awareness(connection: websockets.ClientConnection) -> dict[int, bool]:
        async with asyncio.timeout(5):
            while True:
                message = await connection.recv()
                if isinstance(message, bytes) and message[0] == 1:
                    return awareness_clients(read_message(message[1:]))

    async with websockets.connect(url) as watcher:
        async with connected_doc(url) as (doc, _, alice):
            awareness = Awareness(doc)
            awareness.set_local_state(
                {"user": {"name": "alice", "color": "#e91e63"}, "cursor": {"anchor": 3}}
            )
            update = awareness.encode_awareness_update([doc.client_id])
            await alice.send(create_awareness_message(update))
            assert await next_awareness(watcher) == {doc.client_id: True}
            # A newcomer is told who is already here.
            async with websockets.connect(url) as newcomer:
                assert await next_awareness(newcomer) == {doc.client_id: True}
        # alice left without saying so: the server removes her cursor for everyone.
        assert await next_awareness(watcher) == {doc.client_id: False}


async def test_metrics_count_rooms_clients_and_updates(nexus: RunningServer) -> None:
    workspace = await nexus.create_workspace(ADMIN_TOKEN)
    url = yjs_url(nexus.url, workspace["id"], "m.txt", ADMIN_TOKEN)
    async with connected_doc(url) as (_, text, _):
        text += "hello"
        await wait_file(Path(workspace["path"]) / "m.txt", "hello")  # stored, then written
        scraped = (await nexus.http.get("/metrics")).text
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in scraped.splitlines()
        if line.startswith("nexus_collab_")
    }
    assert values["nexus_collab_rooms"] >= 1
    assert values["nexus_collab_clients"] >= 1
    assert values["nexus_collab_updates_total"] >= 1
    assert values["nexus_collab_bytes_persisted_total"] > 0
    assert "nexus_collab_writeback_seconds_count" in values


async def test_documents_unload_after_the_grace_period_and_reload(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, collab_grace_seconds=0.1, collab_max_documents=2)
    async with serve(settings) as nexus:
        workspace = await nexus.create_workspace(ADMIN_TOKEN)

        def url(name: str) -> str:
            return yjs_url(nexus.url, workspace["id"], name, ADMIN_TOKEN)

        async def open_rooms() -> float:
            scraped = (await nexus.http.get("/metrics")).text
            line = next(x for x in scraped.splitlines() if x.startswith("nexus_collab_rooms "))
            return float(line.split()[1])

        async def open_rooms_are(count: float) -> bool:
            return await open_rooms() == count

        async with connected_doc(url("a.txt")) as (_, text, _):
            text += "kept"
        await eventually(lambda: open_rooms_are(0))
        assert await open_rooms() == 0
        assert (Path(workspace["path"]) / "a.txt").read_text() == "kept"
        async with connected_doc(url("a.txt")) as (_, text, _):
            assert str(text) == "kept"
            # At the limit, a third document cannot open while two are in use.
            async with connected_doc(url("b.txt")):
                async with websockets.connect(url("c.txt")) as third:
                    with pytest.raises(websockets.ConnectionClosed) as closed:
                        await third.recv()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
