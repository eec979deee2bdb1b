"""Commands about the workspace itself: who is in it and who may do what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from server.core import CommandContext, Commands
from server.hub.presence import MemoryPresence, PresentUser
from server.models import Member, Role

if TYPE_CHECKING:
    from server.workspaces.service import WorkspaceService

commands = Commands()


@dataclass(frozen=True)
class Membership:
    """What the commands use: the workspace service and who is online."""

    service: WorkspaceService
    presence: MemoryPresence


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


@commands.command("workspace.info", title="Workspace info", role=Role.viewer)
async def workspace_info(ctx: CommandContext[Membership]) -> WorkspaceInfo:
    """The workspace's id, name, folder, and the caller's role in it."""
    workspace = ctx.access.workspace
    return WorkspaceInfo(
        id=workspace.id, name=workspace.name, path=workspace.path, role=ctx.access.role
    )


@commands.command("workspace.members", title="List members", role=Role.viewer)
async def list_members(ctx: CommandContext[Membership]) -> list[Member]:
    """Everyone who belongs to the workspace, with their roles."""
    return await ctx.feature.service.workspaces.members(ctx.workspace_id)


@commands.command("workspace.setMember", title="Invite or change a member", role=Role.owner)
async def set_member(ctx: CommandContext[Membership], args: MemberArgs) -> Member:
    """Invite a user, or give a member another role."""
    member, _ = await ctx.feature.service.set_member(
        ctx.principal, ctx.workspace_id, args.username, args.role, source=ctx.source
    )
    return member


@commands.command("workspace.removeMember", title="Remove a member", role=Role.owner)
async def remove_member(ctx: CommandContext[Membership], args: UsernameArgs) -> dict[str, str]:
    """Take a user out of the workspace (the last owner cannot be removed)."""
    await ctx.feature.service.remove_member(
        ctx.principal, ctx.workspace_id, args.username, source=ctx.source
    )
    return {"removed": args.username}


@commands.command("presence.list", title="Who is here", role=Role.viewer)
async def list_present(ctx: CommandContext[Membership]) -> list[PresentUser]:
    """Who has the workspace open right now, on any node."""
    return await ctx.feature.presence.users(ctx.workspace_id)
