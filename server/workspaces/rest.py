"""Workspaces, members, presence and the audit trail over REST."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

from server.api import Caller, InWorkspace, Need, Platform, api_router
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
    """The workspaces the caller belongs to (all of them for an admin; only its own for
    a key scoped to one workspace)."""
    return await nexus.access.visible(user)


@router.get(ONE, response_model=Workspace)
async def get_workspace(call: InWorkspace) -> Workspace:
    """One workspace."""
    return (await call.access(Role.viewer)).workspace


@router.delete(ONE, status_code=204)
async def delete_workspace(call: InWorkspace) -> None:
    """Delete a workspace record and its memberships (owner); its files stay on disk."""
    access = await call.access(Role.owner)
    await call.nexus.workspaces.delete(access.workspace.id)
    await call.audit("workspace.delete", workspace_id=access.workspace.id)


@router.get(f"{ONE}/members", response_model=list[Member])
async def list_members(call: InWorkspace) -> list[Member]:
    """Members and their roles."""
    access = await call.access(Role.viewer)
    return await call.nexus.workspaces.members(access.workspace.id)


@router.post(
    f"{ONE}/members",
    response_model=Member,
    status_code=201,
    responses={200: {"model": Member, "description": "An existing member's role was changed"}},
)
async def add_member(body: MemberArgs, call: InWorkspace, service: Workspaces) -> JSONResponse:
    """Invite a user with a role, or change a member's role (owner); 201 when new."""
    access = await call.access(Role.owner)
    member, created = await service.set_member(
        call.user, access.workspace.id, body.username, body.role, source="rest"
    )
    return JSONResponse(member.model_dump(mode="json"), status_code=201 if created else 200)


@router.delete(f"{ONE}/members/{{username}}", status_code=204)
async def remove_member(username: str, call: InWorkspace, service: Workspaces) -> None:
    """Remove a member (owner); the last owner stays."""
    access = await call.access(Role.owner)
    await service.remove_member(call.user, access.workspace.id, username, source="rest")


@router.get(f"{ONE}/presence", response_model=list[PresentUser])
async def presence(call: InWorkspace) -> list[PresentUser]:
    """Who has the workspace open right now."""
    access = await call.access(Role.viewer)
    return await call.nexus.presence.users(access.workspace.id)


@router.get(f"{ONE}/audit", response_model=list[AuditEntry])
async def audit(query: Annotated[AuditQuery, Query()], call: InWorkspace) -> list[AuditEntry]:
    """The workspace's audit trail, newest first (owner)."""
    access = await call.access(Role.owner)
    return await call.nexus.audit.entries(workspace_id=access.workspace.id, limit=query.limit)
