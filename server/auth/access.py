"""The one authorization check used by every REST route and every socket event."""

from __future__ import annotations

from dataclasses import dataclass

from server.auth.principal import Principal
from server.bus import Event
from server.errors import Forbidden, NotFound
from server.models import Role, Workspace
from server.storage import WorkspaceStore


class MembershipChanged(Event):
    """A member was added, removed or given another role (`role` None when removed).
    Published by whoever changes membership; the hub keeps joined sessions' roles current."""

    workspace_id: str
    user_id: int
    username: str
    role: Role | None


@dataclass(frozen=True, slots=True)
class WorkspaceAccess:
    workspace: Workspace
    role: Role


class AccessControl:
    def __init__(self, workspaces: WorkspaceStore) -> None:
        self.workspaces = workspaces

    async def require(
        self, principal: Principal, workspace_id: str, needed: Role
    ) -> WorkspaceAccess:
        """The caller's access to a workspace: `NotFound` if it does not exist, `Forbidden`
        if the caller's role is below `needed`. Admins act as owners everywhere. A scoped
        key's role is capped at its scope, and any workspace but its own is `NotFound`
        with the same message as an unknown one, so a key cannot probe which exist."""
        if principal.workspace is not None and workspace_id != principal.workspace:
            raise NotFound(f"no workspace with id {workspace_id!r}")
        workspace = await self.workspaces.get(workspace_id)
        if principal.user.is_admin:
            role = Role.owner
        else:
            member = await self.workspaces.role_of(workspace_id, principal.user.id)
            if member is None:
                raise Forbidden("you are not a member of this workspace")
            role = member
        role = principal.cap(role)
        if not role.allows(needed):
            if principal.role is not None and principal.role.rank < needed.rank:
                raise Forbidden(
                    f"this needs the {needed.value} role; this key is limited to {role.value}"
                )
            raise Forbidden(f"this needs the {needed.value} role; you are {role.value}")
        return WorkspaceAccess(workspace, role)

    async def visible(self, principal: Principal) -> list[Workspace]:
        """The workspaces the caller may open: its memberships (all for an admin), and
        only its own for a key scoped to one."""
        if principal.workspace is not None:
            try:
                access = await self.require(principal, principal.workspace, Role.viewer)
            except (NotFound, Forbidden):
                return []
            return [access.workspace]
        return await self.workspaces.list_for(
            None if principal.user.is_admin else principal.user.id
        )

    @staticmethod
    def require_admin(principal: Principal) -> None:
        if not principal.is_admin:
            raise Forbidden("only an admin can do this")
