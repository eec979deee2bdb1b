"""One model request, start to finish: budget check, the fallback chain, streaming,
usage billed per attempt, and metrics. Chat, tools and completion all go through here.

`Gateway.stream(...)` yields the provider's `TextDelta`s and `ToolCall`s, a `Failover`
when it moves to the next model (what was streamed so far is void), and last a
`Finished` with the model and what was billed. Cancelling the task that iterates it
closes the upstream connection at once and bills only what had arrived. A stream whose
cost (as reported, or estimated from what streamed) crosses the day's budget is closed
the same way and ends with a `Finished` whose `stopped` says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field

from server.ai import metrics
from server.ai.accounting import Billed, Headroom, Ledger
from server.ai.messages import (
    ChatRequest,
    FimRequest,
    StreamEvent,
    TextDelta,
    ToolCall,
    UsageReport,
    estimate_tokens,
    tokens_for_chars,
)
from server.ai.providers import Provider, ProviderError
from server.ai.router import ModelRef, NoModel, Router, Tier
from server.errors import Unavailable


class AiUnavailable(Unavailable):
    code = "ai_unavailable"


@dataclass(frozen=True, slots=True)
class Failover:
    failed: str  # provider:model
    reason: str
    next: str


@dataclass(frozen=True, slots=True)
class Finished:
    ref: ModelRef
    billed: Billed
    first_token_ms: float | None
    total_billed: list[Billed] = field(default_factory=list)  # every attempt, this one last
    stopped: str | None = None  # why the answer was cut short (a budget crossed mid-way)


GatewayEvent = TextDelta | ToolCall | Failover | Finished


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: int
    workspace_id: str
    intent: str


@dataclass
class _Attempt:
    """One model's try at a request: what it has streamed and reported so far, and why
    it was cut short, if it was."""

    ref: ModelRef
    price: tuple[float, float]  # USD per million tokens, in and out
    headroom: Headroom | None  # what is left of the day's budgets; None: no limit
    input_tokens: int | None = None
    output_tokens: int | None = None
    streamed_chars: int = 0
    started: float = field(default_factory=time.perf_counter)
    first_token_ms: float | None = None
    stopped: Headroom | None = None

    def take(self, report: UsageReport) -> None:
        if report.input_tokens is not None:
            self.input_tokens = max(self.input_tokens or 0, report.input_tokens)
        if report.output_tokens is not None:
            self.output_tokens = max(self.output_tokens or 0, report.output_tokens)

    def arrived(self, event: TextDelta | ToolCall) -> None:
        """Count content as it arrives; the first of it times the first token."""
        if self.first_token_ms is None:
            self.first_token_ms = (time.perf_counter() - self.started) * 1000
            metrics.AI_FIRST_TOKEN.labels(self.ref.provider).observe(self.first_token_ms / 1000)
        if isinstance(event, TextDelta):
            self.streamed_chars += len(event.text)

    def cost_so_far(self, prompt_tokens: int) -> float:
        """What this attempt has cost up to now, as it would be billed if cut here."""
        input_tokens = self.input_tokens if self.input_tokens is not None else prompt_tokens
        output_tokens = max(self.output_tokens or 0, tokens_for_chars(self.streamed_chars))
        return (input_tokens * self.price[0] + output_tokens * self.price[1]) / 1_000_000

    def crosses_budget(self, event: StreamEvent, prompt_tokens: int) -> bool:
        """Checked as content arrives, and on usage reported before any (the prompt alone
        may cross it); not on the closing report, when the answer is whole and stopping
        would save nothing."""
        return (
            self.headroom is not None
            and (self.first_token_ms is None or not isinstance(event, UsageReport))
            and self.cost_so_far(prompt_tokens) > self.headroom.usd
        )

    def billable(self, prompt_tokens: int, outcome: str) -> tuple[int, int]:
        """The provider's figures; where it never reported them, what we sent (if
        anything streamed back, the prompt reached it) and what we received."""
        reached = self.streamed_chars > 0 or self.input_tokens is not None
        if self.input_tokens is not None:
            input_tokens = self.input_tokens
        else:
            input_tokens = prompt_tokens if reached else 0
        if self.output_tokens is not None and outcome == "ok":
            output_tokens = self.output_tokens
        elif self.streamed_chars:
            estimate = estimate_tokens("x" * self.streamed_chars)
            output_tokens = max(self.output_tokens or 0, estimate)
        else:
            output_tokens = self.output_tokens or 0
        return input_tokens, output_tokens


class Gateway:
    def __init__(self, router: Router, ledger: Ledger, providers: dict[str, Provider]) -> None:
        self.router = router
        self.ledger = ledger
        self.providers = providers

    async def stream(
        self,
        caller: Caller,
        request: ChatRequest | FimRequest,
        *,
        tier: Tier | None = None,
        prompt_tokens: int,
    ) -> AsyncIterator[GatewayEvent]:
        chain = self._chain(caller, request, tier)
        billed: list[Billed] = []
        for position, ref in enumerate(chain):
            # Before the first model, and after each failed one (it was billed): is
            # there budget left?
            await self.ledger.check_budget(
                caller.user_id, caller.workspace_id, ref.model, prompt_tokens
            )
            attempt = await self._begin(caller, ref)
            events = self._attempt(attempt, request, prompt_tokens)
            try:
                # `aclosing`: a consumer that stops early closes the upstream at once.
                async with contextlib.aclosing(events):
                    async for event in events:
                        yield event
            except ProviderError as exc:
                self.router.failed(ref, exc)
                billed.append(self._settle(caller, attempt, prompt_tokens, "failed"))
                yield self._failover(ref, exc, chain[position + 1 :])
                continue
            except (asyncio.CancelledError, GeneratorExit):
                billed.append(self._settle(caller, attempt, prompt_tokens, "cancelled"))
                raise
            yield self._finished(caller, attempt, prompt_tokens, billed)
            return

    def _chain(
        self, caller: Caller, request: ChatRequest | FimRequest, tier: Tier | None
    ) -> list[ModelRef]:
        """The models to try in order (those that fill in the middle first, for FIM)."""
        tier = tier or self.router.tier_for(caller.intent)
        try:
            chain = self.router.candidates(tier)
        except NoModel as exc:
            raise AiUnavailable(str(exc)) from None
        if isinstance(request, FimRequest):
            chain = [ref for ref in chain if self.providers[ref.provider].supports_fim] or chain
        return chain

    async def _begin(self, caller: Caller, ref: ModelRef) -> _Attempt:
        headroom = await self.ledger.headroom(caller.user_id, caller.workspace_id)
        return _Attempt(ref, self.ledger.prices.price(ref.model), headroom)

    async def _attempt(
        self, attempt: _Attempt, request: ChatRequest | FimRequest, prompt_tokens: int
    ) -> AsyncGenerator[TextDelta | ToolCall, None]:
        """One model's answer as it streams: content passed on, usage counted, and cut
        off where its cost crosses the day's headroom (`attempt.stopped`)."""
        provider = self.providers[attempt.ref.provider]
        events: AsyncIterator[StreamEvent] = (
            provider.fill_in_middle(attempt.ref.model, request)
            if isinstance(request, FimRequest)
            else provider.stream(attempt.ref.model, request)
        )
        # `aclosing`: leaving the loop early closes the upstream request at once
        # (providers' streams are async generators).
        async with contextlib.aclosing(events):  # type: ignore[type-var]
            async for event in events:
                if isinstance(event, UsageReport):
                    attempt.take(event)
                else:
                    attempt.arrived(event)
                    yield event  # paid for: shown even if it crosses the budget
                if attempt.crosses_budget(event, prompt_tokens):
                    attempt.stopped = attempt.headroom
                    break

    def _failover(self, ref: ModelRef, exc: ProviderError, following: list[ModelRef]) -> Failover:
        """The move to the next model, or `AiUnavailable` when there is none to move to
        (or the request itself was refused)."""
        if not following or (not exc.retryable and exc.status == 400):
            raise AiUnavailable(exc.message) from None
        metrics.AI_FAILOVERS.labels(ref.label).inc()
        return Failover(ref.label, exc.message, following[0].label)

    def _finished(
        self, caller: Caller, attempt: _Attempt, prompt_tokens: int, billed: list[Billed]
    ) -> Finished:
        self.router.succeeded(attempt.ref)
        outcome = "ok" if attempt.stopped is None else "budget"
        this = self._settle(caller, attempt, prompt_tokens, outcome)
        billed.append(this)
        if attempt.stopped is not None:
            metrics.AI_BUDGET_REFUSALS.labels(attempt.stopped.scope).inc()
        return Finished(
            attempt.ref,
            this,
            attempt.first_token_ms,
            billed,
            attempt.stopped.stopped_message() if attempt.stopped is not None else None,
        )

    def _settle(
        self, caller: Caller, attempt: _Attempt, prompt_tokens: int, outcome: str
    ) -> Billed:
        """Bill an attempt that ended (`outcome`: ok, budget, failed, cancelled) and count it."""
        ref = attempt.ref
        input_tokens, output_tokens = attempt.billable(prompt_tokens, outcome)
        billed = self.ledger.bill(
            user_id=caller.user_id,
            workspace_id=caller.workspace_id,
            intent=caller.intent,
            tier=ref.tier.value,
            provider=ref.provider,
            model=ref.model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            outcome=outcome,
        )
        metrics.AI_REQUESTS.labels(ref.provider, ref.model, caller.intent, outcome).inc()
        return billed
