"""One answer's conversation with the model: rounds of a streamed reply and the tools it
calls, the reply shown to everyone as it comes, the bill added up, and the proposals it
makes shown to learning. `ChatService` sets it up and persists what it produced."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.ai.accounting import Billed, BudgetExceeded
from server.ai.gateway import Caller, Failover, Finished, Gateway
from server.ai.learning import Learning, Suggestion
from server.ai.messages import (
    ChatRequest,
    TextDelta,
    ToolCall,
    ToolResult,
    ToolSpec,
    Turn,
    estimate_tokens,
)
from server.ai.tools import ToolRunner

if TYPE_CHECKING:
    from server.auth import Principal
    from server.models import Workspace

Emit = Callable[[str, dict[str, Any]], Awaitable[None]]

MAX_TOOL_ROUNDS = 6


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


async def warn(result: TurnResult, emit: Emit, code: str, message: str) -> None:
    """End the answer with an error that everyone sees, after what already came."""
    result.error = {"code": code, "message": message}
    prefix = "\n\n" if result.text else ""
    result.text += f"{prefix}⚠ {message}"
    await emit("chat:delta", {"id": result.id, "text": f"{prefix}⚠ {message}"})


def prompt_tokens(request: ChatRequest) -> int:
    return estimate_tokens(request.system) + sum(
        estimate_tokens(t.text) + sum(estimate_tokens(r.content) for r in t.tool_results)
        for t in request.turns
    )


@dataclass
class Conversation:
    """One answer in the making: who asked and where, and what its rounds share."""

    gateway: Gateway
    learning: Learning
    principal: Principal
    workspace: Workspace
    intent: str
    result: TurnResult
    emit: Emit
    runner: ToolRunner
    caller: Caller
    tier: str  # of the model that answered last (learning compares tiers)
    latency: float = 0.0  # its first token, in ms

    async def run(
        self, system: str, turns: list[Turn], specs: list[ToolSpec], max_tokens: int
    ) -> None:
        """Stream the model's reply, run the tools it calls, and go again with their
        outcomes, up to MAX_TOOL_ROUNDS; `turns` grows with each round."""
        result = self.result
        for _round in range(MAX_TOOL_ROUNDS):
            request = ChatRequest(system, turns, specs, max_tokens)
            answer, calls, stopped = await self._reply(request)
            result.text += answer
            if stopped is not None:  # a budget crossed mid-way: keep what came, say why
                await warn(result, self.emit, BudgetExceeded.code, stopped)
                break
            if not calls:
                break
            turns.append(Turn("assistant", answer, tool_calls=calls))
            outcomes = []
            for call in calls:
                outcomes.append(await self._run_tool(call))
            turns.append(Turn("tool", tool_results=outcomes))

    async def _reply(self, request: ChatRequest) -> tuple[str, list[ToolCall], str | None]:
        """Stream one reply of the model: its text to everyone as it comes (a failover
        starts it over); returns the text, the tool calls, and why it stopped short."""
        answer: list[str] = []
        calls: list[ToolCall] = []
        stopped: str | None = None
        events = self.gateway.stream(self.caller, request, prompt_tokens=prompt_tokens(request))
        async for event in events:
            if isinstance(event, TextDelta):
                answer.append(event.text)
                await self.emit("chat:delta", {"id": self.result.id, "text": event.text})
            elif isinstance(event, ToolCall):
                calls.append(event)
            elif isinstance(event, Failover):
                answer.clear()
                calls.clear()
                await self.emit(
                    "chat:reset",
                    {
                        "id": self.result.id,
                        "text": self.result.text,
                        "failed": event.failed,
                        "next": event.next,
                        "reason": event.reason,
                    },
                )
            elif isinstance(event, Finished):
                stopped = self._finished(event)
        return "".join(answer), calls, stopped

    def _finished(self, event: Finished) -> str | None:
        """Take in a finished reply's bill and model; returns why it was cut short."""
        for billed in event.total_billed:
            self.result.add(billed)
        self.result.model = event.ref.label
        self.runner.model = event.ref.label
        self.tier, self.latency = event.ref.tier.value, event.first_token_ms or 0.0
        return event.stopped

    async def _run_tool(self, call: ToolCall) -> ToolResult:
        """Run one tool call and tell everyone; the proposals it made are listed in the
        answer and shown to learning."""
        before = len(self.runner.made)
        outcome = await self.runner.run(call)
        made = self.runner.made[before:]
        for proposal in made:
            self.result.proposals.append(proposal.id)
            self.learning.shown(self._suggestion(proposal.id))
        await self.emit(
            "chat:tool",
            {
                "id": self.result.id,
                "name": call.name,
                "arguments": call.arguments,
                "ok": not outcome.is_error,
                "error": outcome.content if outcome.is_error else None,
                "proposal": made[0].id if made else None,
            },
        )
        return outcome

    def _suggestion(self, proposal_id: str) -> Suggestion:
        """A proposal as learning sees it: what it cost and which model made it."""
        usage = self.result.usage
        return Suggestion(
            proposal_id,
            self.principal.user.id,
            self.workspace.id,
            self.intent,
            self.tier,
            self.result.model or "",
            self.latency,
            usage["input_tokens"],
            usage["output_tokens"],
            usage["cost_usd"],
        )
