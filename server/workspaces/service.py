"""Creating workspaces and managing members: one implementation for REST and commands."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from server.auth import MembershipChanged, Principal
from server.bus import Bus
from server.errors import Forbidden, InvalidInput
from server.models import Member, Role, Workspace
from server.storage import AuditLog, UserStore, WorkspaceStore

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)


@dataclass(eq=False)
class WorkspaceService:
    root: Path
    workspaces: WorkspaceStore
    users: UserStore
    audit: AuditLog
    bus: Bus

    async def create(self, principal: Principal, name: str, *, source: str) -> Workspace:
        """A workspace whose folder is `<workspace root>/<name>`; an existing folder of that
        name is adopted, so a project already on disk can be opened as it is. A scoped
        API key cannot: it acts only within the workspace and role it was given."""
        if principal.scoped:
            raise Forbidden("a scoped API key cannot create workspaces")
        if not _NAME.match(name) or name in {".", ".."}:
            raise InvalidInput(
                "name: letters, digits, '.', '_' and '-' only, starting with a letter or digit"
            )
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root):  # an existing symlink pointing elsewhere
            raise Forbidden(f"{name!r} leads outside the workspace root")
        path.mkdir(parents=True, exist_ok=True)
        workspace = await self.workspaces.create(name, path, principal.user.id)
        await self.audit.record(
            "workspace.create",
            user=principal.user,
            source=source,
            workspace_id=workspace.id,
            detail={"name": name},
        )
        return workspace

    async def set_member(
        self, principal: Principal, workspace_id: str, username: str, role: Role, *, source: str
    ) -> tuple[Member, bool]:
        user = await self.users.get_by_name(username)
        member, created = await self.workspaces.set_member(workspace_id, user.id, role)
        await self.audit.record(
            "workspace.member.set",
            user=principal.user,
            source=source,
            workspace_id=workspace_id,
            detail={"username": username, "role": role.value},
        )
        await self.bus.publish(
            f"workspace.{workspace_id}.members",
            MembershipChanged(
                workspace_id=workspace_id, user_id=user.id, username=username, role=role
            ),
        )
        return member, created

    async def remove_member(
        self, principal: Principal, workspace_id: str, username: str, *, source: str
    ) -> None:
        user = await self.users.get_by_name(username)
        await self.workspaces.remove_member(workspace_id, user.id)
        await self.audit.record(
            "workspace.member.remove",
            user=principal.user,
            source=source,
            workspace_id=workspace_id,
            detail={"username": username},
        )
        await self.bus.publish(
            f"workspace.{workspace_id}.members",
            MembershipChanged(
                workspace_id=workspace_id, user_id=user.id, username=username, role=None
            ),
        )
