"""The webhook outbox on both databases: nodes claiming due deliveries at the same time
never take the same one, and the log keeps every attempt."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from extensions.journal import Journal
from extensions.outbox import FAILED, PENDING, SUCCEEDED, Batch, Job, Outbox, Result, Settled
from extensions.store import ExtensionStore
from server.storage import UserStore
from server.storage.database import utcnow


async def extension_id(engine: AsyncEngine, owner_name: str = "alice") -> str:
    owner = await UserStore(engine).create(owner_name, None, is_admin=False)
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


def event_and_deliveries(extension: str, count: int) -> Batch:
    now = utcnow()
    event = {
        "id": "evt_1",
        "event": "file.saved",
        "workspace_id": "w",
        "payload": '{"type":"file.saved"}',
        "created_at": now,
    }
    rows = [
        {
            "id": f"msg_{i:04d}",
            "extension_id": extension,
            "event_id": "evt_1",
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_by": None,
            "claimed_until": None,
            "last_status": None,
            "last_error": None,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    return Batch([event], rows, [], [])


async def test_two_nodes_never_claim_the_same_delivery(engine: AsyncEngine) -> None:
    extension = await extension_id(engine)
    node_a, node_b = Outbox(engine, "a", 60), Outbox(engine, "b", 60)
    batch = event_and_deliveries(extension, 120)
    await node_a.write(batch)

    async def drain(outbox: Outbox) -> list[str]:
        taken: list[str] = []
        while jobs := await outbox.claim_due(7):
            assert all(job.payload == '{"type":"file.saved"}' for job in jobs)
            taken += [job.id for job in jobs]
        return taken

    got_a, got_b = await asyncio.gather(drain(node_a), drain(node_b))
    assert not set(got_a) & set(got_b)
    assert sorted(got_a + got_b) == [row["id"] for row in batch.deliveries]
    assert await node_a.claim_due(10) == []  # all held now


async def test_the_journal_logs_attempts_and_moves_deliveries_on(engine: AsyncEngine) -> None:
    extension = await extension_id(engine)
    outbox = Outbox(engine, "a", 60)
    journal = Journal(outbox)
    batch = event_and_deliveries(extension, 2)
    await journal.add(batch.events[0], batch.deliveries)
    first, second = (Job(row["id"], extension, "{}", 0) for row in batch.deliveries)
    now = utcnow()
    refused = Result(503, 4.2, "busy " * 400, "answered 503")
    await journal.settle(Settled(first, refused, PENDING, now, False, now))  # before the write
    await journal.close()
    await journal.settle(Settled(second, Result(200, 1.0, "ok", None), SUCCEEDED, None, False, now))
    await journal.close()  # after: a move
    [again] = await outbox.claim_due(5)  # msg_0000: released and due, any node may take it
    assert again.id == first.id and again.attempts == 1
    gone = Result(410, 1.0, None, "answered 410")
    await journal.settle(Settled(again, gone, FAILED, None, False, now))
    await journal.close()
    delivery = await outbox.get(extension, first.id)
    assert delivery.status == FAILED and delivery.attempts == 2
    assert [a.status_code for a in delivery.attempt_log] == [503, 410]
    assert len(delivery.attempt_log[0].response_excerpt or "") == 1000
    assert delivery.payload == {"type": "file.saved"} and delivery.event == "file.saved"
    assert (await outbox.get(extension, second.id)).status == SUCCEEDED

    redone = await outbox.redeliver(extension, first.id)
    assert redone.attempts == 2 and redone.payload == '{"type":"file.saved"}'
    assert (await outbox.get(extension, first.id)).status == PENDING
    assert await outbox.prune(timedelta(days=3)) == 0
    assert await outbox.prune(timedelta(seconds=-1)) == 0  # one delivery is being retried
    await journal.settle(Settled(redone, Result(200, 1.0, None, None), SUCCEEDED, None, False, now))
    await journal.close()
    assert await outbox.prune(timedelta(seconds=-1)) == 1  # the event, and its deliveries
    assert await outbox.log(extension, 10) == []


async def test_rows_of_an_extension_deleted_meanwhile_do_not_sink_the_batch(
    engine: AsyncEngine,
) -> None:
    kept, gone = await extension_id(engine), await extension_id(engine, "bob")
    outbox = Outbox(engine, "a", 60)
    batch = event_and_deliveries(kept, 2)
    batch.deliveries[1]["extension_id"] = gone
    await ExtensionStore(engine).delete(gone)
    now = utcnow()
    lost = Job(batch.deliveries[1]["id"], gone, "{}", 0)
    attempt = Result(200, 1.0, None, None)
    journal = Journal(outbox)
    await journal.add(batch.events[0], batch.deliveries)
    await journal.settle(Settled(lost, attempt, SUCCEEDED, None, False, now))
    await journal.close()
    assert [d.id for d in await outbox.log(kept, 10)] == [batch.deliveries[0]["id"]]
