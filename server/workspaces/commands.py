"""Commands about the workspace itself: who is in it and who may do what."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from server.core import CommandContext, CommandRegistry
from server.hub.presence import PresentUser
from server.models import Member, Role


class WorkspaceInfo(BaseModel):
    id: str
    name: str
    path: str
    role: Role


class MemberArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    role: Role


class UsernameArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)


async def workspace_info(ctx: CommandContext) -> WorkspaceInfo:
    """The workspace's id, name, folder, and the caller's role in it."""
    workspace = ctx.access.workspace
    return WorkspaceInfo(
        id=workspace.id, name=workspace.name, path=workspace.path, role=ctx.access.role
    )


async def list_members(ctx: CommandContext) -> list[Member]:
    """Everyone who belongs to the workspace, with their roles."""
    return await ctx.services.workspaces.members(ctx.workspace_id)


async def set_member(ctx: CommandContext, args: MemberArgs) -> Member:
    """Invite a user, or give a member another role."""
    member, _ = await ctx.services.workspace_service.set_member(
        ctx.principal, ctx.workspace_id, args.username, args.role, source=ctx.source
    )
    return member


async def remove_member(ctx: CommandContext, args: UsernameArgs) -> dict[str, str]:
    """Take a user out of the workspace (the last owner cannot be removed)."""
    await ctx.services.workspace_service.remove_member(
        ctx.principal, ctx.workspace_id, args.username, source=ctx.source
    )
    return {"removed": args.username}


async def list_present(ctx: CommandContext) -> list[PresentUser]:
    """Who has the workspace open right now, on any node."""
    return await ctx.services.presence.users(ctx.workspace_id)


def register_workspace_commands(registry: CommandRegistry) -> None:
    registry.add("workspace.info", workspace_info, title="Workspace info", role=Role.viewer)
    registry.add("workspace.members", list_members, title="List members", role=Role.viewer)
    registry.add(
        "workspace.setMember", set_member, title="Invite or change a member", role=Role.owner
    )
    registry.add("workspace.removeMember", remove_member, title="Remove a member", role=Role.owner)
    registry.add("presence.list", list_present, title="Who is here", role=Role.viewer)
