"""The code index as the server runs it: one node indexes each workspace (a lease, as
for a document's write-back), every node answers its queries.

The node holding a workspace's lease runs its `CodeIndex` and renews the lease while it
does; another node asked to search that workspace forwards the query over the bus to
the holder (`node.<id>.index.search`), so with a Qdrant server and Redis shared by the
nodes each question is answered from the one index. Without Redis there is one node,
and it indexes every workspace it serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from server.bus import Bus, BusTimeout, Envelope, Event, RemoteError
from server.errors import NexusError, Unavailable
from server.index._registry import CodeIndexes
from server.index._search import MAX_K, SearchHit
from server.leases import LEASE_SECONDS, Leases
from server.models import Workspace

log = logging.getLogger("nexus.index")

FORWARD_TIMEOUT = 10.0


class SearchQuery(BaseModel):
    query: str = Field(max_length=100_000)
    k: int = Field(10, ge=1, le=MAX_K)


class Hit(BaseModel):
    path: str
    start_line: int
    end_line: int
    score: float
    snippet: str


class SearchResults(BaseModel):
    results: list[Hit]
    state: dict[str, Any] | None  # the index's progress: status, files, indexed_files, …


class SearchRequest(Event):
    workspace_id: str
    path: str
    query: str
    k: int


class SearchReply(Event):
    results: list[Hit]
    state: dict[str, Any] | None


class WorkspaceIndexes:
    """What the index's commands, routes and hooks use."""

    def __init__(self, indexes: CodeIndexes, leases: Leases, bus: Bus, node_id: str) -> None:
        self.indexes = indexes
        self.leases = leases
        self.bus = bus
        self.node_id = node_id
        self._renewing: asyncio.Task[None] | None = None

    @property
    def topic(self) -> str:
        return f"node.{self.node_id}.index.search"

    def start(self) -> None:
        if self.leases.shared:
            self._renewing = asyncio.create_task(self._renew(), name="index:leases")

    async def close(self) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
        for workspace_id in list(self.indexes.open_workspaces()):
            await self.leases.release(f"index:{workspace_id}")
        await self.indexes.close()

    async def ensure(self, workspace_id: str, root: str) -> bool:
        """Index the workspace here if no node does; True when this node does."""
        if self.indexes.get(workspace_id) is not None:
            return True
        if not await self.leases.claim(f"index:{workspace_id}"):
            return False
        await self.indexes.open(workspace_id, Path(root))
        return True

    def state(self, workspace_id: str) -> dict[str, Any] | None:
        index = self.indexes.get(workspace_id)
        return None if index is None else index.state.as_dict()

    async def search(self, workspace: Workspace, query: str, k: int) -> SearchResults:
        """From this node's index, or the holder's; while nothing is indexed yet, what
        is (maybe nothing), with the state saying how far indexing has come."""
        return await self._search(workspace.id, workspace.path, query, k)

    async def answer(self, envelope: Envelope) -> SearchReply:
        """A query another node forwarded here (that node checked the caller's access)."""
        request = envelope.event
        assert isinstance(request, SearchRequest)
        found = await self._search(request.workspace_id, request.path, request.query, request.k)
        return SearchReply(results=found.results, state=found.state)

    async def _search(self, workspace_id: str, root: str, query: str, k: int) -> SearchResults:
        if await self.ensure(workspace_id, root):
            index = self.indexes.get(workspace_id)
            assert index is not None
            hits = await index.search(query, k)
            return SearchResults(results=[_hit(h) for h in hits], state=index.state.as_dict())
        return await self._forward(workspace_id, root, query, k)

    async def _forward(self, workspace_id: str, root: str, query: str, k: int) -> SearchResults:
        holder = await self.leases.holder(f"index:{workspace_id}")
        if holder is None or holder == self.node_id:  # the lease just lapsed: take it
            if await self.ensure(workspace_id, root):
                return await self._search(workspace_id, root, query, k)
            raise Unavailable("the workspace's index is moving between nodes; try again")
        request = SearchRequest(workspace_id=workspace_id, path=root, query=query, k=k)
        try:
            reply = await self.bus.request(
                f"node.{holder}.index.search", request, timeout=FORWARD_TIMEOUT
            )
        except BusTimeout:
            raise Unavailable(
                f"node {holder}, which indexes this workspace, did not answer"
            ) from None
        except RemoteError as exc:
            raise NexusError(exc.message) from None
        assert isinstance(reply, SearchReply)
        return SearchResults(results=reply.results, state=reply.state)

    async def _renew(self) -> None:
        """Keep the leases of the indexes this node runs; give up an index whose lease
        another node took (after a pause of ours longer than the lease)."""
        while True:
            await asyncio.sleep(LEASE_SECONDS / 3)
            for workspace_id in list(self.indexes.open_workspaces()):
                if not await self.leases.claim(f"index:{workspace_id}"):
                    log.info("another node indexes %s now; closing ours", workspace_id)
                    await self.indexes.close_workspace(workspace_id)


def _hit(hit: SearchHit) -> Hit:
    return Hit(**hit.as_dict())
