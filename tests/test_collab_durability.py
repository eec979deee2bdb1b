"""No acknowledged edit is lost: `kill -9` mid-burst, restart, reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

import httpx
from pycrdt import Doc

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
                    await asyncio.sleep(0.002)
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
        path = Path(workspace["path"]) / "burst.txt"
        async with asyncio.timeout(5):
            while not path.exists() or path.read_text() != expected:
                await asyncio.sleep(0.05)
    finally:
        node.stop()
