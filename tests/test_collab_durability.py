"""No acknowledged edit is lost: `kill -9` mid-burst, restart, reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

import httpx
import pytest
from pycrdt import Doc, Text

from tests._client import wait_file
from tests._nodes import Node
from tests._yclient import connected_doc, wait_text, yjs_url
from tests.conftest import ADMIN_TOKEN

TOKEN = re.compile(r"<(\d+)>")


def tokens(text: str) -> list[int]:
    return [int(n) for n in TOKEN.findall(text)]


async def test_acknowledged_edits_survive_kill_9(tmp_path: Path) -> None:
    node = Node("solo", tmp_path)
    try:
        await node.ready()
        async with httpx.AsyncClient(base_url=node.url) as http:
            created = await http.post(
                "/api/v1/workspaces",
                json={"name": "crash"},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )
        workspace = created.json()
        url = yjs_url(node.url, workspace["id"], "burst.txt", ADMIN_TOKEN)
        writer_doc: Doc = Doc()
        observer_doc: Doc = Doc()
        acknowledged: list[int] = []
        with contextlib.suppress(Exception):
            async with (
                connected_doc(url, observer_doc) as (_, observed, _),
                connected_doc(url, writer_doc) as (_, written, _),
            ):
                for n in range(400):
                    written += f"<{n}>"
                    await asyncio.sleep(0.002)  # a fast typist's pace, not a wait
                    if n == 250:
                        node.kill()
                        # What the observer saw was made durable before it was relayed.
                        acknowledged = tokens(str(observed))
        assert len(acknowledged) > 50, "the burst should have been under way"

        node.start()
        await node.ready()
        # Before the writer comes back with its copy, the server alone has every
        # acknowledged edit.
        async with connected_doc(url) as (_, recovered, _):
            survived = tokens(str(recovered))
        assert set(acknowledged) <= set(survived)
        assert len(survived) == len(set(survived))
        async with (
            connected_doc(url, writer_doc) as (_, written, _),
            connected_doc(url, observer_doc) as (_, observed, _),
        ):
            expected = "".join(f"<{n}>" for n in range(400))
            await wait_text(observed, expected, timeout=10)
            assert str(written) == expected
        async with connected_doc(url) as (_, fresh, _):
            final = tokens(str(fresh))
        assert final == list(range(400))  # every edit exactly once, in order
        assert set(acknowledged) <= set(final)
        await wait_file(Path(workspace["path"]) / "burst.txt", expected)
    finally:
        node.stop()


@pytest.mark.unit
async def test_an_update_waits_off_the_event_loop_while_another_writer_holds_the_database(
    tmp_path: Path,
) -> None:
    """Updates are appended on the event loop when SQLite is free. When another connection
    holds the write lock (a long transaction, another program), the append waits on the
    store's thread instead: the server keeps answering, and the update is durable later."""
    import sqlite3

    from server.collab.store import DocumentStore, PendingUpdate
    from server.storage import UserStore, WorkspaceStore, create_engine, migrate

    database = tmp_path / "nexus.db"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    await migrate(engine)
    admin = await UserStore(engine).ensure_admin()
    workspace = await WorkspaceStore(engine).create("w", tmp_path / "w", admin.id)
    store = DocumentStore(engine)
    try:
        document = await store.open(workspace.id, "a.txt")
        doc = Doc()
        text = doc.get("source", type=Text)
        text += "hello"
        update = doc.get_update()

        await store.start_append([PendingUpdate(document.id, document.epoch, update)])
        assert await store.log_length(document.id) == 1  # the fast path

        blocker = sqlite3.connect(database, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock
        try:
            started = asyncio.get_running_loop().time()
            pending = store.start_append([PendingUpdate(document.id, document.epoch, update)])
            assert asyncio.get_running_loop().time() - started < 0.1  # the loop did not wait
            await asyncio.sleep(0.3)  # a window in which it must not complete: an absence
            assert not pending.done()  # not durable yet: not acknowledged yet
        finally:
            blocker.execute("COMMIT")
            blocker.close()
        async with asyncio.timeout(10):
            await pending
        assert await store.log_length(document.id) == 2
    finally:
        store.close()
        await engine.dispose()
