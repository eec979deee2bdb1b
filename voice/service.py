"""The voice service: utterance → recognition → (unless a dry run) execution through
the dispatcher with the speaker's permissions, and what the speaker said last (for
"choose two" and the undone-right-after signal)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field

from server.auth import AccessControl, Principal
from server.bus import Bus, Envelope, Subscription
from server.core import CommandExecuted, CommandRegistry, ConsciousnessCore
from server.errors import Forbidden, NexusError
from server.models import Role
from voice import metrics
from voice.audio import speech_span
from voice.cursor import Cursor, place
from voice.grammar import CHAT, Candidate, Variant, parse_choice, spoken_commands
from voice.recognizer import RULE_BY_COMMAND, recognize
from voice.transcriber import Transcriber
from voice.vocabulary import WorkspaceVocabularies

if TYPE_CHECKING:
    from server.config import Settings

log = logging.getLogger("nexus.voice")

UNDO_WINDOW_SECONDS = 10.0


class Alternative(BaseModel):
    command: str
    args: dict[str, Any] = Field(default_factory=dict)
    score: float
    transcript: str | None = None


class VoiceResult(BaseModel):
    transcript: str
    command: str | None
    args: dict[str, Any] = Field(default_factory=dict)
    alternatives: list[Alternative] = Field(default_factory=list)
    executed: bool = False
    result: Any = None
    error: str | None = None
    refused: bool = False
    chosen: int | None = None  # set when the utterance picked an earlier alternative
    stage: str | None = None  # which recognition step settled it (see Recognition.stage)
    latency_ms: float = 0.0


@dataclass
class _Last:
    result: VoiceResult
    at: float


class VoiceService:
    """Runs what a speaker says as the speaker: `access` checks the workspace role,
    `core` executes the recognised command, `registry` tells which commands this server
    runs (a recognised command may belong to a feature that is not installed)."""

    def __init__(
        self,
        settings: Settings,
        access: AccessControl,
        core: ConsciousnessCore,
        registry: CommandRegistry,
    ) -> None:
        self.settings = settings
        self.access = access
        self.core = core
        self.registry = registry
        self.transcriber = Transcriber(settings.whisper_model, threads=settings.voice_cpu_threads)
        self.vocabularies = WorkspaceVocabularies()
        self._last: dict[tuple[str, str], _Last] = {}  # (username, workspace) → last result
        self._subscription: Subscription | None = None
        self._spoken: tuple[int, tuple[Variant, ...]] = (-1, ())

    def spoken_commands(self) -> tuple[Variant, ...]:
        """The registry's commands that have phrases and no rule in the phrase table
        (an extension's), as the grammar matches them; rebuilt when the registry changes."""
        version, cached = self._spoken
        if version != self.registry.version:
            cached = spoken_commands(
                (command.id, command.phrases)
                for command in self.registry
                if command.phrases and command.id not in RULE_BY_COMMAND
            )
            self._spoken = (self.registry.version, cached)
        return cached

    def start(self, bus: Bus | None = None) -> None:
        if self.settings.voice_preload:  # else the first request loads it (wait_ready)
            self.transcriber.start()
        if bus is not None:
            self._subscription = bus.subscribe(
                "workspace.*.command", self._command_executed, name="voice.undo"
            )

    async def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
        await self.transcriber.close()

    @property
    def warming(self) -> bool:
        """The model is being loaded in the background (or is about to be)."""
        status = self.transcriber.status
        return status == "loading" or (status == "pending" and self.settings.voice_preload)

    def status(self) -> dict[str, Any]:
        t = self.transcriber
        return {"status": t.status, "load_seconds": t.load_seconds, "error": t.error}

    async def handle(
        self,
        principal: Principal,
        workspace_id: str,
        audio: np.ndarray,
        *,
        dry_run: bool = False,
        cursor: Cursor | None = None,
        source: str = "voice",
        ended_at: float | None = None,
    ) -> VoiceResult:
        """Recognise one utterance and run it. `ended_at` (perf_counter) is when speech
        ended, for the latency metric."""
        ended_at = ended_at if ended_at is not None else time.perf_counter()
        access = await self.access.require(principal, workspace_id, Role.viewer)
        await self.transcriber.wait_ready(self.settings.voice_load_timeout_seconds)
        speech = speech_span(audio)
        if speech is None:
            metrics.TRANSCRIPTIONS.labels("silence").inc()
            return VoiceResult(transcript="", command=None)
        vocab = await self.vocabularies.get(access.workspace.id, Path(access.workspace.path))
        vocab.commands = self.spoken_commands()
        recognition = await recognize(self.transcriber, speech, vocab)
        if not recognition.candidates:
            metrics.TRANSCRIPTIONS.labels("silence").inc()
            return VoiceResult(transcript="", command=None)
        metrics.RECOGNITION_STAGES.labels(recognition.stage).inc()
        key = (principal.user.username, access.workspace.id)
        choice = parse_choice(recognition.transcript)
        if choice is not None and key in self._last:
            result = self._choose(key, choice)
        else:
            top = recognition.candidates[0]
            metrics.TRANSCRIPTIONS.labels("chat" if top.command == CHAT else "command").inc()
            result = VoiceResult(
                transcript=recognition.transcript,
                command=top.command,
                args=top.args,
                alternatives=[_alternative(c) for c in recognition.candidates],
                stage=recognition.stage,
            )
        if choice is not None and key not in self._last:
            metrics.TRANSCRIPTIONS.labels("chat").inc()
        metrics.LATENCY.labels(source).observe(time.perf_counter() - ended_at)
        result.latency_ms = round((time.perf_counter() - ended_at) * 1000, 1)
        if dry_run:
            metrics.EXECUTIONS.labels("dry_run").inc()
        else:
            await self._execute(principal, access.workspace.id, result, cursor or Cursor())
        self._last[key] = _Last(result, time.monotonic())
        return result

    def _choose(self, key: tuple[str, str], choice: int) -> VoiceResult:
        last = self._last[key].result
        if choice > len(last.alternatives):
            return VoiceResult(
                transcript=last.transcript,
                command=None,
                alternatives=last.alternatives,
                error=f"there is no alternative {choice}; there are {len(last.alternatives)}",
            )
        picked = last.alternatives[choice - 1]
        metrics.ALTERNATIVES_CHOSEN.labels(str(choice)).inc()
        return VoiceResult(
            transcript=picked.transcript or last.transcript,
            command=picked.command,
            args=picked.args,
            alternatives=last.alternatives,
            chosen=choice,
        )

    async def _execute(
        self,
        principal: Principal,
        workspace_id: str,
        result: VoiceResult,
        cursor: Cursor,
    ) -> None:
        command = result.command
        if command is None:
            return
        if command not in self.registry:
            result.error = f"{command} is recognised but nothing on this server runs it yet"
            metrics.EXECUTIONS.labels("unavailable").inc()
            return
        try:
            args = place(command, dict(result.args), cursor)
            result.result = await self.core.execute(
                principal, workspace_id, command, args, source="voice"
            )
        except Forbidden as exc:
            result.refused = True
            result.error = f"not allowed: {exc.message}"
            metrics.EXECUTIONS.labels("refused").inc()
            return
        except NexusError as exc:
            result.error = exc.message
            metrics.EXECUTIONS.labels("failed").inc()
            return
        result.executed = True
        metrics.EXECUTIONS.labels("ok").inc()

    async def _command_executed(self, envelope: Envelope) -> None:
        """An `editor.undo` right after a voice command says the command was wrong."""
        event = envelope.event
        if not isinstance(event, CommandExecuted) or event.command != "editor.undo":
            return
        now = time.monotonic()
        last = self._last.get((event.username, event.workspace_id))
        if (
            last is not None
            and last.result.executed
            and last.result.command != "editor.undo"
            and now - last.at <= UNDO_WINDOW_SECONDS
        ):
            metrics.UNDONE.inc()
            last.at = 0.0


def _alternative(c: Candidate) -> Alternative:
    return Alternative(
        command=c.command, args=c.args, score=round(c.score, 4), transcript=c.transcript or None
    )
