"""The AI over REST: chat streamed as server-sent events, threads, usage, status.

POST /api/v1/workspaces/{id}/chat {text, thread?, context?}  → text/event-stream
    events: message, delta {text}, reset, tool, done {text, model, usage, …}
GET  /api/v1/workspaces/{id}/chat/threads                  → [{id, title, …}]
GET  /api/v1/workspaces/{id}/chat/threads/{thread}         → [{id, role, content, …}]
GET  /api/v1/workspaces/{id}/ai/usage?days=30              → usage of the workspace
GET  /api/v1/ai/usage?days=30                              → the caller's usage
GET  /api/v1/ai/status                                     → models, breakers
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import StreamingResponse

from server.ai.accounting import UsageSummary
from server.ai.commands import ChatArgs
from server.ai.service import AiService
from server.ai.threads import ChatMessage, ThreadInfo
from server.api import Caller, InWorkspace, Need, api_router
from server.models import Role

router = api_router("ai")
Ai = Annotated[AiService, Need(AiService)]

BASE = "/api/v1/workspaces/{workspace_id}"

SSE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer as server-sent events: message, delta, reset, tool, done",
        # Before OpenAPI 3.2 (`itemSchema`), an event stream's `schema` describes one event.
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "required": ["event", "data"],
                    "properties": {
                        "event": {"type": "string"},
                        "data": {"type": "string", "contentMediaType": "application/json"},
                    },
                }
            }
        },
    }
}


class UsageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(30, ge=1, le=366)


def _sse(event: str, payload: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


@router.post(f"{BASE}/chat", response_class=StreamingResponse, responses=SSE_RESPONSE)
async def chat(body: ChatArgs, call: InWorkspace, ai: Ai) -> StreamingResponse:
    """Ask the workspace chat; the answer streams back as server-sent events (editor)."""
    access = await call.access(Role.editor)
    queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()

    async def listener(event: str, payload: dict[str, Any]) -> None:
        queue.put_nowait((event.removeprefix("chat:"), payload))
        if event == "chat:done":
            queue.put_nowait(None)

    turn = await ai.chat.start(
        call.user,
        access.workspace,
        body.text,
        thread=body.thread,
        editor=body.context,
        listener=listener,
    )

    async def events() -> AsyncIterator[bytes]:
        try:
            while (item := await queue.get()) is not None:
                yield _sse(*item)
        finally:
            # The client went away (or all is sent): stop the answer, close upstream.
            running = ai.chat.running.get(turn.id)
            if running is not None:
                running.task.cancel()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(f"{BASE}/chat/threads", response_model=list[ThreadInfo])
async def threads(call: InWorkspace, ai: Ai) -> list[ThreadInfo]:
    """The workspace's chat threads, most recent first (viewer)."""
    access = await call.access(Role.viewer)
    return await ai.threads.threads(access.workspace.id)


@router.get(f"{BASE}/chat/threads/{{thread_id}}", response_model=list[ChatMessage])
async def history(thread_id: str, call: InWorkspace, ai: Ai) -> list[ChatMessage]:
    """One thread's messages, oldest first (viewer)."""
    access = await call.access(Role.viewer)
    return await ai.threads.history(access.workspace.id, thread_id)


@router.get(f"{BASE}/ai/usage", response_model=UsageSummary)
async def workspace_usage(
    query: Annotated[UsageQuery, Query()], call: InWorkspace, ai: Ai
) -> UsageSummary:
    """Tokens and cost of the workspace over the last `days` days (viewer)."""
    access = await call.access(Role.viewer)
    return await ai.ledger.summary(workspace_id=access.workspace.id, days=query.days)


@router.get("/api/v1/ai/usage", response_model=UsageSummary)
async def my_usage(query: Annotated[UsageQuery, Query()], user: Caller, ai: Ai) -> UsageSummary:
    """The caller's tokens and cost over the last `days` days."""
    return await ai.ledger.summary(user_id=user.user.id, days=query.days)


@router.get("/api/v1/ai/status")
async def status(user: Caller, ai: Ai) -> dict[str, Any]:
    """Which models serve each tier, and the providers' breaker states."""
    return ai.status()
