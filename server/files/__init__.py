"""Workspace files for the explorer and outside programs: `service.py` (`WorkspaceFiles`:
list, read, write guarded by ETags, delete, folders, moves, in step with live documents),
`commands.py` (`files.*`), `rest.py` (REST), `socketio.py` (`explorer:changed`);
`feature.py` plugs them into the server."""

from server.files.service import Entry, FileText, FileVersion, Folder, WorkspaceFiles

__all__ = ["Entry", "FileText", "FileVersion", "Folder", "WorkspaceFiles"]
