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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.ai import metrics
from server.ai.accounting import Billed, BudgetExceeded
from server.ai.context import EditorContext, build_context
from server.ai.gateway import Caller, Failover, Finished, Gateway
from server.ai.learning import Learning, Suggestion
from server.ai.messages import (
    ChatRequest,
    TextDelta,
    ToolCall,
    ToolSpec,
    Turn,
    estimate_tokens,
)
from server.ai.preferences import Preferences
from server.ai.proposals import Proposals
from server.ai.redaction import Redactor
from server.ai.router import Router
from server.ai.threads import ThreadStore
from server.ai.tools import ToolRunner, tool_specs
from server.errors import NexusError, NotFound

if TYPE_CHECKING:
    from server.auth import Principal
    from server.models import Workspace
    from server.services import Services

log = logging.getLogger("nexus.ai")

Emit = Callable[[str, dict[str, Any]], Awaitable[None]]
Broadcast = Callable[[str, str, dict[str, Any]], Awaitable[None]]

MAX_TOOL_ROUNDS = 6
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
class TurnResult:
    thread: str
    id: str
    text: str = ""
    model: str | None = None
    usage: dict[str, Any] = field(
        default_factory=lambda: {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
    )
    proposals: list[str] = field(default_factory=list)
    cancelled: bool = False
    error: dict[str, str] | None = None

    def add(self, billed: Billed) -> None:
        self.usage["input_tokens"] += billed.input_tokens
        self.usage["output_tokens"] += billed.output_tokens
        self.usage["cost_usd"] = round(self.usage["cost_usd"] + billed.cost_usd, 8)


@dataclass
class _Running:
    workspace_id: str
    task: asyncio.Task[TurnResult]


class ChatService:
    def __init__(
        self,
        gateway: Gateway,
        router: Router,
        threads: ThreadStore,
        proposals: Proposals,
        learning: Learning,
        preferences: Preferences,
        broadcast: Broadcast,
    ) -> None:
        self.gateway = gateway
        self.router = router
        self.threads = threads
        self.proposals = proposals
        self.learning = learning
        self.preferences = preferences
        self.broadcast = broadcast
        self.running: dict[str, _Running] = {}  # answer id → its task
        # Built on first use (the registry is complete by then); schemas cost milliseconds.
        self._tools: tuple[list[ToolSpec], dict[str, str]] | None = None

    async def start(
        self,
        services: Services,
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
            self._answer(
                services, principal, workspace, text, editor, intent, result, listener, thread
            ),
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
        services: Services,
        principal: Principal,
        workspace: Workspace,
        text: str,
        editor: EditorContext | None,
        intent: str,
        result: TurnResult,
        listener: Emit | None,
        known_thread: str | None,
    ) -> TurnResult:
        ref = {"workspace": workspace.id, "thread": result.thread}

        async def emit(event: str, payload: dict[str, Any]) -> None:
            payload = {**ref, **payload}
            await self.broadcast(workspace.id, event, payload)
            if listener is not None:
                await listener(event, payload)

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
        redactor = Redactor(enabled=await self.preferences.redact(workspace.id))
        try:
            if not self.router.configured:
                result.text = self.router.not_configured_message()
                result.error = {"code": "no_provider", "message": result.text}
                await emit("chat:delta", {"id": result.id, "text": result.text})
            else:
                await self._converse(
                    services,
                    principal,
                    workspace,
                    text,
                    editor,
                    intent,
                    known_thread,
                    redactor,
                    result,
                    emit,
                )
        except asyncio.CancelledError:
            result.cancelled = True
        except NexusError as exc:
            result.error = {"code": exc.code, "message": exc.message}
            prefix = "\n\n" if result.text else ""
            result.text += f"{prefix}⚠ {exc.message}"
            await emit("chat:delta", {"id": result.id, "text": f"{prefix}⚠ {exc.message}"})
        except Exception:
            log.exception("chat answer failed")
            result.error = {"code": "internal", "message": "the answer failed; see the log"}
        finally:
            await self._finish(services, principal, workspace, redactor, result, saving, emit)
        return result

    async def _converse(
        self,
        services: Services,
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
        context = await build_context(services, workspace, editor, redactor)
        system = SYSTEM_PROMPT + (f"\n\nEditor context:\n{context}" if context else "")
        turns: list[Turn] = []
        if known_thread:
            for message in (await self.threads.history(workspace.id, known_thread))[
                -HISTORY_MESSAGES:
            ]:
                turns.append(Turn(message.role, redactor.text(message.content)))
        turns.append(Turn("user", redactor.text(INTENT_PROMPTS.get(intent, "") + text)))
        if self._tools is None:
            self._tools = tool_specs(services)
        specs, names = self._tools
        runner = ToolRunner(services, principal, workspace, self.proposals, redactor, names=names)
        caller = Caller(principal.user.id, workspace.id, intent)
        max_tokens = services.settings.ai_max_output_tokens
        tier, latency = self.router.tier_for(intent).value, 0.0
        for _round in range(MAX_TOOL_ROUNDS):
            request = ChatRequest(system, turns, specs, max_tokens)
            prompt_tokens = estimate_tokens(system) + sum(
                estimate_tokens(t.text) + sum(estimate_tokens(r.content) for r in t.tool_results)
                for t in turns
            )
            answer: list[str] = []
            calls: list[ToolCall] = []
            stopped: str | None = None
            async for event in self.gateway.stream(caller, request, prompt_tokens=prompt_tokens):
                if isinstance(event, TextDelta):
                    answer.append(event.text)
                    await emit("chat:delta", {"id": result.id, "text": event.text})
                elif isinstance(event, ToolCall):
                    calls.append(event)
                elif isinstance(event, Failover):
                    answer.clear()
                    calls.clear()
                    await emit(
                        "chat:reset",
                        {
                            "id": result.id,
                            "text": result.text,
                            "failed": event.failed,
                            "next": event.next,
                            "reason": event.reason,
                        },
                    )
                elif isinstance(event, Finished):
                    for billed in event.total_billed:
                        result.add(billed)
                    result.model = event.ref.label
                    runner.model = event.ref.label
                    tier, latency = event.ref.tier.value, event.first_token_ms or 0.0
                    stopped = event.stopped
            result.text += "".join(answer)
            if stopped is not None:  # a budget crossed mid-way: keep what came, say why
                result.error = {"code": BudgetExceeded.code, "message": stopped}
                prefix = "\n\n" if result.text else ""
                result.text += f"{prefix}⚠ {stopped}"
                await emit("chat:delta", {"id": result.id, "text": f"{prefix}⚠ {stopped}"})
                break
            if not calls:
                break
            turns.append(Turn("assistant", "".join(answer), tool_calls=calls))
            outcomes = []
            for call in calls:
                before = len(runner.made)
                outcome = await runner.run(call)
                outcomes.append(outcome)
                made = runner.made[before:]
                for proposal in made:
                    result.proposals.append(proposal.id)
                    self.learning.shown(
                        Suggestion(
                            proposal.id,
                            principal.user.id,
                            workspace.id,
                            intent,
                            tier,
                            result.model or "",
                            latency,
                            result.usage["input_tokens"],
                            result.usage["output_tokens"],
                            result.usage["cost_usd"],
                        )
                    )
                await emit(
                    "chat:tool",
                    {
                        "id": result.id,
                        "name": call.name,
                        "arguments": call.arguments,
                        "ok": not outcome.is_error,
                        "error": outcome.content if outcome.is_error else None,
                        "proposal": made[0].id if made else None,
                    },
                )
            turns.append(Turn("tool", tool_results=outcomes))

    async def _finish(
        self,
        services: Services,
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
                await services.audit.record(
                    "ai:redaction",
                    user=principal.user,
                    source="ai",
                    workspace_id=workspace.id,
                    detail={"found": dict(redactor.found), "answer": result.id},
                )
        except Exception:
            log.exception("could not save the chat answer")
