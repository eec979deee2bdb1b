"""REST intake: `POST /api/v1/voice/command?workspace=ID` with a WAV body."""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from server.api._routing import Api, ApiCall, read_body
from voice.audio import MAX_SECONDS, decode
from voice.cursor import Cursor
from voice.service import VoiceResult

api = Api("voice")

# 30 s of 48 kHz stereo 32-bit audio, plus headers: anything larger cannot be valid.
MAX_BODY_BYTES = int(MAX_SECONDS * 48_000 * 2 * 4) + 65_536


class VoiceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workspace: str = Field(min_length=1, max_length=64)
    dry_run: bool = False
    context: str | None = Field(None, max_length=1024, description="The current file's path.")
    line: int | None = Field(None, ge=1, description="Cursor line, 1-based.")
    column: int | None = Field(None, ge=1, description="Cursor column, 1-based, UTF-16.")


@api.post("/api/v1/voice/command", query=VoiceQuery, response=VoiceResult)
async def voice_command(call: ApiCall) -> VoiceResult:
    """Recognise a spoken command (WAV body) and run it with the caller's permissions."""
    body = await read_body(call.request, MAX_BODY_BYTES)
    received = time.perf_counter()
    audio = decode(body)
    return await call.services.voice.handle(
        call.services,
        call.user,
        call.query.workspace,
        audio,
        dry_run=call.query.dry_run,
        cursor=Cursor(path=call.query.context, line=call.query.line, column=call.query.column),
        source="rest",
        ended_at=received,
    )


@api.get("/api/v1/voice/status", auth=False)
async def voice_status(call: ApiCall) -> dict[str, Any]:
    """Whether the speech model is loaded (pending, loading, ready or failed)."""
    return call.services.voice.status()
