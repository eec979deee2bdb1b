"""Per-workspace AI preferences set by the owner (for now: secret redaction on or off)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.database import utcnow
from server.storage.tables import ai_workspace_settings


class Preferences:
    def __init__(self, engine: AsyncEngine, redact_by_default: bool) -> None:
        self.engine = engine
        self.default = redact_by_default
        self._redact: dict[str, bool] = {}

    async def redact(self, workspace_id: str) -> bool:
        cached = self._redact.get(workspace_id)
        if cached is not None:
            return cached
        query = select(ai_workspace_settings.c.redact_secrets).where(
            ai_workspace_settings.c.workspace_id == workspace_id
        )
        async with self.engine.connect() as conn:
            value = (await conn.execute(query)).scalar_one_or_none()
        return self._redact.setdefault(workspace_id, self.default if value is None else value)

    async def set_redact(self, workspace_id: str, enabled: bool) -> None:
        async with self.engine.begin() as conn:
            updated = await conn.execute(
                ai_workspace_settings.update()
                .where(ai_workspace_settings.c.workspace_id == workspace_id)
                .values(redact_secrets=enabled, updated_at=utcnow())
            )
            if updated.rowcount == 0:
                await conn.execute(
                    ai_workspace_settings.insert().values(
                        workspace_id=workspace_id, redact_secrets=enabled, updated_at=utcnow()
                    )
                )
        self._redact[workspace_id] = enabled
