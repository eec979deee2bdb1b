"""The one authorization check used by every REST route and every socket event."""

from __future__ import annotations

from dataclasses import dataclass

from server.auth.principal import Principal
from server.bus import Event
from server.errors import Forbidden
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
        if the caller's role is below `needed`. Admins act as owners everywhere."""
        workspace = await self.workspaces.get(workspace_id)
        if principal.is_admin:
            return WorkspaceAccess(workspace, Role.owner)
        role = await self.workspaces.role_of(workspace_id, principal.user.id)
        if role is None:
            raise Forbidden("you are not a member of this workspace")
        if not role.allows(needed):
            raise Forbidden(f"this needs the {needed.value} role; you are {role.value}")
        return WorkspaceAccess(workspace, role)

    @staticmethod
    def require_admin(principal: Principal) -> None:
        if not principal.is_admin:
            raise Forbidden("only an admin can do this")
