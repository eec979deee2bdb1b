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
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import StreamingResponse

from server.ai.accounting import UsageSummary
from server.ai.commands import ChatArgs
from server.ai.threads import ChatMessage, ThreadInfo
from server.api._routing import Api, ApiCall
from server.models import Role

api = Api("ai")

BASE = "/api/v1/workspaces/{workspace_id}"


class UsageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(30, ge=1, le=366)


def _sse(event: str, payload: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


@api.post(f"{BASE}/chat", body=ChatArgs)
async def chat(call: ApiCall) -> StreamingResponse:
    """Ask the workspace chat; the answer streams back as server-sent events (editor)."""
    access = await call.services.access.require(call.user, call.params["workspace_id"], Role.editor)
    queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()

    async def listener(event: str, payload: dict[str, Any]) -> None:
        queue.put_nowait((event.removeprefix("chat:"), payload))
        if event == "chat:done":
            queue.put_nowait(None)

    ai = call.services.ai
    body: ChatArgs = call.body
    turn = await ai.chat.start(
        call.services,
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


@api.get(f"{BASE}/chat/threads", response=list[ThreadInfo])
async def threads(call: ApiCall) -> list[ThreadInfo]:
    """The workspace's chat threads, most recent first (viewer)."""
    access = await call.services.access.require(call.user, call.params["workspace_id"], Role.viewer)
    return await call.services.ai.threads.threads(access.workspace.id)


@api.get(f"{BASE}/chat/threads/{{thread_id}}", response=list[ChatMessage])
async def history(call: ApiCall) -> list[ChatMessage]:
    """One thread's messages, oldest first (viewer)."""
    access = await call.services.access.require(call.user, call.params["workspace_id"], Role.viewer)
    return await call.services.ai.threads.history(access.workspace.id, call.params["thread_id"])


@api.get(f"{BASE}/ai/usage", query=UsageQuery, response=UsageSummary)
async def workspace_usage(call: ApiCall) -> UsageSummary:
    """Tokens and cost of the workspace over the last `days` days (viewer)."""
    access = await call.services.access.require(call.user, call.params["workspace_id"], Role.viewer)
    return await call.services.ai.ledger.summary(
        workspace_id=access.workspace.id, days=call.query.days
    )


@api.get("/api/v1/ai/usage", query=UsageQuery, response=UsageSummary)
async def my_usage(call: ApiCall) -> UsageSummary:
    """The caller's tokens and cost over the last `days` days."""
    return await call.services.ai.ledger.summary(user_id=call.user.user.id, days=call.query.days)


@api.get("/api/v1/ai/status")
async def status(call: ApiCall) -> dict[str, Any]:
    """Which models serve each tier, and the providers' breaker states."""
    return call.services.ai.status()
