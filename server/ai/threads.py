"""Chat threads and their messages, persisted per workspace."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.errors import NotFound
from server.storage.database import as_utc, utcnow
from server.storage.tables import ai_messages, ai_threads


class ThreadInfo(BaseModel):
    id: str
    title: str
    created_at: datetime
    updated_at: datetime


class ChatMessage(BaseModel):
    id: str
    role: str  # user or assistant
    username: str | None
    content: str
    model: str | None
    usage: dict[str, Any] | None
    created_at: datetime


class ThreadStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def exists(self, workspace_id: str, thread_id: str) -> bool:
        query = select(ai_threads.c.id).where(
            ai_threads.c.id == thread_id, ai_threads.c.workspace_id == workspace_id
        )
        async with self.engine.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def add(
        self,
        workspace_id: str,
        thread_id: str,
        message_id: str,
        *,
        role: str,
        content: str,
        username: str | None,
        user_id: int | None = None,
        model: str | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        """Append a message, creating the thread (titled by it) if it is new."""
        now = utcnow()
        async with self.engine.begin() as conn:
            found = (
                await conn.execute(select(ai_threads.c.id).where(ai_threads.c.id == thread_id))
            ).first()
            if found is None:
                await conn.execute(
                    ai_threads.insert().values(
                        id=thread_id,
                        workspace_id=workspace_id,
                        title=" ".join(content.split())[:80] or "chat",
                        created_by=user_id,
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                await conn.execute(
                    ai_threads.update().where(ai_threads.c.id == thread_id).values(updated_at=now)
                )
            seq = (
                await conn.execute(
                    select(func.coalesce(func.max(ai_messages.c.seq), 0)).where(
                        ai_messages.c.thread_id == thread_id
                    )
                )
            ).scalar_one()
            await conn.execute(
                ai_messages.insert().values(
                    id=message_id,
                    thread_id=thread_id,
                    seq=int(seq) + 1,
                    role=role,
                    username=username,
                    content=content,
                    model=model,
                    usage=usage,
                    created_at=now,
                )
            )

    async def threads(self, workspace_id: str, limit: int = 100) -> list[ThreadInfo]:
        query = (
            select(ai_threads)
            .where(ai_threads.c.workspace_id == workspace_id)
            .order_by(ai_threads.c.updated_at.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            ThreadInfo(
                id=r.id,
                title=r.title,
                created_at=as_utc(r.created_at),
                updated_at=as_utc(r.updated_at),
            )
            for r in rows
        ]

    async def history(
        self, workspace_id: str, thread_id: str, limit: int = 200
    ) -> list[ChatMessage]:
        """The thread's last `limit` messages, oldest first."""
        if not await self.exists(workspace_id, thread_id):
            raise NotFound(f"no chat thread {thread_id!r} in this workspace")
        query = (
            select(ai_messages)
            .where(ai_messages.c.thread_id == thread_id)
            .order_by(ai_messages.c.seq.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            ChatMessage(
                id=r.id,
                role=r.role,
                username=r.username,
                content=r.content,
                model=r.model,
                usage=r.usage,
                created_at=as_utc(r.created_at),
            )
            for r in reversed(rows)
        ]
