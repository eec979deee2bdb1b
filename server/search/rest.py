"""Workspace text search over REST: the same function and arguments as `search.workspace`.

`POST /api/v1/workspaces/{id}/search` (no `/text`) is kept for semantic code search.
"""

from __future__ import annotations

from typing import Annotated

from server.api import InWorkspace, Need, api_router
from server.collab import Rooms
from server.models import Role
from server.search.service import SearchArgs, SearchResult, search_workspace

router = api_router("search")


@router.post("/api/v1/workspaces/{workspace_id}/search/text", response_model=SearchResult)
async def search_text(
    body: SearchArgs, call: InWorkspace, rooms: Annotated[Rooms, Need(Rooms)]
) -> SearchResult:
    """Find text in the workspace's files (viewer): literal or regex, bounded in size and time."""
    access = await call.access(Role.viewer)
    return await search_workspace(rooms, access.workspace, body)
