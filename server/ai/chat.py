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
from dataclasses import KW_ONLY, dataclass, field
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
# (workspace, question) → code from the workspace that may answer it, as prompt text with
# `path:start-end` headers ("" when there is none); the index feature provides one.
Retriever = Callable[["Workspace", str], Awaitable[str]]

HISTORY_MESSAGES = 20

SYSTEM_PROMPT = (
    "You are the assistant of NEXUS, a collaborative IDE. Several people share this chat "
    "and workspace. Answer concisely, in Markdown. To change code, call `edit_file`: it "
    "proposes the edit to the team, who accept or reject it. Use the other tools to read, "
    "list and search files and to look at git before you guess."
)

CITE_PROMPT = (
    "When your answer relies on code shown above, cite where it is as `path:start-end` "
    "(for example `src/app.py:12-30`)."
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


@dataclass(frozen=True)
class _Question:
    """What was asked, by whom and where: all that answering it starts from."""

    principal: Principal
    workspace: Workspace
    text: str
    editor: EditorContext | None
    intent: str
    thread: str | None  # the thread it continues; None for a new one


@dataclass(eq=False)
class ChatService:
    """The shared chat. Reads files for the editor context, runs tools as commands
    through the core (with the asker's role), and audits redactions."""

    gateway: Gateway
    router: Router
    threads: ThreadStore
    proposals: Proposals
    learning: Learning
    preferences: Preferences
    broadcast: Broadcast
    _: KW_ONLY
    files: WorkspaceFiles
    core: ConsciousnessCore
    access: AccessControl
    audit: AuditLog
    settings: Settings
    retrieve: Retriever | None = None
    running: dict[str, _Running] = field(default_factory=dict, init=False)  # by answer id
    # Built on first use and again when the registry changes (an extension's command came
    # or went); schemas cost milliseconds. (registry version, specs, tool name → id)
    _tools: tuple[int, list[ToolSpec], dict[str, str]] | None = field(default=None, init=False)

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
        question = _Question(principal, workspace, text, editor, intent, thread)
        task = asyncio.create_task(
            self._answer(question, result, listener), name=f"chat:{result.id}"
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
        self, question: _Question, result: TurnResult, listener: Emit | None
    ) -> TurnResult:
        workspace_id = question.workspace.id
        emit = self._emitter(workspace_id, result.thread, listener)
        saving = await self._post_question(question, result, emit)
        redactor = Redactor(enabled=await self.preferences.redact(workspace_id))
        try:
            if not self.router.configured:
                result.text = self.router.not_configured_message()
                result.error = {"code": "no_provider", "message": result.text}
                await emit("chat:delta", {"id": result.id, "text": result.text})
            else:
                await self._converse(question, redactor, result, emit)
        except asyncio.CancelledError:
            result.cancelled = True
        except NexusError as exc:
            await warn(result, emit, exc.code, exc.message)
        except Exception:
            log.exception("chat answer failed")
            result.error = {"code": "internal", "message": "the answer failed; see the log"}
        finally:
            await self._finish(question, redactor, result, saving, emit)
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
        self, question: _Question, result: TurnResult, emit: Emit
    ) -> asyncio.Task[None]:
        """Show the question to everyone; it is saved meanwhile (the task returned)."""
        user, text = question.principal.user, question.text
        question_id = uuid.uuid4().hex
        saving = asyncio.create_task(
            self.threads.add(
                question.workspace.id,
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
        self, question: _Question, redactor: Redactor, result: TurnResult, emit: Emit
    ) -> None:
        """Set up the conversation (system prompt with the editor context, the thread so
        far, the question, the tools) and run it."""
        principal, workspace, intent = question.principal, question.workspace, question.intent
        system = await self._system_prompt(workspace, question, redactor)
        turns = await self._history(workspace.id, question.thread, redactor)
        turns.append(Turn("user", redactor.text(INTENT_PROMPTS.get(intent, "") + question.text)))
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
        self, workspace: Workspace, question: _Question, redactor: Redactor
    ) -> str:
        budget = self.settings.ai_context_tokens
        context = await build_context(self.files, budget, workspace, question.editor, redactor)
        prompt = SYSTEM_PROMPT + (f"\n\nEditor context:\n{context}" if context else "")
        code = await self._retrieved(workspace, question.text)
        if code:
            prompt += f"\n\n{redactor.text(code)}\n\n{CITE_PROMPT}"
        return prompt

    async def _retrieved(self, workspace: Workspace, text: str) -> str:
        """Code elsewhere in the workspace that the question may be about; an index that
        is down or still empty costs the answer nothing but this part."""
        if self.retrieve is None or not text.strip():
            return ""
        try:
            return await self.retrieve(workspace, text)
        except NexusError as exc:
            log.info("no code from the index for this question: %s", exc.message)
            return ""

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
        registry = self.core.registry
        if self._tools is None or self._tools[0] != registry.version:
            self._tools = (registry.version, *tool_specs(registry))
        return self._tools[1], self._tools[2]

    async def _finish(
        self,
        question: _Question,
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
                question.workspace.id,
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
                    user=question.principal.user,
                    source="ai",
                    workspace_id=question.workspace.id,
                    detail={"found": dict(redactor.found), "answer": result.id},
                )
        except Exception:
            log.exception("could not save the chat answer")
