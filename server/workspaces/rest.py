"""Workspaces, members, presence and the audit trail over REST."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from server.api import Caller, Need, Platform, RequestId, api_router
from server.hub.presence import PresentUser
from server.models import AuditEntry, Member, Role, Workspace
from server.workspaces.commands import MemberArgs
from server.workspaces.service import NAME_PATTERN, WorkspaceService

router = api_router("workspaces")
Workspaces = Annotated[WorkspaceService, Need(WorkspaceService)]
ONE = "/api/v1/workspaces/{workspace_id}"


class CreateWorkspace(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(100, ge=1, le=1000)


@router.post("/api/v1/workspaces", response_model=Workspace, status_code=201)
async def create_workspace(body: CreateWorkspace, user: Caller, service: Workspaces) -> Workspace:
    """Create a workspace (its folder under the workspace root); the caller owns it."""
    return await service.create(user, body.name, source="rest")


@router.get("/api/v1/workspaces", response_model=list[Workspace])
async def list_workspaces(user: Caller, nexus: Platform) -> list[Workspace]:
    """The workspaces the caller belongs to (all of them for an admin)."""
    return await nexus.workspaces.list_for(None if user.is_admin else user.user.id)


@router.get(ONE, response_model=Workspace)
async def get_workspace(workspace_id: str, user: Caller, nexus: Platform) -> Workspace:
    """One workspace."""
    return (await nexus.access.require(user, workspace_id, Role.viewer)).workspace


@router.delete(ONE, status_code=204)
async def delete_workspace(
    workspace_id: str, user: Caller, nexus: Platform, request_id: RequestId
) -> None:
    """Delete a workspace record and its memberships (owner); its files stay on disk."""
    access = await nexus.access.require(user, workspace_id, Role.owner)
    await nexus.workspaces.delete(access.workspace.id)
    await nexus.audit.record(
        "workspace.delete",
        user=user.user,
        source="rest",
        workspace_id=access.workspace.id,
        request_id=request_id,
    )


@router.get(f"{ONE}/members", response_model=list[Member])
async def list_members(workspace_id: str, user: Caller, nexus: Platform) -> list[Member]:
    """Members and their roles."""
    access = await nexus.access.require(user, workspace_id, Role.viewer)
    return await nexus.workspaces.members(access.workspace.id)


@router.post(f"{ONE}/members", response_model=Member, status_code=201)
async def add_member(
    workspace_id: str, body: MemberArgs, user: Caller, nexus: Platform, service: Workspaces
) -> JSONResponse:
    """Invite a user with a role, or change a member's role (owner); 201 when new."""
    access = await nexus.access.require(user, workspace_id, Role.owner)
    member, created = await service.set_member(
        user, access.workspace.id, body.username, body.role, source="rest"
    )
    return JSONResponse(member.model_dump(mode="json"), status_code=201 if created else 200)


@router.delete(f"{ONE}/members/{{username}}", status_code=204)
async def remove_member(
    workspace_id: str, username: str, user: Caller, nexus: Platform, service: Workspaces
) -> None:
    """Remove a member (owner); the last owner stays."""
    access = await nexus.access.require(user, workspace_id, Role.owner)
    await service.remove_member(user, access.workspace.id, username, source="rest")


@router.get(f"{ONE}/presence", response_model=list[PresentUser])
async def presence(workspace_id: str, user: Caller, nexus: Platform) -> list[PresentUser]:
    """Who has the workspace open right now."""
    access = await nexus.access.require(user, workspace_id, Role.viewer)
    return await nexus.presence.users(access.workspace.id)


@router.get(f"{ONE}/audit", response_model=list[AuditEntry])
async def audit(
    workspace_id: str, query: Annotated[AuditQuery, Query()], user: Caller, nexus: Platform
) -> list[AuditEntry]:
    """The workspace's audit trail, newest first (owner)."""
    access = await nexus.access.require(user, workspace_id, Role.owner)
    return await nexus.audit.entries(workspace_id=access.workspace.id, limit=query.limit)
