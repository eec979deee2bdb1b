"""AI edits as proposals: every collaborator sees one (`ai:proposal`), an editor accepts
or rejects it (`ai:proposalResolved`), and an accepted one can be undone. Accepting
merges the proposal into the live collaborative document as a minimal diff, three-way
against the text it was made from, so what people typed meanwhile is kept.

Proposals live in the database (`ai_proposals`), so a pending one survives a restart and
any node can resolve it: each resolution first moves the stored status with a
conditional update (pending → accepted, …), so of two nodes accepting at once exactly
one applies the edit; the edit itself goes through the collaborative room, which
converges across nodes."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import difflib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.collab.room import Room, RoomKey
from server.collab.text import merge3
from server.errors import Conflict, InvalidInput, NotFound
from server.folders.paths import resolve_in_workspace
from server.storage.database import as_utc, utcnow
from server.storage.tables import ai_proposals

if TYPE_CHECKING:
    from server.collab.rooms import Rooms
    from server.models import Workspace

Broadcast = Callable[[str, str, dict[str, Any]], Awaitable[None]]
MAX_KEPT = 200  # proposals kept per workspace; the oldest are dropped


class Proposal(BaseModel):
    id: str
    workspace: str
    path: str
    summary: str
    diff: str
    status: str  # pending, accepted, rejected, undone
    author: str  # the user who asked
    model: str
    created_at: float
    resolved_by: str | None = None


@dataclass
class _Entry:
    public: Proposal
    base: str
    content: str
    applied: str | None = None  # the text right after accepting
    before: str | None = None  # the text right before accepting

    @classmethod
    def from_row(cls, row: Row[Any]) -> _Entry:
        public = Proposal(
            id=row.id,
            workspace=row.workspace_id,
            path=row.path,
            summary=row.summary,
            diff=row.diff,
            status=row.status,
            author=row.author,
            model=row.model,
            created_at=as_utc(row.created_at).timestamp(),
            resolved_by=row.resolved_by,
        )
        return cls(public, row.base, row.content, row.applied_text, row.before_text)


def validate(path: str, content: str) -> None:
    """Refuse an edit that breaks the file's syntax (Python, JSON)."""
    if path.endswith((".py", ".pyi")):
        try:
            ast.parse(content, filename=path)
        except SyntaxError as exc:
            raise InvalidInput(
                f"the edit does not parse: {path} line {exc.lineno}: {exc.msg}"
            ) from None
    elif path.endswith(".json"):
        try:
            json.loads(content)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"the edit is not valid JSON: {exc}") from None


def unified_diff(path: str, old: str, new: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
        )
    )


@contextlib.asynccontextmanager
async def live_document(
    rooms: Rooms, workspace: Workspace, path: str
) -> AsyncIterator[tuple[str, Room]]:
    """The collaborative document of a file (loaded if nobody has it open)."""
    root = Path(workspace.path)
    relative, absolute = resolve_in_workspace(root, path)
    room = await rooms.acquire(RoomKey(workspace.id, relative), absolute, root)
    try:
        yield relative, room
    finally:
        await rooms.release(room)


class Proposals:
    def __init__(self, engine: AsyncEngine, rooms: Rooms, broadcast: Broadcast) -> None:
        self.engine = engine
        self.rooms = rooms  # the live documents an accepted proposal edits
        self.broadcast = broadcast

    async def propose(
        self,
        workspace: Workspace,
        path: str,
        content: str,
        *,
        summary: str,
        author: str,
        model: str,
        replace: tuple[str, str] | None = None,
    ) -> Proposal:
        """Make a proposal from the document's current text: `content` is the whole new
        text, or `replace` = (old, new) replaces one exact occurrence of `old`."""
        async with live_document(self.rooms, workspace, path) as (relative, room):
            base = room.source
        if replace is not None:
            old, new = replace
            count = base.count(old) if old else 0
            if count != 1:
                raise InvalidInput(
                    f"`old` must occur exactly once in {relative} (found {count} times)"
                )
            content = base.replace(old, new, 1)
        if content == base:
            raise InvalidInput("the edit changes nothing")
        validate(relative, content)
        created = utcnow()
        proposal = Proposal(
            id=uuid.uuid4().hex[:16],
            workspace=workspace.id,
            path=relative,
            summary=summary[:500],
            diff=unified_diff(relative, base, content),
            status="pending",
            author=author[:64],
            model=model[:160],
            created_at=created.timestamp(),
        )
        async with self.engine.begin() as conn:
            await conn.execute(
                ai_proposals.insert().values(
                    id=proposal.id,
                    workspace_id=proposal.workspace,
                    path=proposal.path,
                    summary=proposal.summary,
                    diff=proposal.diff,
                    status=proposal.status,
                    author=proposal.author,
                    model=proposal.model,
                    base=base,
                    content=content,
                    created_at=created,
                )
            )
            await _prune(conn, workspace.id)
        await self.broadcast(workspace.id, "ai:proposal", proposal.model_dump(mode="json"))
        return proposal

    async def list(self, workspace_id: str) -> list[Proposal]:
        query = (
            select(ai_proposals)
            .where(ai_proposals.c.workspace_id == workspace_id)
            .order_by(ai_proposals.c.created_at)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_Entry.from_row(row).public for row in rows]

    async def get(self, workspace_id: str, proposal_id: str) -> _Entry:
        query = select(ai_proposals).where(
            ai_proposals.c.id == proposal_id, ai_proposals.c.workspace_id == workspace_id
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(f"no proposal {proposal_id!r} in this workspace")
        return _Entry.from_row(row)

    async def accept(self, workspace: Workspace, proposal_id: str, username: str) -> Proposal:
        entry = await self._claim(workspace.id, proposal_id, "pending", "accepted", username)
        applying = False
        try:
            async with live_document(self.rooms, workspace, entry.public.path) as (_, room):
                # No await between reading the text and replacing it: nothing typed
                # meanwhile can be lost.
                current = room.source
                merged = (
                    entry.content
                    if current == entry.base
                    else merge3(entry.base, current, entry.content)
                )
                validate(entry.public.path, merged)
                applying = True
                await room.replace_text(merged)
        except BaseException:
            if not applying:  # nothing changed: leave it pending for another try
                await asyncio.shield(
                    self._move(workspace.id, proposal_id, "accepted", "pending", None)
                )
            raise
        await self._record_applied(proposal_id, before=current, applied=merged)
        return await self._announce(entry, "accepted", username)

    async def reject(self, workspace_id: str, proposal_id: str, username: str) -> Proposal:
        entry = await self._claim(workspace_id, proposal_id, "pending", "rejected", username)
        return await self._announce(entry, "rejected", username)

    async def undo(self, workspace: Workspace, proposal_id: str, username: str) -> Proposal:
        """Take an accepted proposal back out, keeping edits made since."""
        entry = await self._claim(workspace.id, proposal_id, "accepted", "undone", username)
        if entry.applied is None or entry.before is None:  # accepted elsewhere a moment ago
            accepter = entry.public.resolved_by
            await self._move(workspace.id, proposal_id, "undone", "accepted", accepter)
            raise Conflict("this proposal is still being applied; try again")
        applied, before = entry.applied, entry.before
        applying = False
        try:
            async with live_document(self.rooms, workspace, entry.public.path) as (_, room):
                reverted = merge3(applied, room.source, before)
                applying = True
                await room.replace_text(reverted)
        except BaseException:
            if not applying:  # nothing changed: it stays accepted
                accepter = entry.public.resolved_by
                await asyncio.shield(
                    self._move(workspace.id, proposal_id, "undone", "accepted", accepter)
                )
            raise
        return await self._announce(entry, "undone", username)

    async def _claim(
        self, workspace_id: str, proposal_id: str, expected: str, status: str, username: str
    ) -> _Entry:
        """Move the stored status from `expected` to `status`, or say why not; whoever
        moves it (on any node) is the one who acts on it."""
        entry = await self.get(workspace_id, proposal_id)
        if entry.public.status == expected and await self._move(
            workspace_id, proposal_id, expected, status, username
        ):
            return entry
        current = (await self.get(workspace_id, proposal_id)).public.status
        if expected == "accepted":
            raise Conflict(f"only an accepted proposal can be undone (this one is {current})")
        raise Conflict(f"this proposal is already {current}")

    async def _move(
        self,
        workspace_id: str,
        proposal_id: str,
        expected: str,
        status: str,
        username: str | None,
    ) -> bool:
        statement = (
            update(ai_proposals)
            .where(
                ai_proposals.c.id == proposal_id,
                ai_proposals.c.workspace_id == workspace_id,
                ai_proposals.c.status == expected,
            )
            .values(
                status=status,
                resolved_by=username,
                resolved_at=utcnow() if username is not None else None,
            )
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(statement)).rowcount == 1

    async def _record_applied(self, proposal_id: str, *, before: str, applied: str) -> None:
        statement = (
            update(ai_proposals)
            .where(ai_proposals.c.id == proposal_id)
            .values(before_text=before, applied_text=applied)
        )
        async with self.engine.begin() as conn:
            await conn.execute(statement)

    async def _announce(self, entry: _Entry, status: str, username: str) -> Proposal:
        public = entry.public.model_copy(update={"status": status, "resolved_by": username})
        await self.broadcast(
            public.workspace,
            "ai:proposalResolved",
            {
                "id": public.id,
                "workspace": public.workspace,
                "path": public.path,
                "status": status,
                "by": username,
            },
        )
        return public


async def _prune(conn: AsyncConnection, workspace_id: str) -> None:
    """Keep the newest MAX_KEPT proposals of a workspace."""
    cutoff = (
        await conn.execute(
            select(ai_proposals.c.created_at)
            .where(ai_proposals.c.workspace_id == workspace_id)
            .order_by(ai_proposals.c.created_at.desc())
            .offset(MAX_KEPT)
            .limit(1)
        )
    ).scalar()
    if cutoff is not None:
        await conn.execute(
            delete(ai_proposals).where(
                ai_proposals.c.workspace_id == workspace_id,
                ai_proposals.c.created_at <= cutoff,
            )
        )
