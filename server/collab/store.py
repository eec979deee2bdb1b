"""Document persistence: an append log of Yjs updates, folded into snapshots.

Each document row holds a snapshot (all updates up to `snapshot_upto`, merged) and an
`epoch`. The log holds the updates since. Loading = snapshot + log, in id order; updates
are idempotent, so replaying one twice is harmless.

The epoch changes only when a document is rebuilt from its file because its stored
state was lost or unreadable. The Yjs client ids of the old state are then "retired": a
client that still holds their history would merge old content back in and duplicate
text, so it is refused and told to reload (see `Room.check_client_state`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pycrdt import Doc
from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.collab._protocol import read_state_vector
from server.collab._sqlite_log import LogBusy, SqliteAppender
from server.storage.database import sqlite_thread_engine, utcnow
from server.storage.tables import document_updates, documents

T = TypeVar("T")
log = logging.getLogger("nexus.collab")

CHECKPOINT_EVERY = 500  # inline appends between two WAL checkpoints on the store's thread


@dataclass
class StoredDocument:
    id: int
    epoch: int
    retired_clients: set[int] = field(default_factory=set)
    snapshot: bytes | None = None
    updates: list[bytes] = field(default_factory=list)
    disk_text: str | None = None

    @property
    def has_history(self) -> bool:
        return self.snapshot is not None or bool(self.updates)


@dataclass(frozen=True, slots=True)
class PendingUpdate:
    document_id: int
    epoch: int
    data: bytes


class DocumentStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # SQLite: the append log is written from one thread of its own (see `append`).
        self._thread_engine = sqlite_thread_engine(engine)
        self._thread = (
            ThreadPoolExecutor(1, thread_name_prefix="collab-append")
            if self._thread_engine is not None
            else None
        )
        self._appender = (
            SqliteAppender(self._thread_engine) if self._thread_engine is not None else None
        )
        # The fast path: appended right here on the event loop (a one-row commit in WAL
        # mode costs about 30 us; the hop to the thread and back costs ten times that),
        # unless another connection is writing, and then on the thread after all.
        self._inline_engine = sqlite_thread_engine(engine)
        self._inline = (
            SqliteAppender(self._inline_engine, wait=False)
            if self._inline_engine is not None
            else None
        )
        self._inline_appends = 0

    def close(self) -> None:
        if self._inline is not None:
            self._inline.close()
        if self._inline_engine is not None:
            self._inline_engine.dispose()
        if self._thread is not None:
            if self._appender is not None:
                self._thread.submit(self._appender.close).result()
            self._thread.shutdown(wait=True)
        if self._thread_engine is not None:
            self._thread_engine.dispose()

    async def open(self, workspace_id: str, path: str) -> StoredDocument:
        """The stored state of a document, creating its row on first use."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(documents).where(
                        documents.c.workspace_id == workspace_id, documents.c.path == path
                    )
                )
            ).first()
            if row is None:
                now = utcnow()
                try:
                    async with conn.begin_nested():
                        doc_id = (
                            await conn.execute(
                                insert(documents)
                                .values(
                                    workspace_id=workspace_id,
                                    path=path,
                                    epoch=1,
                                    retired_clients=[],
                                    snapshot=None,
                                    snapshot_upto=0,
                                    created_at=now,
                                    updated_at=now,
                                )
                                .returning(documents.c.id)
                            )
                        ).scalar_one()
                    return StoredDocument(id=doc_id, epoch=1)
                except IntegrityError:  # another node created it first
                    row = (
                        await conn.execute(
                            select(documents).where(
                                documents.c.workspace_id == workspace_id,
                                documents.c.path == path,
                            )
                        )
                    ).one()
            updates = (
                await conn.execute(
                    select(document_updates.c.data)
                    .where(
                        document_updates.c.document_id == row.id,
                        document_updates.c.epoch == row.epoch,
                    )
                    .order_by(document_updates.c.id)
                )
            ).scalars()
            return StoredDocument(
                id=row.id,
                epoch=row.epoch,
                retired_clients=set(row.retired_clients or []),
                snapshot=row.snapshot,
                updates=list(updates),
                disk_text=row.disk_text,
            )

    async def disk_text(self, document_id: int) -> str | None:
        """What the file's owner last wrote to it or merged from it."""
        async with self.engine.connect() as conn:
            return (
                await conn.execute(
                    select(documents.c.disk_text).where(documents.c.id == document_id)
                )
            ).scalar_one_or_none()

    async def set_disk_text(self, document_id: int, text: str) -> None:
        """Remember what the file holds, or is about to hold (it is written before the
        file, so that a node taking the file over knows a write-back when it sees one)."""

        def work(conn: Connection) -> None:
            conn.execute(
                documents.update()
                .where(documents.c.id == document_id)
                .values(disk_text=text, updated_at=utcnow())
            )

        await self._write(work)

    def start_append(self, batch: list[PendingUpdate]) -> asyncio.Future[None]:
        """Start writing a batch of updates in one transaction (the group commit) now;
        the future resolves once it is committed.

        Every update waits for this before anyone sees it, so it is the floor of the
        fan-out latency. On SQLite the rows are appended right here, as one prepared
        INSERT (`_sqlite_log`), and the future is already done; if another connection
        holds the write lock they go to the store's own thread instead, which waits.
        """
        now = utcnow()
        rows = [
            {"document_id": item.document_id, "epoch": item.epoch, "data": item.data,
             "created_at": now}
            for item in batch
        ]  # fmt: skip
        if self._appender is not None:
            loop = asyncio.get_running_loop()
            if self._inline is not None:
                try:
                    self._inline.append(rows)
                except LogBusy:
                    pass
                else:
                    self._after_inline_append()
                    done: asyncio.Future[None] = loop.create_future()
                    done.set_result(None)
                    return done
            return loop.run_in_executor(self._thread, self._appender.append, rows)

        def work(conn: Connection) -> None:
            conn.execute(insert(document_updates), rows)

        return asyncio.ensure_future(self._write(work))

    def _after_inline_append(self) -> None:
        """The inline appender leaves checkpoints to the store's thread (see
        `SqliteAppender`): one every `CHECKPOINT_EVERY` appends keeps the WAL short."""
        self._inline_appends += 1
        if self._inline_appends % CHECKPOINT_EVERY == 0 and self._appender is not None:
            assert self._thread is not None
            self._thread.submit(self._appender.checkpoint).add_done_callback(_log_failure)

    async def append(self, batch: list[PendingUpdate]) -> None:
        await self.start_append(batch)

    async def _write(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in a transaction: on SQLite on the store's own thread, so that the
        log's writes never wait on each other through SQLite's busy back-off (sleeps of
        up to tens of milliseconds); elsewhere on the async engine."""
        if self._thread is None:
            async with self.engine.begin() as conn:
                return await conn.run_sync(work)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._on_thread, work)

    def _on_thread(self, work: Callable[[Connection], T]) -> T:
        assert self._thread_engine is not None
        with self._thread_engine.begin() as conn:
            return work(conn)

    async def log_length(self, document_id: int) -> int:
        async with self.engine.connect() as conn:
            return int(
                (
                    await conn.execute(
                        select(func.count())
                        .select_from(document_updates)
                        .where(document_updates.c.document_id == document_id)
                    )
                ).scalar_one()
            )

    async def compact(self, document_id: int) -> int:
        """Fold the log into the snapshot, from what is stored (not from memory), so any
        node may compact any document. Returns how many updates were folded."""
        return await self._write(lambda conn: _compact(conn, document_id))

    async def rebuild(self, document_id: int, retired: set[int]) -> int:
        """Start a new epoch with an empty history; returns the new epoch."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(documents).where(documents.c.id == document_id).with_for_update()
                )
            ).one()
            epoch = row.epoch + 1
            await conn.execute(
                documents.update()
                .where(documents.c.id == document_id)
                .values(
                    epoch=epoch,
                    retired_clients=sorted(set(row.retired_clients or []) | retired),
                    snapshot=None,
                    snapshot_upto=0,
                    updated_at=utcnow(),
                )
            )
            await conn.execute(
                delete(document_updates).where(document_updates.c.document_id == document_id)
            )
        return epoch

    async def retire(self, workspace_id: str, path: str) -> list[str]:
        """Start over the documents at `path` and below (the file or folder was deleted
        or moved): empty history in a new epoch, so that a client still holding the old
        history is refused instead of bringing the file back. Returns their paths."""
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(documents.c.id, documents.c.path, documents.c.snapshot).where(
                        documents.c.workspace_id == workspace_id,
                        or_(documents.c.path == path, documents.c.path.startswith(f"{path}/")),
                    )
                )
            ).all()
        retired = []
        for row in rows:
            async with self.engine.connect() as conn:
                updates = (
                    await conn.execute(
                        select(document_updates.c.data).where(
                            document_updates.c.document_id == row.id
                        )
                    )
                ).scalars()
                clients = _clients_of(row.snapshot, list(updates))
            await self.rebuild(row.id, clients)
            async with self.engine.begin() as conn:
                await conn.execute(
                    documents.update().where(documents.c.id == row.id).values(disk_text=None)
                )
            retired.append(row.path)
        return retired


def _log_failure(done: Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.warning("checkpointing the document log failed: %r", done.exception())


def _clients_of(snapshot: bytes | None, updates: list[bytes]) -> set[int]:
    """The Yjs client ids that wrote any of this history."""
    doc: Doc[Any] = Doc()
    for update in [snapshot, *updates]:
        if update:
            doc.apply_update(update)
    return set(read_state_vector(doc.get_state()))


def _compact(conn: Connection, document_id: int) -> int:
    row = conn.execute(
        select(documents).where(documents.c.id == document_id).with_for_update()
    ).one()
    rows = conn.execute(
        select(document_updates.c.id, document_updates.c.data)
        .where(
            document_updates.c.document_id == document_id,
            document_updates.c.epoch == row.epoch,
        )
        .order_by(document_updates.c.id)
    ).all()
    if not rows:
        return 0
    doc: Doc[Any] = Doc()
    if row.snapshot:
        doc.apply_update(row.snapshot)
    for update in rows:
        doc.apply_update(update.data)
    upto = rows[-1].id
    conn.execute(
        documents.update()
        .where(documents.c.id == document_id)
        .values(snapshot=doc.get_update(), snapshot_upto=upto, updated_at=utcnow())
    )
    conn.execute(
        delete(document_updates).where(
            document_updates.c.document_id == document_id, document_updates.c.id <= upto
        )
    )
    return len(rows)
