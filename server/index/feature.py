"""The index feature: every workspace in use is indexed in the background (progress as
`index:progress` events and in the join ack), kept in step with file changes, and
searched by `search.semantic`, REST and the AI's context."""

from __future__ import annotations

from typing import Any

from server.bus import Envelope
from server.core import Feature
from server.folders import FilesChanged
from server.index import rest
from server.index._embed import Embedder, OpenAIEmbedder, local_embedder
from server.index._registry import CodeIndexes
from server.index._service import IndexState
from server.index._store import VectorStore
from server.index.commands import commands
from server.index.workspaces import WorkspaceIndexes
from server.leases import create_leases
from server.models import Workspace
from server.platform import NexusApp


def _embedder(app: NexusApp) -> Embedder | None:
    settings = app.settings
    if settings.index_embedding_model:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAIEmbedder(
            settings.index_embedding_model, base_url=settings.openai_base_url, api_key=key
        )
    return local_embedder()


async def setup(app: NexusApp) -> None:
    settings = app.settings
    store = (
        VectorStore(url=settings.qdrant_url)
        if settings.qdrant_url
        else VectorStore(path=settings.resolved_qdrant_path)
    )
    app.on_close(lambda: _closed(store))
    hub = app.hub

    async def progress(workspace_id: str, state: IndexState) -> None:
        await hub.emit_room(
            workspace_id, "index:progress", {"workspace": workspace_id, **state.as_dict()}
        )

    indexes = WorkspaceIndexes(
        CodeIndexes(
            store,
            settings.data_dir / "index",
            embedder=_embedder(app),
            on_progress=progress,
            rules_for=app.watchers.rules,  # one cache of ignore rules with the watchers
        ),
        create_leases(settings.redis_url, app.node_id, "nexus:index"),
        app.bus,
        app.node_id,
    )
    indexes.start()
    app.on_close(indexes.close)
    app.provide(indexes)
    app.add_commands(commands, indexes)

    async def joined(_sid: str, workspace: Workspace) -> dict[str, Any]:
        await indexes.ensure(workspace.id, workspace.path)
        return {"index": indexes.state(workspace.id)}

    async def files_changed(envelope: Envelope) -> None:
        if isinstance(envelope.event, FilesChanged):
            await indexes.indexes.on_files_changed(envelope.event)

    hub.on_join(joined)
    app.subscribe("workspace.*.files", files_changed, name="index.files")
    app.handle(indexes.topic, indexes.answer, name="index.search")


async def _closed(store: VectorStore) -> None:
    store.close()


feature = Feature("index", setup, router=rest.router, after=("files",))
