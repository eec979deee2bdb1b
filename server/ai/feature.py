"""The AI feature: the model gateway (`AiService`, provided), the shared chat and inline
completion over Socket.IO (`chat:*`, `completion:*`), proposals (`ai:proposal*`), the
`ai.*` commands, and chat, threads, usage and status over REST."""

from __future__ import annotations

from server.ai import rest
from server.ai.chat import Retriever
from server.ai.commands import Assistant, commands
from server.ai.events import announcing
from server.ai.service import AiService
from server.ai.socketio import SocketAi
from server.collab import Rooms
from server.core import Feature
from server.files import WorkspaceFiles
from server.index import SearchHit, format_for_prompt
from server.index.workspaces import WorkspaceIndexes
from server.models import Workspace
from server.platform import NexusApp

RETRIEVED_CHUNKS = 8


def _retriever(indexes: WorkspaceIndexes | None, budget: int) -> Retriever | None:
    """The codebase index as the chat's source of code beyond the open file."""
    if indexes is None or budget <= 0:
        return None

    async def retrieve(workspace: Workspace, question: str) -> str:
        found = await indexes.search(workspace, question, RETRIEVED_CHUNKS)
        hits = [
            SearchHit(h.path, h.start_line, h.end_line, h.score, h.snippet) for h in found.results
        ]
        return format_for_prompt(hits, budget)

    return retrieve


async def setup(app: NexusApp) -> None:
    files = app.need(WorkspaceFiles)
    ai = AiService(
        app.settings,
        app.engine,
        rooms=app.need(Rooms),
        files=files,
        core=app.core,
        access=app.access,
        audit=app.audit,
        broadcast=announcing(app.hub.emit_room, app.bus),
        retrieve=_retriever(app.get(WorkspaceIndexes), app.settings.index_context_tokens),
    )
    await ai.start()
    app.on_close(ai.close)  # before the documents close: an accept may be holding one
    app.provide(ai)
    app.add_commands(commands, Assistant(ai.chat, ai.proposals, ai.learning, ai.preferences, files))
    SocketAi(app.hub, ai.chat, ai.completions, ai.preferences, app.access)


feature = Feature("ai", setup, router=rest.router, after=("collab", "files", "index"))
