"""OpenAI's chat completions (and legacy completions for fill-in-the-middle), streamed
with the `openai` SDK; also any OpenAI-compatible server (Ollama, vLLM, llama.cpp)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai

from server.ai.messages import (
    ChatRequest,
    FimRequest,
    StreamEvent,
    TextDelta,
    ToolCall,
    Turn,
    UsageReport,
)
from server.ai.providers._errors import translate
from server.ai.providers.base import ProviderError


def _messages(system: str, turns: list[Turn]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for turn in turns:
        if turn.role == "user":
            out.append({"role": "user", "content": turn.text})
        elif turn.role == "assistant":
            message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
            if turn.tool_calls:
                message["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                    }
                    for call in turn.tool_calls
                ]
            out.append(message)
        else:
            out.extend(
                {"role": "tool", "tool_call_id": result.call_id, "content": result.content}
                for result in turn.tool_results
            )
    return out


class OpenAIProvider:
    name = "openai"
    supports_fim = True

    def __init__(self, api_key: str, base_url: str | None, timeout: float, *, local: bool) -> None:
        self.local = local  # an OpenAI-compatible server reached by base URL, without a key
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        )
        # The SDK imports its resources on first use (about a second): do it now, at
        # start, rather than on the first user's request.
        _ = self._client.chat.completions, self._client.completions

    async def close(self) -> None:
        await self._client.close()

    async def stream(self, model: str, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        params: dict[str, Any] = {
            "model": model,
            "messages": _messages(request.system, request.turns),
            "max_tokens": request.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in request.tools
            ]
        try:
            stream = await self._client.chat.completions.create(**params)
        except Exception as exc:
            raise translate(exc, openai, self.name) from exc
        async with stream:
            calls: dict[int, list[str]] = {}  # index → [id, name, arguments…]
            try:
                async for chunk in stream:
                    if chunk.usage is not None:
                        yield UsageReport(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                    for choice in chunk.choices:
                        delta = choice.delta
                        if delta.content:
                            yield TextDelta(delta.content)
                        for part in delta.tool_calls or []:
                            entry = calls.setdefault(part.index, ["", ""])
                            if part.id:
                                entry[0] = part.id
                            if part.function and part.function.name:
                                entry[1] = part.function.name
                            if part.function and part.function.arguments:
                                entry.append(part.function.arguments)
                        if choice.finish_reason and calls:
                            for call in _finished(calls):
                                yield call
            except Exception as exc:
                raise translate(exc, openai, self.name) from exc
            for call in _finished(calls):
                yield call

    async def fill_in_middle(self, model: str, request: FimRequest) -> AsyncIterator[StreamEvent]:
        try:
            stream = await self._client.completions.create(
                model=model,
                prompt=request.prefix,
                suffix=request.suffix or None,
                max_tokens=request.max_tokens,
                temperature=0,
                stream=True,
                stream_options={"include_usage": True},
            )
        except Exception as exc:
            raise translate(exc, openai, self.name) from exc
        async with stream:
            try:
                async for chunk in stream:
                    if chunk.usage is not None:
                        yield UsageReport(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                    for choice in chunk.choices:
                        if choice.text:
                            yield TextDelta(choice.text)
            except Exception as exc:
                raise translate(exc, openai, self.name) from exc


def _finished(calls: dict[int, list[str]]) -> list[ToolCall]:
    done = []
    for index in sorted(calls):
        call_id, name, *parts = calls[index]
        raw = "".join(parts)
        try:
            arguments = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            raise ProviderError(
                f"tool call {name} has malformed arguments", retryable=True
            ) from None
        if not isinstance(arguments, dict):
            raise ProviderError(f"tool call {name} arguments are not an object", retryable=True)
        done.append(ToolCall(call_id or f"call_{index}", name, arguments))
    calls.clear()
    return done
