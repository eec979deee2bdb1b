"""A workspace's breakpoints, in the database: they outlive debug sessions and restarts,
and every node sees the same ones."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.tables import debug_breakpoints as table


class BreakpointStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def load(self, workspace_id: str) -> dict[str, set[int]]:
        """Lines by file."""
        query = select(table.c.path, table.c.line).where(table.c.workspace_id == workspace_id)
        found: dict[str, set[int]] = defaultdict(set)
        async with self.engine.connect() as conn:
            for path, line in await conn.execute(query):
                found[path].add(line)
        return dict(found)

    async def toggle(self, workspace_id: str, path: str, line: int) -> bool:
        """Clear the breakpoint at `line` if there is one, else set it; True if now set."""
        where = (
            (table.c.workspace_id == workspace_id) & (table.c.path == path) & (table.c.line == line)
        )
        async with self.engine.begin() as conn:
            if (await conn.execute(delete(table).where(where))).rowcount:
                return False
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    table.insert().values(workspace_id=workspace_id, path=path, line=line)
                )
        except IntegrityError:
            pass  # someone set it in between: set, either way
        return True
