"""The AI over the hub's Socket.IO connection, for the web app.

    client → server  chat:send {workspace, text, thread?, context?}   ack {thread, id}
    client → server  chat:cancel {workspace, id}                     ack {cancelled}
    server → room    chat:message, chat:delta, chat:reset, chat:tool, chat:done
    client → server  completion:request {workspace, path, prefix, suffix}
                         ack {id, text, model, cached, reused} or {cancelled: true}
    client → server  completion:cancel {workspace, path}
    client → server  completion:feedback {workspace, id, outcome: accepted|rejected|ignored}
    server → room    ai:proposal, ai:proposalResolved

Proposals are accepted and rejected with the `ai.accept` / `ai.reject` commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from server.ai.context import EditorContext
from server.errors import Forbidden
from server.hub.events import DocumentRef, WorkspaceRef
from server.models import Role

if TYPE_CHECKING:
    from server.ai.chat import ChatService
    from server.ai.completion import Completions
    from server.ai.preferences import Preferences
    from server.auth import AccessControl, WorkspaceAccess
    from server.hub import Hub, SocketSession

MAX_TEXT = 100_000


class ChatSend(WorkspaceRef):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    thread: str | None = Field(None, min_length=1, max_length=32)
    context: EditorContext | None = None


class AnswerRef(WorkspaceRef):  # a chat answer or a completion, by its id
    id: str = Field(min_length=1, max_length=64)


class CompletionRequest(DocumentRef):
    prefix: str = Field(max_length=1_000_000)
    suffix: str = Field("", max_length=1_000_000)


class CompletionFeedback(AnswerRef):
    outcome: Literal["accepted", "rejected", "ignored"]


class SocketAi:
    """`chat:*` and `completion:*` events. The chat's answers reach the room through the
    broadcast `AiService` was given (the hub's `emit_room`), not through this class."""

    def __init__(
        self,
        hub: Hub,
        chat: ChatService,
        completions: Completions,
        preferences: Preferences,
        access: AccessControl,
    ) -> None:
        self.chat = chat
        self.completions = completions
        self.preferences = preferences
        self.access = access
        hub.on("chat:send", ChatSend)(self.send)
        hub.on("chat:cancel", AnswerRef)(self.cancel)
        hub.on("completion:request", CompletionRequest)(self.complete)
        hub.on("completion:cancel", DocumentRef)(self.cancel_completion)
        hub.on("completion:feedback", CompletionFeedback)(self.feedback)
        hub.on_disconnect(self.disconnected)

    async def _editor(self, session: SocketSession, workspace_id: str) -> WorkspaceAccess:
        if workspace_id not in session.joined:
            raise Forbidden("join the workspace first")
        return await self.access.require(session.principal, workspace_id, Role.editor)

    async def send(self, sid: str, session: SocketSession, payload: ChatSend) -> dict[str, str]:
        access = await self._editor(session, payload.workspace)
        result = await self.chat.start(
            session.principal,
            access.workspace,
            payload.text,
            thread=payload.thread,
            editor=payload.context,
        )
        return {"thread": result.thread, "id": result.id}

    async def cancel(self, sid: str, session: SocketSession, payload: AnswerRef) -> dict[str, Any]:
        await self._editor(session, payload.workspace)
        return {"cancelled": self.chat.cancel(payload.workspace, payload.id)}

    async def complete(
        self, sid: str, session: SocketSession, payload: CompletionRequest
    ) -> dict[str, Any]:
        access = await self._editor(session, payload.workspace)
        return await self.completions.request(
            (sid, access.workspace.id, payload.path),
            session.principal.user.id,
            payload.prefix,
            payload.suffix,
            redact=await self.preferences.redact(access.workspace.id),
        )

    async def cancel_completion(
        self, sid: str, session: SocketSession, payload: DocumentRef
    ) -> dict[str, bool]:
        return {"cancelled": self.completions.cancel((sid, payload.workspace, payload.path))}

    async def feedback(
        self, sid: str, session: SocketSession, payload: CompletionFeedback
    ) -> dict[str, bool]:
        await self._editor(session, payload.workspace)
        return {"recorded": self.completions.feedback(payload.id, payload.outcome)}

    async def disconnected(self, sid: str) -> None:
        self.completions.cancel_connection(sid)
