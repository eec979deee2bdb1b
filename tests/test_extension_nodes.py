"""Extensions on two real nodes sharing PostgreSQL and Redis: an extension registered on
one node contributes its command on the other, and each event is delivered once."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._nodes import Node
from tests._receiver import Receiver, sign_request, verify_signature
from tests.conftest import ADMIN_TOKEN

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class HookNode(Node):
    def start(self) -> None:
        self.env["NEXUS_WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"
        self.env["NEXUS_WEBHOOK_RETRY_SCALE"] = "0.001"
        super().start()


@pytest.fixture
def nodes(tmp_path: Path, postgres_url: str, redis_url: str) -> Iterator[tuple[Node, Node]]:
    pair = (
        HookNode("node-a", tmp_path, postgres_url, redis_url),
        HookNode("node-b", tmp_path, postgres_url, redis_url),
    )
    yield pair
    for node in pair:
        node.stop()


async def wait_command(http: httpx.AsyncClient, url: str, command: str, present: bool) -> None:
    async with asyncio.timeout(15):
        while True:
            listed = await http.get(url + "/api/v1/commands", headers=ADMIN)
            if (command in {c["id"] for c in listed.json()}) == present:
                return
            await asyncio.sleep(0.05)


async def test_two_nodes_share_extensions_and_deliver_each_event_once(
    nodes: tuple[Node, Node], receiver: Receiver
) -> None:
    node_a, node_b = nodes
    await asyncio.gather(node_a.ready(), node_b.ready())
    async with httpx.AsyncClient(timeout=10) as http:
        made = await http.post(
            node_a.url + "/api/v1/workspaces", json={"name": "two"}, headers=ADMIN
        )
        workspace = made.json()["id"]
        spec: dict[str, Any] = {
            "name": "ci",
            "webhook_url": receiver.url,
            "workspace": workspace,
            "events": ["file.saved"],
            "commands": [{"id": "ci.run", "title": "Run CI"}],
        }
        created = (
            await http.post(node_a.url + "/api/v1/extensions", json=spec, headers=ADMIN)
        ).json()
        await wait_command(http, node_b.url, "ci.run", present=True)

        receiver.replies.append((500, b"once more", {}, 0.0))
        for index, node in enumerate((node_a, node_b, node_b)):
            written = await http.put(
                f"{node.url}/api/v1/workspaces/{workspace}/files/f{index}.txt",
                content=b"x",
                headers=ADMIN,
            )
            assert written.status_code in (200, 201), written.text
        await receiver.wait_for(
            lambda got: {r.json["data"]["path"] for r in got} >= {"f0.txt", "f1.txt", "f2.txt"}
        )
        log_url = f"{node_b.url}/api/v1/extensions/{created['id']}/deliveries"
        async with asyncio.timeout(15):
            while True:
                log = (await http.get(log_url, headers=ADMIN)).json()
                if len(log) == 3 and all(d["status"] == "succeeded" for d in log):
                    break
                await asyncio.sleep(0.05)
        # One refused attempt, retried once: four requests for three events, no duplicates.
        assert len(receiver.requests) == 4
        assert len({r.headers["webhook-id"] for r in receiver.requests}) == 3
        for request in receiver.requests:
            verify_signature(created["secret"], request.headers, request.body)

        # A chat post taken by one node is a replay on the other (the ids are in Redis).
        body = json.dumps({"text": "hello from the bridge"}).encode()
        signed = sign_request(created["secret"], body, "msg_once", int(time.time()))
        chat = f"/api/v1/extensions/{created['id']}/chat"
        first = await http.post(node_a.url + chat, content=body, headers=signed)
        assert first.status_code == 202, first.text
        replayed = await http.post(node_b.url + chat, content=body, headers=signed)
        assert replayed.status_code == 401 and "used already" in replayed.text

        deleted = await http.delete(
            f"{node_b.url}/api/v1/extensions/{created['id']}", headers=ADMIN
        )
        assert deleted.status_code == 204
        await wait_command(http, node_a.url, "ci.run", present=False)
