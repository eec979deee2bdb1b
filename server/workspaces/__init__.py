"""Workspaces: creating them, their members and roles (`service.py`), as commands
(`commands.py`) and over REST (`rest.py`); `feature.py` plugs them into the server."""

from server.workspaces.service import WorkspaceService

__all__ = ["WorkspaceService"]
