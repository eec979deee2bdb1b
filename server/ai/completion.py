"""Inline completion: `completion:request` with the text before and after the cursor.

Fill-in-the-middle for models that take it, a chat prompt otherwise. One request in
flight per editor (connection, workspace, file): a new one cancels it, unless the user
only typed text the in-flight completion starts with, in which case its answer is reused
(minus what was typed). Answers are cached by the text around the cursor.
"""

from __future__ import annotations

import asyncio
import fnmatch
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from server.ai.accounting import BudgetExceeded
from server.ai.gateway import Caller, Finished, Gateway
from server.ai.learning import Learning, Suggestion
from server.ai.messages import ChatRequest, FimRequest, TextDelta, Turn, estimate_tokens
from server.ai.redaction import Redactor
from server.ai.router import Router
from server.config import Settings

CACHE_SIZE = 512
PREFIX_CHARS = 6000  # of the text before the cursor, sent and used as the cache key
SUFFIX_CHARS = 2000

CHAT_PROMPT = (
    "You complete code at the cursor. Reply with only the text to insert at <CURSOR>, "
    "no explanation and no code fences."
)


@dataclass
class _InFlight:
    prefix: str
    suffix: str
    task: asyncio.Task[dict[str, Any]]
    partial: list[str] = field(default_factory=list)


def _strip_fences(text: str) -> str:
    stripped = text.strip("\n")
    if stripped.startswith("```"):
        lines = stripped.splitlines()[1:]
        if lines and lines[-1].startswith("```"):
            lines = lines[:-1]
        return "\n".join(lines)
    return text


@dataclass(eq=False)
class Completions:
    gateway: Gateway
    router: Router
    learning: Learning
    settings: Settings
    _inflight: dict[tuple[str, str, str], _InFlight] = field(default_factory=dict, init=False)
    # (path, prefix, suffix) → (text, suggestion id)
    _cache: OrderedDict[tuple[str, str, str], tuple[str, str | None]] = field(
        default_factory=OrderedDict, init=False
    )
    _last_shown: dict[tuple[str, str, str], str] = field(default_factory=dict, init=False)

    async def request(
        self,
        editor: tuple[str, str, str],  # (connection, workspace id, path)
        user_id: int,
        prefix: str,
        suffix: str,
        *,
        redact: bool,
    ) -> dict[str, Any]:
        prefix, suffix = prefix[-PREFIX_CHARS:], suffix[:SUFFIX_CHARS]
        key = (editor[2], prefix, suffix)
        cached = self._cache.get(key)
        shown = self._last_shown.pop(editor, None)
        if shown is not None and (cached is None or cached[1] != shown):
            self.learning.resolve(shown, "ignored")  # asked again elsewhere: not taken
        if cached is not None:
            self._cache.move_to_end(key)
            text, suggestion_id = cached
            if suggestion_id is not None:
                self._last_shown[editor] = suggestion_id
            return {"id": suggestion_id, "text": text, "cached": True, "reused": False}
        running = self._inflight.get(editor)
        if running is not None:
            reused = await self._reuse(running, prefix, suffix)
            if reused is not None:
                return reused
            running.task.cancel()
        flight: _InFlight
        task = asyncio.create_task(
            self._complete(editor, user_id, prefix, suffix, redact, lambda: flight)
        )
        flight = _InFlight(prefix, suffix, task)
        self._inflight[editor] = flight
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.cancelled():
                task.cancel()
                raise
            return {"id": None, "text": "", "cancelled": True}
        finally:
            if self._inflight.get(editor) is flight:
                del self._inflight[editor]

    async def _reuse(self, running: _InFlight, prefix: str, suffix: str) -> dict[str, Any] | None:
        """The in-flight answer minus what the user typed since, if it still fits."""
        if suffix != running.suffix or not prefix.startswith(running.prefix):
            return None
        typed = prefix[len(running.prefix) :]
        so_far = "".join(running.partial)
        if not (so_far.startswith(typed) or typed.startswith(so_far)):
            return None  # the user typed past it: it no longer applies
        try:
            answer = await asyncio.shield(running.task)
        except asyncio.CancelledError:
            return None
        text = str(answer.get("text", ""))
        if not text.startswith(typed):
            return None
        return {**answer, "text": text[len(typed) :], "reused": True}

    def cancel(self, editor: tuple[str, str, str]) -> bool:
        running = self._inflight.get(editor)
        if running is None:
            return False
        return running.task.cancel()

    def cancel_connection(self, connection: str) -> None:
        for editor, running in list(self._inflight.items()):
            if editor[0] == connection:
                running.task.cancel()
        for editor in [e for e in self._last_shown if e[0] == connection]:
            self._last_shown.pop(editor, None)

    def feedback(self, suggestion_id: str, outcome: str) -> bool:
        for editor, shown in list(self._last_shown.items()):
            if shown == suggestion_id:
                del self._last_shown[editor]
        return self.learning.resolve(suggestion_id, outcome)

    def _uses_fim(self) -> bool:
        tier = self.router.tier_for("completion")
        chain = self.router.chain(tier)
        if not chain:
            return False
        ref = chain[0]
        provider = self.router.providers.get(ref.provider)
        return bool(provider and provider.supports_fim) and any(
            fnmatch.fnmatch(ref.model, glob) for glob in self.settings.ai_fim_models
        )

    async def _complete(
        self,
        editor: tuple[str, str, str],
        user_id: int,
        prefix: str,
        suffix: str,
        redact: bool,
        flight: Any,
    ) -> dict[str, Any]:
        redactor = Redactor(enabled=redact)
        safe_prefix = redactor.text(prefix, path=editor[2])
        safe_suffix = redactor.text(suffix, path=editor[2])
        fim = self._uses_fim()
        request = self._request(fim, editor[2], safe_prefix, safe_suffix)
        started = time.perf_counter()
        parts: list[str] = flight().partial
        finished: Finished | None = None
        caller = Caller(user_id, editor[1], "completion")
        prompt_tokens = estimate_tokens(safe_prefix) + estimate_tokens(safe_suffix)
        async for event in self.gateway.stream(caller, request, prompt_tokens=prompt_tokens):
            if isinstance(event, TextDelta):
                parts.append(event.text)
            elif isinstance(event, Finished):
                finished = event
            else:
                parts.clear()  # a failover: start over with the next model
        if finished is not None and finished.stopped is not None:
            raise BudgetExceeded(finished.stopped)  # a cut-off completion is no suggestion
        text = "".join(parts)
        if not fim:
            text = _strip_fences(text)
        suggestion_id = uuid.uuid4().hex
        if finished is not None:
            self._shown(editor, user_id, suggestion_id, finished, started)
        self._cache[(editor[2], prefix, suffix)] = (
            text,
            suggestion_id if finished is not None else None,
        )
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return {
            "id": suggestion_id,
            "text": text,
            "model": finished.ref.label if finished else None,
            "cached": False,
            "reused": False,
        }

    def _request(self, fim: bool, path: str, prefix: str, suffix: str) -> ChatRequest | FimRequest:
        max_tokens = self.settings.ai_completion_tokens
        if fim:
            return FimRequest(prefix, suffix, max_tokens)
        return ChatRequest(
            CHAT_PROMPT,
            [Turn("user", f"File {path}:\n{prefix}<CURSOR>{suffix}")],
            max_tokens=max_tokens,
        )

    def _shown(
        self,
        editor: tuple[str, str, str],
        user_id: int,
        suggestion_id: str,
        finished: Finished,
        started: float,
    ) -> None:
        """Remember a suggestion that reached the user, for learning from accept/reject."""
        self.learning.shown(
            Suggestion(
                suggestion_id,
                user_id,
                editor[1],
                "completion",
                finished.ref.tier.value,
                finished.ref.label,
                (time.perf_counter() - started) * 1000,
                finished.billed.input_tokens,
                finished.billed.output_tokens,
                finished.billed.cost_usd,
            )
        )
        self._last_shown[editor] = suggestion_id
