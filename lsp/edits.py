"""Applying a server's `WorkspaceEdit`: open shared documents change through the
collaborative document (every collaborator sees it), closed files atomically on disk.

Every edit is checked and computed first; nothing is applied unless all of it can be.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lsp.text import PositionError, apply_edits
from server.collab.rooms import Rooms
from server.collab.text import merge3
from server.errors import InvalidInput
from server.folders.fileio import write_atomic
from server.folders.paths import resolve_in_workspace


def edits_by_uri(edit: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for uri, edits in (edit.get("changes") or {}).items():
        out.setdefault(uri, []).extend(edits)
    for change in edit.get("documentChanges") or []:
        if "kind" in change:
            raise InvalidInput(f"file operations ({change['kind']}) are not applied")
        out.setdefault(change["textDocument"]["uri"], []).extend(change.get("edits", []))
    return out


async def apply_workspace_edit(
    rooms: Rooms, workspace_id: str, root: Path, edit: dict[str, Any]
) -> list[str]:
    """Apply `edit`; returns the workspace-relative paths that changed."""
    plans: list[tuple[str, Path, str, str]] = []  # (relative, absolute, old, new)
    for uri, edits in edits_by_uri(edit).items():
        path = Path(unquote(urlparse(uri).path))
        try:
            relative, absolute = resolve_in_workspace(root, path.relative_to(root).as_posix())
        except ValueError:
            raise InvalidInput(f"the edit touches {uri}, outside the workspace") from None
        room = rooms.get(workspace_id, relative)
        if room is not None:
            old = room.source
        else:
            old = await asyncio.to_thread(absolute.read_text, encoding="utf-8")
        try:
            new = apply_edits(old, edits)
        except PositionError as exc:
            raise InvalidInput(f"{relative}: {exc}") from None
        if new != old:
            plans.append((relative, absolute, old, new))
    changed = []
    for relative, absolute, old, new in plans:
        room = rooms.get(workspace_id, relative)
        if room is not None:
            # Typed meanwhile? Rebase this edit onto what is there now.
            current = room.source
            await room.replace_text(new if current == old else merge3(old, current, new))
        else:
            await asyncio.to_thread(write_atomic, absolute, new)
        changed.append(relative)
    return changed
