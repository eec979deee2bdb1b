"""Two real server processes sharing one PostgreSQL and one Redis behave as one service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio

from tests._client import Inbox, eventually, join, usernames, wait_file
from tests._nodes import Node
from tests.conftest import ADMIN_TOKEN


@pytest.fixture
def nodes(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[tuple[Node, Node]]:
    pair = (
        Node("node-a", tmp_path, postgres_url, redis_url),
        Node("node-b", tmp_path, postgres_url, redis_url),
    )
    yield pair
    for node in pair:
        node.stop()


async def connect(url: str, token: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    return client


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def ready_with_workspace(
    nodes: tuple[Node, Node], http: httpx.AsyncClient, name: str
) -> dict[str, Any]:
    """Both nodes serving, and a workspace (made by the admin on the first) to use."""
    await asyncio.gather(*(node.ready() for node in nodes))
    created = await http.post(
        nodes[0].url + "/api/v1/workspaces",
        json={"name": name},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


async def file_on_both_nodes(
    nodes: tuple[Node, Node], http: httpx.AsyncClient, name: str, text: str
) -> tuple[Path, str, str]:
    """A file holding `text` in a new workspace, and its /yjs URL on each node."""
    from tests._yclient import yjs_url

    workspace = await ready_with_workspace(nodes, http, name)
    path = Path(workspace["path"]) / name
    path.write_text(text)
    url_a, url_b = (yjs_url(n.url, workspace["id"], name, ADMIN_TOKEN) for n in nodes)
    return path, url_a, url_b


async def test_clients_on_two_nodes_share_presence_and_broadcasts(
    nodes: tuple[Node, Node], http: httpx.AsyncClient
) -> None:
    node_a, node_b = nodes
    await asyncio.gather(node_a.ready(), node_b.ready())
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    # Users made on one node log in on the other: one database.
    for name in ("alice", "bob"):
        created = await http.post(
            node_a.url + "/api/v1/users",
            json={"username": name, "password": "password-1"},
            headers=admin,
        )
        assert created.status_code == 201
    tokens = {}
    for name, node in (("alice", node_a), ("bob", node_b)):
        login = await http.post(
            node.url + "/api/v1/auth/login", json={"username": name, "password": "password-1"}
        )
        tokens[name] = login.json()["token"]
    workspace = (
        await http.post(
            node_a.url + "/api/v1/workspaces",
            json={"name": "shared"},
            headers={"Authorization": f"Bearer {tokens['alice']}"},
        )
    ).json()
    await http.post(
        node_a.url + f"/api/v1/workspaces/{workspace['id']}/members",
        json={"username": "bob", "role": "editor"},
        headers={"Authorization": f"Bearer {tokens['alice']}"},
    )

    alice = await connect(node_a.url, tokens["alice"])
    bob = await connect(node_b.url, tokens["bob"])
    alice_inbox = Inbox(alice, "presence", "workspace:message")
    bob_inbox = Inbox(bob, "presence", "workspace:message", "workspace:role")
    await join(alice, workspace["id"])
    joined = await bob.call("workspace:join", {"workspace": workspace["id"]})
    assert usernames({"users": joined["result"]["presence"]}) == {"alice", "bob"}
    await alice_inbox.wait_for("presence", lambda p: usernames(p) == {"alice", "bob"})

    await alice.call("workspace:broadcast", {"workspace": workspace["id"], "data": "from a"})
    await bob.call("workspace:broadcast", {"workspace": workspace["id"], "data": "from b"})
    assert (await bob_inbox.wait_for("workspace:message", lambda m: m["from"] == "alice"))[
        "data"
    ] == "from a"
    assert (await alice_inbox.wait_for("workspace:message", lambda m: m["from"] == "bob"))[
        "data"
    ] == "from b"

    # A role change made through node A reaches bob's session on node B over the bus.
    await http.post(
        node_a.url + f"/api/v1/workspaces/{workspace['id']}/members",
        json={"username": "bob", "role": "viewer"},
        headers={"Authorization": f"Bearer {tokens['alice']}"},
    )
    assert (await bob_inbox.wait_for("workspace:role"))["role"] == "viewer"

    present = await http.get(
        node_b.url + f"/api/v1/workspaces/{workspace['id']}/presence",
        headers={"Authorization": f"Bearer {tokens['bob']}"},
    )
    assert {u["username"] for u in present.json()} == {"alice", "bob"}

    await bob.disconnect()
    await alice_inbox.wait_for("presence", lambda p: usernames(p) == {"alice"})
    await alice.disconnect()


async def test_a_killed_node_drops_out_of_presence(
    nodes: tuple[Node, Node], http: httpx.AsyncClient
) -> None:
    node_a, node_b = nodes
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    workspace = await ready_with_workspace(nodes, http, "w")
    on_a = await connect(node_a.url, ADMIN_TOKEN)
    on_b = await connect(node_b.url, ADMIN_TOKEN)
    await on_a.call("workspace:join", {"workspace": workspace["id"]})
    joined = await on_b.call("workspace:join", {"workspace": workspace["id"]})
    assert joined["result"]["presence"][0]["connections"] == 2

    node_a.kill()  # no goodbye: its heartbeat stops
    url = node_b.url + f"/api/v1/workspaces/{workspace['id']}/presence"

    async def dropped_out() -> bool:
        return bool((await http.get(url, headers=admin)).json()[0]["connections"] == 1)

    await eventually(dropped_out, 30, interval=0.5)
    await on_b.disconnect()
    await on_a.disconnect()


async def test_one_document_edited_through_two_nodes_converges_and_persists_once(
    nodes: tuple[Node, Node], http: httpx.AsyncClient, postgres_url: str
) -> None:
    from sqlalchemy import func, select

    from server.storage import create_engine
    from server.storage.tables import document_updates
    from tests._yclient import connected_doc, wait_text

    path, url_a, url_b = await file_on_both_nodes(nodes, http, "doc.txt", "start\n")
    async with connected_doc(url_a) as (_, on_a, _), connected_doc(url_b) as (_, on_b, _):
        assert str(on_a) == str(on_b) == "start\n"
        for n in range(20):
            on_a += f"a{n} "
            on_b += f"b{n} "
            await asyncio.sleep(0.005)  # two typists' pace, not a wait
        await eventually(lambda: str(on_a) == str(on_b) and str(on_a).count(" ") >= 40, 10)
        final = str(on_a)
        await wait_text(on_b, final)
    # Every edit exactly once: with a shared folder, one node's write-back must not be
    # taken by the other for an edit of its own.
    expected = ["start"] + [f"a{n}" for n in range(20)] + [f"b{n}" for n in range(20)]
    assert sorted(final.split()) == sorted(expected), final
    await wait_file(path, final)

    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as conn:
            stored = (
                await conn.execute(select(func.count()).select_from(document_updates))
            ).scalar_one()
    finally:
        await engine.dispose()
    assert stored == 1 + 40  # the file's text once, then each edit once


async def test_two_nodes_opening_and_a_program_editing_one_file_add_its_text_once(
    nodes: tuple[Node, Node], http: httpx.AsyncClient
) -> None:
    import websockets

    from tests._yclient import connected_doc, wait_text

    path, url_a, url_b = await file_on_both_nodes(nodes, http, "app.py", "def main():\n    pass\n")
    async with contextlib.AsyncExitStack() as stack:
        # Both nodes load the never-opened file at the same moment: one imports it.
        for connection in await asyncio.gather(
            websockets.connect(url_a), websockets.connect(url_b)
        ):
            stack.push_async_callback(connection.close)
        _, on_a, _ = await stack.enter_async_context(connected_doc(url_a))
        _, on_b, _ = await stack.enter_async_context(connected_doc(url_b))
        await wait_text(on_a, "def main():\n    pass\n")
        await wait_text(on_b, "def main():\n    pass\n")
        # Another program (git checkout, an editor) changes the file: merged once.
        path.write_text("def main():\n    return 42\n")
        await wait_text(on_a, "def main():\n    return 42\n")
        await wait_text(on_b, "def main():\n    return 42\n")
        on_b += "main()\n"
        await wait_text(on_a, "def main():\n    return 42\nmain()\n")
        await wait_file(path, "def main():\n    return 42\nmain()\n")
        await asyncio.sleep(1)  # a window for a watcher to merge the write-back in again
        assert str(on_a) == str(on_b) == "def main():\n    return 42\nmain()\n"


async def test_when_the_node_writing_a_file_dies_the_other_takes_the_file_over(
    nodes: tuple[Node, Node], http: httpx.AsyncClient
) -> None:
    from tests._yclient import connected_doc, wait_text

    path, url_a, url_b = await file_on_both_nodes(nodes, http, "notes.txt", "one\n")
    on_a = contextlib.AsyncExitStack()
    await on_a.enter_async_context(connected_doc(url_a))  # opened first on A: A writes
    try:
        async with connected_doc(url_b) as (_, on_b, _):
            await wait_text(on_b, "one\n")
            on_b += "two\n"
            await wait_file(path, "one\ntwo\n")
            nodes[0].kill()  # kill -9 of A: nothing released, the lease runs out
            on_b += "three\n"
            # B writes once A's lease (5 s) has run out: the file does not stay behind.
            await wait_file(path, "one\ntwo\nthree\n", timeout=20)
            on_b += "four\n"
            await wait_file(path, "one\ntwo\nthree\nfour\n")
    finally:
        with contextlib.suppress(Exception):  # A's connection died with A
            await on_a.aclose()
