"""The webhook outbox on both databases: nodes claiming due deliveries at the same time
never take the same one, and the log keeps every attempt."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from extensions.outbox import FAILED, PENDING, Outbox, Result, Settled
from extensions.store import ExtensionStore
from server.storage import UserStore, create_engine, migrate
from server.storage.database import utcnow


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


async def extension_id(engine: AsyncEngine) -> str:
    owner = await UserStore(engine).create("alice", None, is_admin=False)
    extension = await ExtensionStore(engine).create(
        {
            "owner_id": owner.id,
            "workspace_id": None,
            "name": "ci",
            "webhook_url": "https://ci.example.com/hook",
            "events": ["file.saved"],
            "commands": [],
            "role": "editor",
            "secret": "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0",
            "enabled": True,
        }
    )
    return extension.id


async def test_two_nodes_never_claim_the_same_delivery(engine: AsyncEngine) -> None:
    extension = await extension_id(engine)
    node_a, node_b = Outbox(engine, "a", 60), Outbox(engine, "b", 60)
    rows = [
        {
            "id": f"msg_{i:04d}",
            "extension_id": extension,
            "event": "file.saved",
            "workspace_id": None,
            "payload": "{}",
        }
        for i in range(120)
    ]
    await node_a.add(rows, claim=False)

    async def drain(outbox: Outbox) -> list[str]:
        taken: list[str] = []
        while batch := await outbox.claim_due(7):
            taken += [job.id for job in batch]
        return taken

    got_a, got_b = await asyncio.gather(drain(node_a), drain(node_b))
    assert not set(got_a) & set(got_b)
    assert sorted(got_a + got_b) == [row["id"] for row in rows]
    assert await node_a.claim_due(10) == []  # all held now


async def test_attempts_are_logged_and_deliveries_move_on(engine: AsyncEngine) -> None:
    extension = await extension_id(engine)
    outbox = Outbox(engine, "a", 60)
    row = {
        "id": "msg_1",
        "extension_id": extension,
        "event": "file.saved",
        "workspace_id": "w",
        "payload": '{"type":"file.saved"}',
    }
    [job] = await outbox.add([row], claim=True)
    now = utcnow()
    refused = Result(503, 4.2, "busy " * 400, "answered 503")
    await outbox.record([Settled(job, refused, PENDING, now, False, now)])
    [again] = await outbox.claim_due(5)  # released and due: any node may take it
    assert again.id == "msg_1" and again.attempts == 1
    await outbox.record(
        [Settled(again, Result(410, 1.0, None, "answered 410"), FAILED, None, False, now)]
    )
    delivery = await outbox.get(extension, "msg_1")
    assert delivery.status == FAILED and delivery.attempts == 2
    assert [a.status_code for a in delivery.attempt_log] == [503, 410]
    assert len(delivery.attempt_log[0].response_excerpt or "") == 1000
    assert delivery.payload == {"type": "file.saved"}

    redone = await outbox.redeliver(extension, "msg_1")
    assert redone.attempts == 2
    assert (await outbox.get(extension, "msg_1")).status == PENDING
    assert await outbox.prune(timedelta(days=3)) == 0
    assert await outbox.prune(timedelta(seconds=-1)) == 1  # everything is older than "future"
    assert await outbox.log(extension, 10) == []
