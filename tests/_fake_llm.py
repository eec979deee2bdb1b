"""A fake model server on loopback speaking both providers' real streaming wire formats,
scripted per test, for driving the real `anthropic` and `openai` SDKs.

    fake = FakeLLM(); await fake.start()
    fake.anthropic.append(anthropic_text(["Hel", "lo"], input_tokens=10, output_tokens=2))
    fake.openai.append(Reply(429, {"error": {...}}, headers={"retry-after": "5"}))

Each request to `/v1/messages`, `/v1/chat/completions` or `/v1/completions` takes the next
script of its queue (an unscripted request gets a 500). Every request body is kept in
`requests`; every stream records in `streams` whether it ended or the client went away.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests._backing import free_port


@dataclass
class Reply:
    """A plain (non-streamed) HTTP answer, e.g. a 429."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Stream:
    """Server-sent events: (event name or None, data) pairs; `trickle` then sends that
    chunk every 20 ms until the client goes away; `drop` closes the connection after
    the events without finishing the stream."""

    events: list[tuple[str | None, Any]]
    trickle: tuple[str | None, Any] | None = None
    delay: float = 0.0


@dataclass
class StreamRecord:
    path: str
    sent: int = 0
    finished: bool = False
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)


Script = Reply | Stream


def _sse(event: str | None, data: Any) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


class FakeLLM:
    def __init__(self) -> None:
        self.anthropic: deque[Script] = deque()
        self.openai: deque[Script] = deque()
        self.completions: deque[Script] = deque()
        self.default: Script | None = None  # answers unscripted requests when set
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.streams: list[StreamRecord] = []
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.requests if p == path]

    async def start(self) -> None:
        app = Starlette(
            routes=[
                Route("/v1/messages", self._serve(self.anthropic), methods=["POST"]),
                Route("/v1/chat/completions", self._serve(self.openai), methods=["POST"]),
                Route("/v1/completions", self._serve(self.completions), methods=["POST"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        async with asyncio.timeout(10):
            while not self._server.started:
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    def _serve(self, queue: deque[Script]) -> Any:
        async def endpoint(request: Request) -> Response:
            body = await request.json()
            self.requests.append((request.url.path, body))
            if not queue and self.default is not None:
                queue.append(self.default)
            if not queue:
                return JSONResponse(
                    {"type": "error", "error": {"type": "api_error", "message": "unscripted"}},
                    status_code=500,
                )
            script = queue.popleft()
            if isinstance(script, Reply):
                return JSONResponse(script.body, status_code=script.status, headers=script.headers)
            record = StreamRecord(request.url.path)
            self.streams.append(record)
            return StreamingResponse(self._stream(script, record), media_type="text/event-stream")

        return endpoint

    async def _stream(self, script: Stream, record: StreamRecord) -> AsyncIterator[bytes]:
        try:
            for event, data in script.events:
                if script.delay:
                    await asyncio.sleep(script.delay)
                yield _sse(event, data)
                record.sent += 1
            if script.trickle is not None:
                for _ in range(2000):
                    await asyncio.sleep(0.02)
                    yield _sse(*script.trickle)
                    record.sent += 1
            record.finished = True
        finally:
            if not record.finished:
                record.disconnected.set()


# -- Anthropic Messages streams -----------------------------------------------------------


def _anthropic_start(model: str, input_tokens: int) -> tuple[str, dict[str, Any]]:
    return (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            },
        },
    )


def anthropic_text_delta(text: str, index: int = 0) -> tuple[str, dict[str, Any]]:
    return (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "text_delta", "text": text},
        },
    )


def anthropic_events(
    chunks: list[str],
    *,
    input_tokens: int = 10,
    output_tokens: int = 5,
    tool: tuple[str, str, dict[str, Any]] | None = None,
    model: str = "claude-test",
    finish: bool = True,
) -> list[tuple[str | None, Any]]:
    """message_start, a text block of `chunks`, optionally a tool_use block whose input
    arrives as input_json_delta pieces, then message_delta (usage) and message_stop."""
    events: list[tuple[str | None, Any]] = [_anthropic_start(model, input_tokens)]
    events.append(
        ("ping", {"type": "ping"}),
    )
    events.append(
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        )
    )
    events.extend(anthropic_text_delta(chunk) for chunk in chunks)
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    if tool is not None:
        tool_id, name, arguments = tool
        raw = json.dumps(arguments)
        third = max(1, len(raw) // 3)
        events.append(
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 1,
                    "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}},
                },
            )
        )
        for start in range(0, len(raw), third):
            events.append(
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 1,
                        "delta": {
                            "type": "input_json_delta",
                            "partial_json": raw[start : start + third],
                        },
                    },
                )
            )
        events.append(("content_block_stop", {"type": "content_block_stop", "index": 1}))
    if finish:
        events.append(
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": "tool_use" if tool else "end_turn",
                        "stop_sequence": None,
                    },
                    "usage": {"output_tokens": output_tokens},
                },
            )
        )
        events.append(("message_stop", {"type": "message_stop"}))
    return events


def anthropic_error(kind: str = "overloaded_error", message: str = "Overloaded") -> tuple[str, Any]:
    return ("error", {"type": "error", "error": {"type": kind, "message": message}})


def anthropic_text(chunks: list[str], **kwargs: Any) -> Stream:
    return Stream(anthropic_events(chunks, **kwargs))


# -- OpenAI chat-completion chunks ----------------------------------------------------------


def _chunk(
    delta: dict[str, Any], finish: str | None = None, model: str = "gpt-test"
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def openai_events(
    chunks: list[str],
    *,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    tool: tuple[str, str, dict[str, Any]] | None = None,
    finish: bool = True,
) -> list[tuple[str | None, Any]]:
    """Chunks with `delta.content`, optionally tool-call deltas (id and name first, then
    argument pieces), the finish chunk, the usage chunk (include_usage), `[DONE]`."""
    events: list[tuple[str | None, Any]] = [(None, _chunk({"role": "assistant", "content": ""}))]
    events.extend((None, _chunk({"content": chunk})) for chunk in chunks)
    if tool is not None:
        call_id, name, arguments = tool
        raw = json.dumps(arguments)
        events.append(
            (
                None,
                _chunk(
                    {
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": name, "arguments": ""},
                            }
                        ]
                    }
                ),
            )
        )
        half = max(1, len(raw) // 2)
        for start in range(0, len(raw), half):
            events.append(
                (
                    None,
                    _chunk(
                        {
                            "tool_calls": [
                                {"index": 0, "function": {"arguments": raw[start : start + half]}}
                            ]
                        }
                    ),
                )
            )
    if finish:
        events.append((None, _chunk({}, "tool_calls" if tool else "stop")))
        events.append(
            (
                None,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": 1700000000,
                    "model": "gpt-test",
                    "choices": [],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": completion_tokens,
                        "total_tokens": prompt_tokens + completion_tokens,
                    },
                },
            )
        )
        events.append((None, "[DONE]"))
    return events


def openai_text(chunks: list[str], **kwargs: Any) -> Stream:
    return Stream(openai_events(chunks, **kwargs))


def openai_fim(chunks: list[str], prompt_tokens: int = 10, completion_tokens: int = 3) -> Stream:
    """Legacy `completions` chunks (fill-in-the-middle), usage, `[DONE]`."""

    def chunk(text: str) -> dict[str, Any]:
        return {
            "id": "cmpl-fake",
            "object": "text_completion",
            "created": 1700000000,
            "model": "coder-test",
            "choices": [{"index": 0, "text": text, "finish_reason": None, "logprobs": None}],
        }

    events: list[tuple[str | None, Any]] = [(None, chunk(text)) for text in chunks]
    events.append(
        (
            None,
            {
                "id": "cmpl-fake",
                "object": "text_completion",
                "created": 1700000000,
                "model": "coder-test",
                "choices": [],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        )
    )
    events.append((None, "[DONE]"))
    return Stream(events)
