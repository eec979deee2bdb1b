"""The webhook outbox and delivery log, in the database.

An event's body is stored once (`webhook_events`); each subscribed extension gets a
delivery of it (`webhook_deliveries`, its id the `webhook-id`), and each attempt is
logged (`webhook_attempts`). New deliveries and attempts' outcomes are written in
batches (`Journal`); the rest here is the rarer reads and moves.

A node works on a delivery only while it holds the claim (`claimed_by` until
`claimed_until`): new deliveries are claimed by the node that made them, due retries are
claimed by one conditional UPDATE (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so with
several nodes each attempt is made once. A claim whose node died runs out and the
delivery is taken over.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from extensions.models import Attempt, Delivery
from server.errors import NotFound
from server.storage.database import as_utc, utcnow
from server.storage.inline import Busy, inline_writer
from server.storage.tables import extensions, webhook_attempts, webhook_deliveries, webhook_events

EXCERPT_CHARS = 1000
INLINE_CHUNK_ROWS = 25  # about half a millisecond of SQLite's time on the loop
INLINE_TRIES = 20
INLINE_RETRY_SECONDS = 0.01
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
D = webhook_deliveries.c
E = webhook_events.c
X = extensions.c


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
    keep: bool  # this node keeps the claim: it makes the (soon) retry itself
    at: datetime


@dataclass
class Batch:
    """Rows gathered to be written together."""

    events: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    attempts: list[dict[str, Any]]
    moves: list[dict[str, Any]]

    def __bool__(self) -> bool:
        return bool(self.rows)

    @property
    def rows(self) -> int:
        return len(self.events) + len(self.deliveries) + len(self.attempts) + len(self.moves)


_MOVE = (
    update(webhook_deliveries)
    .where(D.id == bindparam("b_id"))
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
_INSERT_EVENTS = insert(webhook_events)
_INSERT_DELIVERIES = insert(webhook_deliveries)
_INSERT_ATTEMPTS = insert(webhook_attempts)
_PARTS = (  # written in this order
    ("events", _INSERT_EVENTS),
    ("deliveries", _INSERT_DELIVERIES),
    ("attempts", _INSERT_ATTEMPTS),
    ("moves", _MOVE),
)
_LOGGED = select(webhook_deliveries, E.event, E.workspace_id, E.payload).join(
    webhook_events, E.id == D.event_id
)


def _due(now: datetime) -> Any:
    return and_(
        D.status == PENDING,
        D.next_attempt_at <= now,
        or_(D.claimed_until.is_(None), D.claimed_until < now),
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


class Outbox:
    def __init__(self, engine: AsyncEngine, node_id: str, lease_seconds: float) -> None:
        self.engine = engine
        self.node_id = node_id
        self.lease = timedelta(seconds=lease_seconds)
        self._inline = inline_writer(engine)

    def settled_values(self, item: Settled) -> dict[str, Any]:
        """The delivery's columns after an attempt."""
        claim_until = (item.next_at or item.at) + self.lease if item.keep else None
        return {
            "status": item.status,
            "attempts": item.job.attempts + 1,
            "next_attempt_at": item.next_at,
            "claimed_by": self.node_id if item.keep else None,
            "claimed_until": claim_until,
            "last_status": item.result.status_code,
            "last_error": item.result.error,
            "updated_at": item.at,
        }

    async def write(self, batch: Batch) -> None:
        """New events and deliveries, attempts and moves. On SQLite in small chunks on
        the event loop (see `server.storage.inline`), elsewhere in one transaction.
        Rows of an extension deleted meanwhile are left out (a second try, only then)."""
        if self._inline is not None:
            batch = await self._write_inline(batch)
            if not batch:
                return
        try:
            await self._write(batch)
        except IntegrityError:
            async with self.engine.connect() as conn:
                await self._write(await _without_orphans(conn, batch))

    async def _write_inline(self, batch: Batch) -> Batch:
        """Chunk after chunk, in order (events before their deliveries before their
        attempts); what is left when a chunk breaks a constraint or the lock stays
        taken goes the slower way."""
        assert self._inline is not None
        for index, (field, statement) in enumerate(_PARTS):
            rows = getattr(batch, field)
            for start in range(0, len(rows), INLINE_CHUNK_ROWS):
                if not await self._inline_chunk(statement, rows[start : start + INLINE_CHUNK_ROWS]):
                    return _rest(batch, index, start)
                await asyncio.sleep(0)  # the loop's turn: edits wait at most one chunk
        return Batch([], [], [], [])

    async def _inline_chunk(self, statement: Any, rows: list[dict[str, Any]]) -> bool:
        assert self._inline is not None
        for _ in range(INLINE_TRIES):  # others' transactions are short: soon free
            try:
                self._inline.write(statement, rows)
                return True
            except Busy:
                await asyncio.sleep(INLINE_RETRY_SECONDS)
            except IntegrityError:
                return False
        return False

    async def _write(self, batch: Batch) -> None:
        async with self.engine.begin() as conn:
            for statement, rows in _statements(batch):
                await conn.execute(statement, rows)

    def close(self) -> None:
        if self._inline is not None:
            self._inline.close()

    async def claim_due(self, limit: int) -> list[Job]:
        """Claim up to `limit` deliveries whose next attempt is due and nobody holds.
        Asked first with a read: the claim is a write, which on SQLite would hold the
        write lock the document log needs, every second, for nothing most of the time."""
        now = utcnow()
        async with self.engine.connect() as conn:
            if (await conn.execute(select(D.id).where(_due(now)).limit(1))).first() is None:
                return []
        async with self.engine.begin() as conn:
            due = select(D.id).where(_due(now)).order_by(D.next_attempt_at).limit(limit)
            if conn.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            claimed = await conn.execute(
                update(webhook_deliveries)
                .where(D.id.in_(due.scalar_subquery()), _due(now))
                .values(claimed_by=self.node_id, claimed_until=now + self.lease)
                .returning(D.id, D.extension_id, D.event_id, D.attempts)
            )
            return await _jobs(conn, claimed.all())

    async def give_up(self, job: Job, reason: str) -> None:
        """End a delivery without an attempt (its extension is gone or disabled)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(webhook_deliveries)
                .where(D.id == job.id)
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
        async with self.engine.begin() as conn:
            moved = await conn.execute(
                update(webhook_deliveries)
                .where(D.id == delivery_id, D.extension_id == extension_id)
                .values(
                    status=PENDING,
                    next_attempt_at=now,
                    claimed_by=self.node_id,
                    claimed_until=now + self.lease,
                    updated_at=now,
                )
                .returning(D.id, D.extension_id, D.event_id, D.attempts)
            )
            jobs = await _jobs(conn, moved.all())
        if not jobs:
            raise NotFound(f"no delivery {delivery_id!r} for this extension")
        return jobs[0]

    async def log(self, extension_id: str, limit: int, status: str | None = None) -> list[Delivery]:
        """An extension's deliveries, newest first (without their attempts)."""
        query = _LOGGED.where(D.extension_id == extension_id)
        if status is not None:
            query = query.where(D.status == status)
        query = query.order_by(D.created_at.desc(), D.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_delivery(row) for row in rows]

    async def get(self, extension_id: str, delivery_id: str) -> Delivery:
        """One delivery with every attempt."""
        query = _LOGGED.where(D.id == delivery_id, D.extension_id == extension_id)
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
                .where(D.claimed_by == self.node_id)
                .values(claimed_by=None, claimed_until=None)
            )

    async def prune(self, older_than: timedelta) -> int:
        """Forget events (with their deliveries and attempts) made before `older_than` ago,
        but none with a delivery still being retried."""
        cutoff = utcnow() - older_than
        retrying = exists().where(D.event_id == E.id, D.status == PENDING)
        async with self.engine.begin() as conn:
            done = await conn.execute(
                delete(webhook_events).where(E.created_at < cutoff, ~retrying)
            )
        return int(done.rowcount or 0)


def _statements(batch: Batch) -> list[tuple[Any, list[dict[str, Any]]]]:
    pairs = [(statement, getattr(batch, field)) for field, statement in _PARTS]
    return [(statement, rows) for statement, rows in pairs if rows]


def _rest(batch: Batch, index: int, start: int) -> Batch:
    """What is left of `batch` from row `start` of its `index`th part on."""
    parts = []
    for i, (field, _) in enumerate(_PARTS):
        rows = getattr(batch, field)
        parts.append([] if i < index else rows[start:] if i == index else rows)
    return Batch(*parts)


async def _without_orphans(conn: AsyncConnection, batch: Batch) -> Batch:
    """The batch less deliveries of extensions that are gone and attempts of deliveries
    that are gone."""
    wanted = {row["extension_id"] for row in batch.deliveries}
    alive = set((await conn.execute(select(X.id).where(X.id.in_(wanted)))).scalars())
    deliveries = [row for row in batch.deliveries if row["extension_id"] in alive]
    tried = {row["delivery_id"] for row in batch.attempts}
    known = set((await conn.execute(select(D.id).where(D.id.in_(tried)))).scalars())
    known |= {row["id"] for row in deliveries}
    attempts = [row for row in batch.attempts if row["delivery_id"] in known]
    return Batch(batch.events, deliveries, attempts, batch.moves)


async def _jobs(conn: AsyncConnection, rows: Sequence[Row]) -> list[Job]:
    """Jobs for claimed deliveries, with their events' bodies."""
    if not rows:
        return []
    wanted = {row.event_id for row in rows}
    bodies = dict((await conn.execute(select(E.id, E.payload).where(E.id.in_(wanted)))).all())
    return [Job(r.id, r.extension_id, bodies[r.event_id], r.attempts) for r in rows]


def _attempt(row: Row) -> Attempt:
    return Attempt(
        at=as_utc(row.at),
        status_code=row.status_code,
        latency_ms=row.latency_ms,
        response_excerpt=row.response_excerpt,
        error=row.error,
    )
