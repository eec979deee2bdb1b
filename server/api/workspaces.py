"""Workspaces, members, presence and the audit trail over REST."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from server.api._routing import Api, ApiCall
from server.hub.presence import PresentUser
from server.models import AuditEntry, Member, Role, Workspace
from server.workspaces.commands import MemberArgs
from server.workspaces.service import NAME_PATTERN

api = Api("workspaces")


class CreateWorkspace(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(100, ge=1, le=1000)


@api.post("/api/v1/workspaces", body=CreateWorkspace, response=Workspace, status=201)
async def create_workspace(call: ApiCall) -> Workspace:
    """Create a workspace (its folder under the workspace root); the caller owns it."""
    return await call.services.workspace_service.create(call.user, call.body.name, source="rest")


@api.get("/api/v1/workspaces", response=list[Workspace])
async def list_workspaces(call: ApiCall) -> list[Workspace]:
    """The workspaces the caller belongs to (all of them for an admin)."""
    user = call.user
    return await call.services.workspaces.list_for(None if user.is_admin else user.user.id)


@api.get("/api/v1/workspaces/{workspace_id}", response=Workspace)
async def get_workspace(call: ApiCall) -> Workspace:
    """One workspace."""
    access = await call.services.access.require(call.user, call.params["workspace_id"], Role.viewer)
    return access.workspace


@api.delete("/api/v1/workspaces/{workspace_id}", status=204)
async def delete_workspace(call: ApiCall) -> None:
    """Delete a workspace record and its memberships (owner); its files stay on disk."""
    access = await call.services.access.require(call.user, call.params["workspace_id"], Role.owner)
    await call.services.workspaces.delete(access.workspace.id)
    await call.services.audit.record(
        "workspace.delete",
        user=call.user.user,
        source="rest",
        workspace_id=access.workspace.id,
        request_id=call.request_id,
    )


@api.get("/api/v1/workspaces/{workspace_id}/members", response=list[Member])
async def list_members(call: ApiCall) -> list[Member]:
    """Members and their roles."""
    access = await call.services.access.require(call.user, call.params["workspace_id"], Role.viewer)
    return await call.services.workspaces.members(access.workspace.id)


@api.post("/api/v1/workspaces/{workspace_id}/members", body=MemberArgs, response=Member, status=201)
async def add_member(call: ApiCall) -> JSONResponse:
    """Invite a user with a role, or change a member's role (owner); 201 when new."""
    access = await call.services.access.require(call.user, call.params["workspace_id"], Role.owner)
    member, created = await call.services.workspace_service.set_member(
        call.user, access.workspace.id, call.body.username, call.body.role, source="rest"
    )
    return JSONResponse(member.model_dump(mode="json"), status_code=201 if created else 200)


@api.delete("/api/v1/workspaces/{workspace_id}/members/{username}", status=204)
async def remove_member(call: ApiCall) -> None:
    """Remove a member (owner); the last owner stays."""
    access = await call.services.access.require(call.user, call.params["workspace_id"], Role.owner)
    await call.services.workspace_service.remove_member(
        call.user, access.workspace.id, call.params["username"], source="rest"
    )


@api.get("/api/v1/workspaces/{workspace_id}/presence", response=list[PresentUser])
async def presence(call: ApiCall) -> list[PresentUser]:
    """Who has the workspace open right now."""
    access = await call.services.access.require(call.user, call.params["workspace_id"], Role.viewer)
    return await call.services.presence.users(access.workspace.id)


@api.get("/api/v1/workspaces/{workspace_id}/audit", response=list[AuditEntry], query=AuditQuery)
async def audit(call: ApiCall) -> list[AuditEntry]:
    """The workspace's audit trail, newest first (owner)."""
    access = await call.services.access.require(call.user, call.params["workspace_id"], Role.owner)
    return await call.services.audit.entries(
        workspace_id=access.workspace.id, limit=call.query.limit
    )
