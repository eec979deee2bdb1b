"""Workspace folders on disk, as every feature sees them: paths that cannot leave the
folder, ignore rules, atomic writes, and one watcher per folder in use."""

from server.folders.paths import resolve_in_workspace
from server.folders.watcher import FilesChanged, WorkspaceWatchers

__all__ = ["FilesChanged", "WorkspaceWatchers", "resolve_in_workspace"]
