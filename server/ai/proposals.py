"""AI edits as proposals: every collaborator sees one (`ai:proposal`), an editor accepts
or rejects it (`ai:proposalResolved`), and an accepted one can be undone. Accepting
merges the proposal into the live collaborative document as a minimal diff, three-way
against the text it was made from, so what people typed meanwhile is kept."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import difflib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from server.collab.room import Room, RoomKey
from server.collab.text import merge3
from server.errors import Conflict, InvalidInput, NotFound
from server.workspaces.paths import resolve_in_workspace

if TYPE_CHECKING:
    from server.models import Workspace
    from server.services import Services

Broadcast = Callable[[str, str, dict[str, Any]], Awaitable[None]]
MAX_OPEN = 200  # pending proposals kept per workspace; the oldest are dropped


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
    services: Services, workspace: Workspace, path: str
) -> AsyncIterator[tuple[str, Room]]:
    """The collaborative document of a file (loaded if nobody has it open)."""
    root = Path(workspace.path)
    relative, absolute = resolve_in_workspace(root, path)
    room = await services.rooms.acquire(RoomKey(workspace.id, relative), absolute, root)
    try:
        yield relative, room
    finally:
        await services.rooms.release(room)


class Proposals:
    def __init__(self, broadcast: Broadcast) -> None:
        self.broadcast = broadcast
        self._by_workspace: dict[str, dict[str, _Entry]] = {}
        self._lock = asyncio.Lock()

    async def propose(
        self,
        services: Services,
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
        async with live_document(services, workspace, path) as (relative, room):
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
        proposal = Proposal(
            id=uuid.uuid4().hex[:16],
            workspace=workspace.id,
            path=relative,
            summary=summary[:500],
            diff=unified_diff(relative, base, content),
            status="pending",
            author=author,
            model=model,
            created_at=time.time(),
        )
        entries = self._by_workspace.setdefault(workspace.id, {})
        entries[proposal.id] = _Entry(proposal, base, content)
        while len(entries) > MAX_OPEN:
            entries.pop(next(iter(entries)))
        await self.broadcast(workspace.id, "ai:proposal", proposal.model_dump(mode="json"))
        return proposal

    def list(self, workspace_id: str) -> list[Proposal]:
        return [e.public for e in self._by_workspace.get(workspace_id, {}).values()]

    def get(self, workspace_id: str, proposal_id: str) -> _Entry:
        entry = self._by_workspace.get(workspace_id, {}).get(proposal_id)
        if entry is None:
            raise NotFound(f"no proposal {proposal_id!r} in this workspace")
        return entry

    async def accept(
        self, services: Services, workspace: Workspace, proposal_id: str, username: str
    ) -> Proposal:
        async with self._lock:
            entry = self._pending(workspace.id, proposal_id)
            async with live_document(services, workspace, entry.public.path) as (_, room):
                current = room.source
                merged = (
                    entry.content
                    if current == entry.base
                    else merge3(entry.base, current, entry.content)
                )
                validate(entry.public.path, merged)
                await room.replace_text(merged)
            entry.before, entry.applied = current, merged
            return await self._resolve(entry, "accepted", username)

    async def reject(self, workspace_id: str, proposal_id: str, username: str) -> Proposal:
        async with self._lock:
            entry = self._pending(workspace_id, proposal_id)
            return await self._resolve(entry, "rejected", username)

    async def undo(
        self, services: Services, workspace: Workspace, proposal_id: str, username: str
    ) -> Proposal:
        """Take an accepted proposal back out, keeping edits made since."""
        async with self._lock:
            entry = self.get(workspace.id, proposal_id)
            if entry.public.status != "accepted" or entry.applied is None or entry.before is None:
                raise Conflict("only an accepted proposal can be undone")
            async with live_document(services, workspace, entry.public.path) as (_, room):
                await room.replace_text(merge3(entry.applied, room.source, entry.before))
            return await self._resolve(entry, "undone", username)

    def _pending(self, workspace_id: str, proposal_id: str) -> _Entry:
        entry = self.get(workspace_id, proposal_id)
        if entry.public.status != "pending":
            raise Conflict(f"this proposal is already {entry.public.status}")
        return entry

    async def _resolve(self, entry: _Entry, status: str, username: str) -> Proposal:
        entry.public = entry.public.model_copy(update={"status": status, "resolved_by": username})
        await self.broadcast(
            entry.public.workspace,
            "ai:proposalResolved",
            {
                "id": entry.public.id,
                "workspace": entry.public.workspace,
                "path": entry.public.path,
                "status": status,
                "by": username,
            },
        )
        return entry.public
