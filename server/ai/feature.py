"""The AI feature: the model gateway (`AiService`, provided), the shared chat and inline
completion over Socket.IO (`chat:*`, `completion:*`), proposals (`ai:proposal*`), the
`ai.*` commands, and chat, threads, usage and status over REST."""

from __future__ import annotations

from server.ai import rest
from server.ai.commands import Assistant, commands
from server.ai.service import AiService
from server.ai.socketio import SocketAi
from server.collab import Rooms
from server.core import Feature
from server.files import WorkspaceFiles
from server.platform import NexusApp


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
        broadcast=app.hub.emit_room,
    )
    await ai.start()
    app.on_close(ai.close)  # before the documents close: an accept may be holding one
    app.provide(ai)
    app.add_commands(commands, Assistant(ai.chat, ai.proposals, ai.learning, ai.preferences, files))
    SocketAi(app.hub, ai.chat, ai.completions, ai.preferences, app.access)


feature = Feature("ai", setup, router=rest.router, after=("collab", "files"))
