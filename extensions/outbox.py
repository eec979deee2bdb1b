"""The webhook outbox and delivery log, in the database.

A delivery is one message (one event, one extension). Its row is written before the
first attempt, so a restart loses none; each attempt appends to its log. A node works
on a delivery only while it holds the claim (`claimed_by` until `claimed_until`): new
deliveries are claimed by the node that wrote them, due retries are claimed by one
conditional UPDATE (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so with several nodes each
attempt is made once. A claim whose node died runs out and the delivery is taken over.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from extensions.models import Attempt, Delivery
from server.errors import NotFound
from server.storage.database import as_utc, utcnow
from server.storage.tables import webhook_attempts, webhook_deliveries

EXCERPT_CHARS = 1000
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"


@dataclass(frozen=True, slots=True)
class Job:
    """A delivery this node holds the claim on, ready for an attempt."""

    id: str
    extension_id: str
    payload: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Result:
    """What one attempt came to."""

    status_code: int | None
    latency_ms: float
    excerpt: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Settled:
    """An attempt made, and where it leaves its delivery."""

    job: Job
    result: Result
    status: str
    next_at: datetime | None
    keep: bool
    at: datetime


_MOVE = (
    update(webhook_deliveries)
    .where(webhook_deliveries.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        next_attempt_at=bindparam("b_next"),
        claimed_by=bindparam("b_by"),
        claimed_until=bindparam("b_until"),
        last_status=bindparam("b_code"),
        last_error=bindparam("b_error"),
        updated_at=bindparam("b_at"),
    )
)


def _delivery(row: Row, attempts: list[Attempt] | None = None) -> Delivery:
    return Delivery(
        id=row.id,
        event=row.event,
        workspace=row.workspace_id,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=as_utc(row.next_attempt_at),
        last_status=row.last_status,
        last_error=row.last_error,
        created_at=as_utc(row.created_at),
        payload=json.loads(row.payload),
        attempt_log=attempts or [],
    )


def _due(now: datetime) -> Any:
    table = webhook_deliveries.c
    return and_(
        table.status == PENDING,
        table.next_attempt_at <= now,
        or_(table.claimed_until.is_(None), table.claimed_until < now),
    )


class Outbox:
    def __init__(self, engine: AsyncEngine, node_id: str, lease_seconds: float) -> None:
        self.engine = engine
        self.node_id = node_id
        self.lease = timedelta(seconds=lease_seconds)

    async def add(self, rows: list[dict[str, Any]], *, claim: bool) -> list[Job]:
        """Write new deliveries (due now); claimed by this node when `claim`."""
        now = utcnow()
        values = [
            {
                **row,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "claimed_by": self.node_id if claim else None,
                "claimed_until": now + self.lease if claim else None,
                "created_at": now,
                "updated_at": now,
            }
            for row in rows
        ]
        if not os.environ.get("HACK_NODB"):
            async with self.engine.begin() as conn:
                await conn.execute(insert(webhook_deliveries), values)
        return [Job(r["id"], r["extension_id"], r["payload"], 0) for r in rows]

    async def claim_due(self, limit: int) -> list[Job]:
        """Claim up to `limit` deliveries whose next attempt is due and nobody holds."""
        now = utcnow()
        table = webhook_deliveries.c
        async with self.engine.begin() as conn:
            due = select(table.id).where(_due(now)).order_by(table.next_attempt_at).limit(limit)
            if conn.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            claimed = await conn.execute(
                update(webhook_deliveries)
                .where(table.id.in_(due.scalar_subquery()), _due(now))
                .values(claimed_by=self.node_id, claimed_until=now + self.lease)
                .returning(table.id, table.extension_id, table.payload, table.attempts)
            )
            rows = claimed.all()
        return [Job(r.id, r.extension_id, r.payload, r.attempts) for r in rows]

    async def next_due(self) -> datetime | None:
        """When the earliest unclaimed pending delivery falls due."""
        table = webhook_deliveries.c
        query = select(table.next_attempt_at).where(table.status == PENDING)
        query = query.order_by(table.next_attempt_at).limit(1)
        async with self.engine.connect() as conn:
            value = (await conn.execute(query)).scalar()
        return as_utc(value)

    async def record(self, settled: list[Settled]) -> None:
        """Log attempts and move their deliveries on, all in one transaction: each one
        done (`status`), or due again at `next_at` — still claimed by this node when
        `keep` (a retry it will make itself)."""
        attempts, moves = [], []
        for item in settled:
            result = item.result
            excerpt = result.excerpt[:EXCERPT_CHARS] if result.excerpt else None
            attempts.append(
                {
                    "delivery_id": item.job.id,
                    "at": item.at,
                    "status_code": result.status_code,
                    "latency_ms": result.latency_ms,
                    "response_excerpt": excerpt,
                    "error": result.error,
                }
            )
            moves.append(
                {
                    "b_id": item.job.id,
                    "b_status": item.status,
                    "b_attempts": item.job.attempts + 1,
                    "b_next": item.next_at,
                    "b_by": self.node_id if item.keep else None,
                    "b_until": (item.next_at or item.at) + self.lease if item.keep else None,
                    "b_code": result.status_code,
                    "b_error": result.error,
                    "b_at": item.at,
                }
            )
        if os.environ.get("HACK_NODB"):
            return
        async with self.engine.begin() as conn:
            await conn.execute(insert(webhook_attempts), attempts)
            await conn.execute(_MOVE, moves)

    async def give_up(self, job: Job, reason: str) -> None:
        """End a delivery without an attempt (its extension is gone or disabled)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.id == job.id)
                .values(
                    status=FAILED,
                    next_attempt_at=None,
                    claimed_by=None,
                    claimed_until=None,
                    last_error=reason,
                    updated_at=utcnow(),
                )
            )

    async def redeliver(self, extension_id: str, delivery_id: str) -> Job:
        """Send a logged delivery again now, with the same `webhook-id` and body."""
        now = utcnow()
        table = webhook_deliveries.c
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    update(webhook_deliveries)
                    .where(table.id == delivery_id, table.extension_id == extension_id)
                    .values(
                        status=PENDING,
                        next_attempt_at=now,
                        claimed_by=self.node_id,
                        claimed_until=now + self.lease,
                        updated_at=now,
                    )
                    .returning(table.id, table.extension_id, table.payload, table.attempts)
                )
            ).first()
        if row is None:
            raise NotFound(f"no delivery {delivery_id!r} for this extension")
        return Job(row.id, row.extension_id, row.payload, row.attempts)

    async def log(self, extension_id: str, limit: int, status: str | None = None) -> list[Delivery]:
        """An extension's deliveries, newest first (without their attempts)."""
        table = webhook_deliveries.c
        query = select(webhook_deliveries).where(table.extension_id == extension_id)
        if status is not None:
            query = query.where(table.status == status)
        query = query.order_by(table.created_at.desc(), table.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_delivery(row) for row in rows]

    async def get(self, extension_id: str, delivery_id: str) -> Delivery:
        """One delivery with every attempt."""
        table = webhook_deliveries.c
        query = select(webhook_deliveries).where(
            table.id == delivery_id, table.extension_id == extension_id
        )
        attempts = (
            select(webhook_attempts)
            .where(webhook_attempts.c.delivery_id == delivery_id)
            .order_by(webhook_attempts.c.id)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
            tries = (await conn.execute(attempts)).all() if row is not None else []
        if row is None:
            raise NotFound(f"no delivery {delivery_id!r} for this extension")
        return _delivery(row, [_attempt(t) for t in tries])

    async def release_mine(self) -> None:
        """At start: claims this node's earlier run held are free again."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.claimed_by == self.node_id)
                .values(claimed_by=None, claimed_until=None)
            )

    async def prune(self, older_than: timedelta) -> int:
        """Forget deliveries (and their attempts) created before `older_than` ago."""
        cutoff = utcnow() - older_than
        async with self.engine.begin() as conn:
            done = await conn.execute(
                delete(webhook_deliveries).where(webhook_deliveries.c.created_at < cutoff)
            )
        return int(done.rowcount or 0)


def _attempt(row: Row) -> Attempt:
    return Attempt(
        at=as_utc(row.at),
        status_code=row.status_code,
        latency_ms=row.latency_ms,
        response_excerpt=row.response_excerpt,
        error=row.error,
    )
