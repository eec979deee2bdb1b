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
from collections.abc import AsyncIterator
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
    input_tokens: int | None = None
    output_tokens: int | None = None
    streamed_chars: int = 0

    def take(self, report: UsageReport) -> None:
        if report.input_tokens is not None:
            self.input_tokens = max(self.input_tokens or 0, report.input_tokens)
        if report.output_tokens is not None:
            self.output_tokens = max(self.output_tokens or 0, report.output_tokens)

    def cost_so_far(self, price: tuple[float, float], prompt_tokens: int) -> float:
        """What this attempt has cost up to now, as it would be billed if cut here."""
        input_tokens = self.input_tokens if self.input_tokens is not None else prompt_tokens
        output_tokens = max(self.output_tokens or 0, tokens_for_chars(self.streamed_chars))
        return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000


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
        tier = tier or self.router.tier_for(caller.intent)
        try:
            chain = self.router.candidates(tier)
        except NoModel as exc:
            raise AiUnavailable(str(exc)) from None
        if isinstance(request, FimRequest):
            chain = [ref for ref in chain if self.providers[ref.provider].supports_fim] or chain
        await self.ledger.check_budget(
            caller.user_id, caller.workspace_id, chain[0].model, prompt_tokens
        )
        billed: list[Billed] = []
        for position, ref in enumerate(chain):
            if position:  # the failed attempts were billed: is there budget left?
                await self.ledger.check_budget(
                    caller.user_id, caller.workspace_id, ref.model, prompt_tokens
                )
            headroom = await self.ledger.headroom(caller.user_id, caller.workspace_id)
            price = self.ledger.prices.price(ref.model)
            provider = self.providers[ref.provider]
            attempt = _Attempt()
            started = time.perf_counter()
            first_token_ms: float | None = None
            outcome = "failed"
            stopped: Headroom | None = None
            try:
                events: AsyncIterator[StreamEvent] = (
                    provider.fill_in_middle(ref.model, request)
                    if isinstance(request, FimRequest)
                    else provider.stream(ref.model, request)
                )
                # `aclosing`: leaving the loop early closes the upstream request at once
                # (providers' streams are async generators).
                async with contextlib.aclosing(events):  # type: ignore[type-var]
                    async for event in events:
                        if isinstance(event, UsageReport):
                            attempt.take(event)
                        else:
                            if first_token_ms is None:
                                first_token_ms = (time.perf_counter() - started) * 1000
                                metrics.AI_FIRST_TOKEN.labels(ref.provider).observe(
                                    first_token_ms / 1000
                                )
                            if isinstance(event, TextDelta):
                                attempt.streamed_chars += len(event.text)
                            yield event  # paid for: shown even if it crosses the budget
                        # Checked as content arrives, and on usage reported before any
                        # (the prompt alone may cross it); not on the closing report, when
                        # the answer is whole and stopping would save nothing.
                        if (
                            headroom is not None
                            and (first_token_ms is None or not isinstance(event, UsageReport))
                            and attempt.cost_so_far(price, prompt_tokens) > headroom.usd
                        ):
                            stopped = headroom
                            break
                outcome = "ok" if stopped is None else "budget"
            except ProviderError as exc:
                self.router.failed(ref, exc)
                billed.append(self._bill(caller, ref, attempt, prompt_tokens, "failed"))
                metrics.AI_REQUESTS.labels(ref.provider, ref.model, caller.intent, "failed").inc()
                following = chain[position + 1 :]
                if not following or (not exc.retryable and exc.status == 400):
                    raise AiUnavailable(exc.message) from None
                metrics.AI_FAILOVERS.labels(ref.label).inc()
                yield Failover(ref.label, exc.message, following[0].label)
                continue
            except (asyncio.CancelledError, GeneratorExit):
                billed.append(self._bill(caller, ref, attempt, prompt_tokens, "cancelled"))
                metrics.AI_REQUESTS.labels(
                    ref.provider, ref.model, caller.intent, "cancelled"
                ).inc()
                raise
            self.router.succeeded(ref)
            this = self._bill(caller, ref, attempt, prompt_tokens, outcome)
            billed.append(this)
            metrics.AI_REQUESTS.labels(ref.provider, ref.model, caller.intent, outcome).inc()
            if stopped is not None:
                metrics.AI_BUDGET_REFUSALS.labels(stopped.scope).inc()
            yield Finished(
                ref,
                this,
                first_token_ms,
                billed,
                stopped.stopped_message() if stopped is not None else None,
            )
            return

    def _bill(
        self, caller: Caller, ref: ModelRef, attempt: _Attempt, prompt_tokens: int, outcome: str
    ) -> Billed:
        """Bill the provider's figures; where it never reported them, what we sent (if
        anything streamed back, the prompt reached it) and what we received."""
        reached = attempt.streamed_chars > 0 or attempt.input_tokens is not None
        input_tokens = (
            attempt.input_tokens
            if attempt.input_tokens is not None
            else (prompt_tokens if reached else 0)
        )
        output_tokens = (
            attempt.output_tokens
            if attempt.output_tokens is not None and outcome == "ok"
            else max(attempt.output_tokens or 0, estimate_tokens("x" * attempt.streamed_chars))
            if attempt.streamed_chars
            else attempt.output_tokens or 0
        )
        return self.ledger.bill(
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
