"""Workspace text search over REST: the same function and arguments as `search.workspace`.

`POST /api/v1/workspaces/{id}/search` (no `/text`) is kept for semantic code search.
"""

from __future__ import annotations

from server.api._routing import Api, ApiCall
from server.models import Role
from server.workspaces.search import SearchArgs, SearchResult, search_workspace

api = Api("search")


@api.post("/api/v1/workspaces/{workspace_id}/search/text", body=SearchArgs, response=SearchResult)
async def search_text(call: ApiCall) -> SearchResult:
    """Find text in the workspace's files (viewer): literal or regex, bounded in size and time."""
    access = await call.services.access.require(call.user, call.params["workspace_id"], Role.viewer)
    return await search_workspace(call.services, access.workspace, call.body)
