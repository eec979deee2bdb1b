"""The audit log: who did what, where, from which surface, and whether it worked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.models import AuditEntry, User
from server.storage.database import as_utc, utcnow
from server.storage.tables import audit_log


class AuditLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def record(
        self,
        action: str,
        *,
        user: User | None,
        source: str,
        ok: bool = True,
        workspace_id: str | None = None,
        detail: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                audit_log.insert().values(
                    at=utcnow(),
                    user_id=user.id if user else None,
                    username=user.username if user else None,
                    workspace_id=workspace_id,
                    action=action,
                    source=source,
                    ok=ok,
                    detail=detail,
                    request_id=request_id,
                )
            )

    async def entries(
        self, *, workspace_id: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if workspace_id is not None:
            query = query.where(audit_log.c.workspace_id == workspace_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            AuditEntry(
                id=row.id,
                at=as_utc(row.at),
                username=row.username,
                workspace_id=row.workspace_id,
                action=row.action,
                source=row.source,
                ok=row.ok,
                detail=row.detail,
                request_id=row.request_id,
            )
            for row in rows
        ]
