"""Anthropic's Messages API, streamed with the `anthropic` SDK."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx

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


def _messages(turns: list[Turn]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for turn in turns:
        if turn.role == "user":
            out.append({"role": "user", "content": turn.text})
        elif turn.role == "assistant":
            content: list[dict[str, Any]] = []
            if turn.text:
                content.append({"type": "text", "text": turn.text})
            for call in turn.tool_calls:
                content.append(
                    {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
                )
            out.append({"role": "assistant", "content": content or turn.text})
        else:
            out.append(
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": result.call_id,
                            "content": result.content,
                            "is_error": result.is_error,
                        }
                        for result in turn.tool_results
                    ],
                }
            )
    return out


class AnthropicProvider:
    name = "anthropic"
    supports_fim = False

    def __init__(self, api_key: str, base_url: str | None, timeout: float) -> None:
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,  # the router fails over; retries would only add latency
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        )
        _ = self._client.messages  # imported on first use: do it at start

    async def close(self) -> None:
        await self._client.close()

    async def stream(self, model: str, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        params: dict[str, Any] = {
            "model": model,
            "max_tokens": request.max_tokens,
            "messages": _messages(request.turns),
            "stream": True,
        }
        if request.system:
            params["system"] = request.system
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        try:
            stream = await self._client.messages.create(**params)
        except Exception as exc:
            raise translate(exc, anthropic, self.name) from exc
        async with stream:
            tools: dict[int, tuple[str, str, list[str]]] = {}  # index → id, name, json parts
            try:
                async for event in stream:
                    kind = event.type
                    if kind == "content_block_delta":
                        delta = event.delta
                        if delta.type == "text_delta":
                            yield TextDelta(delta.text)
                        elif delta.type == "input_json_delta" and event.index in tools:
                            tools[event.index][2].append(delta.partial_json)
                    elif kind == "content_block_start":
                        block = event.content_block
                        if block.type == "tool_use":
                            tools[event.index] = (block.id, block.name, [])
                    elif kind == "content_block_stop" and event.index in tools:
                        call_id, name, parts = tools.pop(event.index)
                        raw = "".join(parts)
                        arguments = json.loads(raw) if raw else {}
                        if not isinstance(arguments, dict):
                            raise ProviderError("tool input is not an object", retryable=True)
                        yield ToolCall(call_id, name, arguments)
                    elif kind == "message_start":
                        usage = event.message.usage
                        yield UsageReport(usage.input_tokens, usage.output_tokens)
                    elif kind == "message_delta" and event.usage is not None:
                        yield UsageReport(
                            getattr(event.usage, "input_tokens", None),
                            event.usage.output_tokens,
                        )
            except Exception as exc:
                raise translate(exc, anthropic, self.name) from exc

    async def fill_in_middle(self, model: str, request: FimRequest) -> AsyncIterator[StreamEvent]:
        raise ProviderError("Anthropic models do not take fill-in-the-middle", retryable=False)
        yield  # pragma: no cover
