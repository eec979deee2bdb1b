"""`POST /api/v1/workspaces/{id}/search` {query, k} → {results: [{path, start_line,
end_line, score, snippet}], state}: the codebase index over REST."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict

from server.api import Caller, Need, Platform, api_router
from server.index.commands import SemanticArgs
from server.index.workspaces import SearchResults, WorkspaceIndexes
from server.models import Role

router = api_router("search")


class SearchBody(SemanticArgs):
    model_config = ConfigDict(extra="forbid", title="SemanticSearch")


@router.post("/api/v1/workspaces/{workspace_id}/search", response_model=SearchResults)
async def search_code(
    workspace_id: str,
    body: SearchBody,
    user: Caller,
    nexus: Platform,
    indexes: Annotated[WorkspaceIndexes, Need(WorkspaceIndexes)],
) -> SearchResults:
    """Find the code a question means (viewer): functions, methods and classes, best first.
    Answers from what is indexed so far; `state` says how far indexing has come."""
    access = await nexus.access.require(user, workspace_id, Role.viewer)
    return await indexes.search(access.workspace, body.query, body.k)
