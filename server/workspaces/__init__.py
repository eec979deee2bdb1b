"""Workspaces: their folders on disk, members and roles, and the commands about them."""

from server.workspaces.commands import register_workspace_commands
from server.workspaces.service import MembershipChanged, WorkspaceService

__all__ = ["MembershipChanged", "WorkspaceService", "register_workspace_commands"]
