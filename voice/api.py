"""REST intake: `POST /api/v1/voice/command?workspace=ID` with a WAV body, and the
speech model's status."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from server.api import Caller, Error, Need, api_router, read_body
from voice.audio import MAX_SECONDS, decode
from voice.cursor import Cursor
from voice.service import VoiceResult, VoiceService

router = api_router("voice")
Voice = Annotated[VoiceService, Need(VoiceService)]

# 30 s of 48 kHz stereo 32-bit audio, plus headers: anything larger cannot be valid.
MAX_BODY_BYTES = int(MAX_SECONDS * 48_000 * 2 * 4) + 65_536

WAV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": f"A WAV file of at most {MAX_SECONDS:g} s.",
        "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
    }
}


class VoiceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    workspace: str = Field(min_length=1, max_length=64)
    dry_run: bool = False
    context: str | None = Field(None, max_length=1024, description="The current file's path.")
    line: int | None = Field(None, ge=1, description="Cursor line, 1-based.")
    column: int | None = Field(None, ge=1, description="Cursor column, 1-based, UTF-16.")


@router.post(
    "/api/v1/voice/command",
    response_model=VoiceResult,
    openapi_extra=WAV_BODY,
    responses={415: {"model": Error, "description": "The body is not audio this server reads"}},
)
async def voice_command(
    request: Request, query: Annotated[VoiceQuery, Query()], user: Caller, voice: Voice
) -> VoiceResult:
    """Recognise a spoken command (WAV body) and run it with the caller's permissions."""
    body = await read_body(request, MAX_BODY_BYTES)
    received = time.perf_counter()
    audio = decode(body)
    return await voice.handle(
        user,
        query.workspace,
        audio,
        dry_run=query.dry_run,
        cursor=Cursor(path=query.context, line=query.line, column=query.column),
        source="rest",
        ended_at=received,
    )


@router.get("/api/v1/voice/status")
async def voice_status(voice: Voice) -> dict[str, Any]:
    """Whether the speech model is loaded (pending, loading, ready or failed)."""
    return voice.status()
