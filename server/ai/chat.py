"""The shared workspace chat: a question, the streamed answer every collaborator sees,
tool calls in between, and the thread persisted.

Events (to the workspace's room; a REST caller gets the same as server-sent events):
`chat:message` (the question), `chat:delta` {id, text}, `chat:reset` (a failover: drop
what was streamed for this answer), `chat:tool` (a tool call and its outcome),
`chat:done` {id, text, model, usage, proposals, cancelled, error}; an answer stopped
because the day's budget ran out mid-way keeps its text and has error `budget_exceeded`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.ai import metrics
from server.ai.context import EditorContext, build_context
from server.ai.conversation import MAX_TOOL_ROUNDS, Conversation, Emit, TurnResult, warn
from server.ai.gateway import Caller, Gateway
from server.ai.learning import Learning
from server.ai.messages import ToolSpec, Turn
from server.ai.preferences import Preferences
from server.ai.proposals import Proposals
from server.ai.redaction import Redactor
from server.ai.router import Router
from server.ai.threads import ThreadStore
from server.ai.tools import ToolRunner, tool_specs
from server.errors import NexusError, NotFound

if TYPE_CHECKING:
    from server.auth import AccessControl, Principal
    from server.config import Settings
    from server.core import ConsciousnessCore
    from server.files import WorkspaceFiles
    from server.models import Workspace
    from server.storage import AuditLog

__all__ = ["MAX_TOOL_ROUNDS", "ChatService", "Emit", "TurnResult"]

log = logging.getLogger("nexus.ai")

Broadcast = Callable[[str, str, dict[str, Any]], Awaitable[None]]

HISTORY_MESSAGES = 20

SYSTEM_PROMPT = (
    "You are the assistant of NEXUS, a collaborative IDE. Several people share this chat "
    "and workspace. Answer concisely, in Markdown. To change code, call `edit_file`: it "
    "proposes the edit to the team, who accept or reject it. Use the other tools to read, "
    "list and search files and to look at git before you guess."
)

INTENT_PROMPTS = {
    "explain": "Explain what this code does and why, for a colleague:\n\n",
    "fix": "Find the problem in this code (see the diagnostics) and propose a fix with "
    "`edit_file`:\n\n",
    "generate": "Write the code asked for, and propose it with `edit_file`:\n\n",
}


@dataclass
class _Running:
    workspace_id: str
    task: asyncio.Task[TurnResult]


class ChatService:
    """The shared chat. Reads files for the editor context, runs tools as commands
    through the core (with the asker's role), and audits redactions."""

    def __init__(
        self,
        gateway: Gateway,
        router: Router,
        threads: ThreadStore,
        proposals: Proposals,
        learning: Learning,
        preferences: Preferences,
        broadcast: Broadcast,
        *,
        files: WorkspaceFiles,
        core: ConsciousnessCore,
        access: AccessControl,
        audit: AuditLog,
        settings: Settings,
    ) -> None:
        self.gateway = gateway
        self.router = router
        self.threads = threads
        self.proposals = proposals
        self.learning = learning
        self.preferences = preferences
        self.broadcast = broadcast
        self.files = files
        self.core = core
        self.access = access
        self.audit = audit
        self.settings = settings
        self.running: dict[str, _Running] = {}  # answer id → its task
        # Built on first use (the registry is complete by then); schemas cost milliseconds.
        self._tools: tuple[list[ToolSpec], dict[str, str]] | None = None

    async def start(
        self,
        principal: Principal,
        workspace: Workspace,
        text: str,
        *,
        thread: str | None = None,
        editor: EditorContext | None = None,
        intent: str = "chat",
        listener: Emit | None = None,
    ) -> TurnResult:
        """Start answering in the background; returns the thread and answer ids (the
        answer arrives as events). Cancel with `cancel(answer id)`."""
        if thread is not None and not await self.threads.exists(workspace.id, thread):
            raise NotFound(f"no chat thread {thread!r} in this workspace")
        result = TurnResult(thread=thread or uuid.uuid4().hex, id=uuid.uuid4().hex)
        task = asyncio.create_task(
            self._answer(principal, workspace, text, editor, intent, result, listener, thread),
            name=f"chat:{result.id}",
        )
        self.running[result.id] = _Running(workspace.id, task)
        task.add_done_callback(lambda _t: self.running.pop(result.id, None))
        return result

    async def ask(self, *args: Any, **kwargs: Any) -> TurnResult:
        """Start and wait for the whole answer (commands)."""
        result = await self.start(*args, **kwargs)
        return await self.running[result.id].task

    def cancel(self, workspace_id: str, answer_id: str) -> bool:
        running = self.running.get(answer_id)
        if running is None or running.workspace_id != workspace_id:
            raise NotFound("no answer in progress with this id")
        return running.task.cancel()

    async def close(self) -> None:
        tasks = [r.task for r in self.running.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _answer(
        self,
        principal: Principal,
        workspace: Workspace,
        text: str,
        editor: EditorContext | None,
        intent: str,
        result: TurnResult,
        listener: Emit | None,
        known_thread: str | None,
    ) -> TurnResult:
        emit = self._emitter(workspace.id, result.thread, listener)
        saving = await self._post_question(principal, workspace, text, result, emit)
        redactor = Redactor(enabled=await self.preferences.redact(workspace.id))
        try:
            if not self.router.configured:
                result.text = self.router.not_configured_message()
                result.error = {"code": "no_provider", "message": result.text}
                await emit("chat:delta", {"id": result.id, "text": result.text})
            else:
                await self._converse(
                    principal, workspace, text, editor, intent, known_thread, redactor, result, emit
                )
        except asyncio.CancelledError:
            result.cancelled = True
        except NexusError as exc:
            await warn(result, emit, exc.code, exc.message)
        except Exception:
            log.exception("chat answer failed")
            result.error = {"code": "internal", "message": "the answer failed; see the log"}
        finally:
            await self._finish(principal, workspace, redactor, result, saving, emit)
        return result

    def _emitter(self, workspace_id: str, thread: str, listener: Emit | None) -> Emit:
        """Send an answer's events to the workspace's room (and to `listener`, if any)."""
        ref = {"workspace": workspace_id, "thread": thread}

        async def emit(event: str, payload: dict[str, Any]) -> None:
            payload = {**ref, **payload}
            await self.broadcast(workspace_id, event, payload)
            if listener is not None:
                await listener(event, payload)

        return emit

    async def _post_question(
        self, principal: Principal, workspace: Workspace, text: str, result: TurnResult, emit: Emit
    ) -> asyncio.Task[None]:
        """Show the question to everyone; it is saved meanwhile (the task returned)."""
        user = principal.user
        question_id = uuid.uuid4().hex
        saving = asyncio.create_task(
            self.threads.add(
                workspace.id,
                result.thread,
                question_id,
                role="user",
                content=text,
                username=user.username,
                user_id=user.id,
            )
        )
        await emit(
            "chat:message",
            {"id": question_id, "role": "user", "username": user.username, "text": text},
        )
        return saving

    async def _converse(
        self,
        principal: Principal,
        workspace: Workspace,
        text: str,
        editor: EditorContext | None,
        intent: str,
        known_thread: str | None,
        redactor: Redactor,
        result: TurnResult,
        emit: Emit,
    ) -> None:
        """Set up the conversation (system prompt with the editor context, the thread so
        far, the question, the tools) and run it."""
        system = await self._system_prompt(workspace, editor, redactor)
        turns = await self._history(workspace.id, known_thread, redactor)
        turns.append(Turn("user", redactor.text(INTENT_PROMPTS.get(intent, "") + text)))
        specs, names = self._tool_specs()
        runner = ToolRunner(
            self.core, self.access, principal, workspace, self.proposals, redactor, names=names
        )
        conversation = Conversation(
            self.gateway,
            self.learning,
            principal,
            workspace,
            intent,
            result,
            emit,
            runner,
            Caller(principal.user.id, workspace.id, intent),
            self.router.tier_for(intent).value,
        )
        await conversation.run(system, turns, specs, self.settings.ai_max_output_tokens)

    async def _system_prompt(
        self, workspace: Workspace, editor: EditorContext | None, redactor: Redactor
    ) -> str:
        budget = self.settings.ai_context_tokens
        context = await build_context(self.files, budget, workspace, editor, redactor)
        return SYSTEM_PROMPT + (f"\n\nEditor context:\n{context}" if context else "")

    async def _history(
        self, workspace_id: str, thread: str | None, redactor: Redactor
    ) -> list[Turn]:
        """The thread's last messages, redacted, as the conversation so far."""
        if not thread:
            return []
        messages = await self.threads.history(workspace_id, thread)
        return [
            Turn(message.role, redactor.text(message.content))
            for message in messages[-HISTORY_MESSAGES:]
        ]

    def _tool_specs(self) -> tuple[list[ToolSpec], dict[str, str]]:
        if self._tools is None:
            self._tools = tool_specs(self.core.registry)
        return self._tools

    async def _finish(
        self,
        principal: Principal,
        workspace: Workspace,
        redactor: Redactor,
        result: TurnResult,
        saving: asyncio.Task[None],
        emit: Emit,
    ) -> None:
        for kind, count in redactor.found.items():
            metrics.AI_REDACTIONS.labels(kind).inc(count)
        with contextlib.suppress(Exception):
            await emit(
                "chat:done",
                {
                    "id": result.id,
                    "text": result.text,
                    "model": result.model,
                    "usage": result.usage,
                    "proposals": result.proposals,
                    "cancelled": result.cancelled,
                    "error": result.error,
                    "redactions": redactor.total,
                },
            )
        try:
            await saving
            await self.threads.add(
                workspace.id,
                result.thread,
                result.id,
                role="assistant",
                content=result.text,
                username=None,
                model=result.model,
                usage={**result.usage, "cancelled": result.cancelled},
            )
            if redactor.total:
                await self.audit.record(
                    "ai:redaction",
                    user=principal.user,
                    source="ai",
                    workspace_id=workspace.id,
                    detail={"found": dict(redactor.found), "answer": result.id},
                )
        except Exception:
            log.exception("could not save the chat answer")
