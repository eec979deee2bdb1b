"""Microphone streaming over the hub's Socket.IO connection.

    client → server  voice:start {workspace, sample_rate?, dry_run?, context?, line?, column?}
                     voice:chunk <binary 16-bit little-endian mono PCM>
                     voice:end                      ack: the result of what was left
    server → client  voice:transcript {workspace, transcript}
                     voice:command    {workspace, ...result}  (see VoiceResult)
                     voice:error      {error: {code, message}}  (an utterance it ended failed)

`voice:start` needs the viewer role in the workspace; `context` is the current file and
`line` / `column` the cursor (see voice/cursor.py). An utterance ends at `voice:end` or
when the server hears 0.7 s of quiet after speech (an energy detector with an adaptive
noise floor; the recogniser then trims with Silero VAD). Audio beyond 30 s per utterance
is refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from server.errors import Forbidden, InvalidInput, NexusError, PayloadTooLarge
from server.hub.events import Payload, WorkspaceRef
from server.models import Role
from voice.audio import MAX_SECONDS, SAMPLE_RATE, pcm16, resample, rms
from voice.cursor import Cursor

if TYPE_CHECKING:
    from server.auth import AccessControl
    from server.hub import Hub, SocketSession
    from voice.service import VoiceService

log = logging.getLogger("nexus.voice")

FRAME = SAMPLE_RATE * 30 // 1000  # 30 ms
END_SILENCE_SECONDS = 0.7
MIN_SPEECH_SECONDS = 0.25
MAX_CHUNK_BYTES = 256 * 1024


class StartPayload(WorkspaceRef):
    sample_rate: int = Field(SAMPLE_RATE, ge=8000, le=48_000)
    dry_run: bool = False
    context: str | None = Field(None, max_length=1024)  # the current file
    line: int | None = Field(None, ge=1)  # the cursor, 1-based
    column: int | None = Field(None, ge=1)  # 1-based, UTF-16 code units


class EndPayload(Payload):
    workspace: str | None = None


@dataclass
class Stream:
    workspace: str
    sample_rate: int
    dry_run: bool
    cursor: Cursor
    chunks: list[np.ndarray] = field(default_factory=list)
    samples: int = 0
    speech_seconds: float = 0.0
    quiet_seconds: float = 0.0
    noise_floor: float = 0.003
    pending: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    last_speech_at: float = 0.0

    def feed(self, samples: np.ndarray) -> bool:
        """Add audio; True when an utterance just ended (speech, then enough quiet)."""
        self.chunks.append(samples)
        self.samples += samples.size
        data = np.concatenate([self.pending, samples])
        frame = self.sample_rate * 30 // 1000
        usable = data.size - data.size % frame
        self.pending = data[usable:]
        ended = False
        for start in range(0, usable, frame):
            level = rms(data[start : start + frame])
            seconds = frame / self.sample_rate
            if level > max(0.01, self.noise_floor * 3):
                self.speech_seconds += seconds
                self.quiet_seconds = 0.0
                self.last_speech_at = time.perf_counter()
            else:
                self.noise_floor = 0.95 * self.noise_floor + 0.05 * level
                self.quiet_seconds += seconds
                if (
                    self.speech_seconds >= MIN_SPEECH_SECONDS
                    and self.quiet_seconds >= END_SILENCE_SECONDS
                ):
                    ended = True
        return ended

    def take(self) -> np.ndarray:
        audio = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)
        self.chunks, self.samples = [], 0
        self.speech_seconds = self.quiet_seconds = 0.0
        return resample(audio, self.sample_rate)


class SocketVoice:
    def __init__(self, hub: Hub, voice: VoiceService, access: AccessControl) -> None:
        self.hub = hub
        self.voice = voice
        self.access = access
        self.streams: dict[str, Stream] = {}
        self._busy: dict[str, asyncio.Task[Any]] = {}
        hub.on("voice:start", StartPayload)(self.start)
        hub.on("voice:end", EndPayload)(self.end)
        hub.sio.on("voice:chunk", self.chunk)
        hub.on_disconnect(self.disconnected)

    async def start(
        self, sid: str, session: SocketSession, payload: StartPayload
    ) -> dict[str, Any]:
        await self.access.require(session.principal, payload.workspace, Role.viewer)
        cursor = Cursor(path=payload.context, line=payload.line, column=payload.column)
        self.streams[sid] = Stream(payload.workspace, payload.sample_rate, payload.dry_run, cursor)
        return {"workspace": payload.workspace, "sample_rate": payload.sample_rate}

    async def chunk(self, sid: str, data: Any = None) -> dict[str, Any] | None:
        """Binary audio; acked only when the client asks for an ack."""
        try:
            if sid not in self.hub.sessions:
                raise Forbidden("not authenticated")
            stream = self.streams.get(sid)
            if stream is None:
                raise InvalidInput("send voice:start first")
            if isinstance(data, dict):
                data = data.get("data")
            if not isinstance(data, bytes | bytearray) or len(data) > MAX_CHUNK_BYTES:
                raise InvalidInput(f"voice:chunk must be binary PCM of at most {MAX_CHUNK_BYTES} B")
            samples = pcm16(bytes(data))
            if (stream.samples + samples.size) / stream.sample_rate > MAX_SECONDS:
                stream.take()
                raise PayloadTooLarge(f"an utterance may last at most {MAX_SECONDS:g} s")
            if stream.feed(samples):
                ended_at = stream.last_speech_at
                audio = stream.take()
                self._run(sid, stream, audio, ended_at)
        except NexusError as exc:
            return {"ok": False, **exc.to_dict()}
        return {"ok": True}

    async def end(self, sid: str, session: SocketSession, payload: EndPayload) -> Any:
        stream = self.streams.pop(sid, None)
        if stream is None:
            raise InvalidInput("no voice stream is open; send voice:start first")
        busy = self._busy.get(sid)
        if busy is not None:
            await asyncio.shield(busy)
        audio = stream.take()
        if audio.size < SAMPLE_RATE // 10:
            return None
        return await self._recognise(sid, stream, audio, time.perf_counter())

    def _run(self, sid: str, stream: Stream, audio: np.ndarray, ended_at: float) -> None:
        previous = self._busy.get(sid)

        async def after_previous() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            try:
                await self._recognise(sid, stream, audio, ended_at)
            except NexusError as exc:
                await self.hub.sio.emit("voice:error", exc.to_dict(), to=sid)
            except Exception:
                log.exception("voice utterance failed")

        task = asyncio.create_task(after_previous(), name=f"voice:{sid}")
        self._busy[sid] = task
        task.add_done_callback(
            lambda t: self._busy.pop(sid, None) if self._busy.get(sid) is t else None
        )

    async def _recognise(
        self, sid: str, stream: Stream, audio: np.ndarray, ended_at: float
    ) -> dict[str, Any]:
        session = self.hub.sessions.get(sid)
        if session is None:
            raise Forbidden("not authenticated")
        result = await self.voice.handle(
            session.principal,
            stream.workspace,
            audio,
            dry_run=stream.dry_run,
            cursor=stream.cursor,
            source="socket",
            ended_at=ended_at,
        )
        body = {"workspace": stream.workspace, **result.model_dump(mode="json")}
        await self.hub.sio.emit(
            "voice:transcript",
            {"workspace": stream.workspace, "transcript": result.transcript},
            to=sid,
        )
        await self.hub.sio.emit("voice:command", body, to=sid)
        return body

    async def disconnected(self, sid: str) -> None:
        self.streams.pop(sid, None)
        task = self._busy.pop(sid, None)
        if task is not None:
            task.cancel()
