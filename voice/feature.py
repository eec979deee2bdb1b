"""The voice feature: spoken commands over REST (`/api/v1/voice/*`) and Socket.IO
(`voice:*`), run through the dispatcher with the speaker's permissions."""

from __future__ import annotations

from server.core import Feature
from server.platform import NexusApp
from voice import api
from voice.service import VoiceService
from voice.socketio import SocketVoice


async def setup(app: NexusApp) -> None:
    voice = VoiceService(app.settings, app.access, app.core, app.registry)
    voice.start(app.bus)  # loads and warms the speech model in the background
    app.on_close(voice.close)
    app.warming("voice", lambda: voice.warming)
    app.provide(voice)
    SocketVoice(app.hub, voice, app.access)


feature = Feature("voice", setup, router=api.router)
