"""Tokens and cost of every model request, and the budgets checked before one is sent.

Each attempt (a failed one before a failover included) is one `ai_usage` row billed from
the provider's own usage fields; where a stream ended before the provider reported them
(cancelled, broken), the tokens actually streamed are estimated. Spend per UTC day is
kept in memory per user and per workspace (loaded from the table on first use), so the
budget check costs no query on the way to the first token. The gateway also stops a
stream whose own cost crosses what `headroom` left (a long answer on a nearly spent
budget).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.ai import metrics
from server.config import Settings
from server.errors import NexusError
from server.storage.database import utcnow
from server.storage.tables import ai_usage

log = logging.getLogger("nexus.ai")

# USD per million tokens (input, output); a model matches its longest listed prefix.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "claude-opus-4": (15.0, 75.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-haiku-4": (1.0, 5.0),
    "claude-3-5-haiku": (0.8, 4.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.4, 1.6),
    "gpt-4.1-nano": (0.1, 0.4),
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "o3": (2.0, 8.0),
    "o4-mini": (1.1, 4.4),
}


class BudgetExceeded(NexusError):
    status = 402
    code = "budget_exceeded"


@dataclass(frozen=True, slots=True)
class Headroom:
    """What may still be spent today under the tightest of the budgets that apply."""

    usd: float
    scope: str  # user or workspace
    limit: float

    def stopped_message(self) -> str:
        return (
            f"the answer was stopped: the {self.scope}'s AI budget for today "
            f"(${self.limit:.4f}) is spent; it resets at 00:00 UTC"
        )


class PriceTable:
    def __init__(self, overrides: dict[str, tuple[float, float]]) -> None:
        self.prices = {**DEFAULT_PRICES, **overrides}

    def price(self, model: str) -> tuple[float, float]:
        best = ""
        for name in self.prices:
            if model.startswith(name) and len(name) > len(best):
                best = name
        return self.prices[best] if best else (0.0, 0.0)

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        input_price, output_price = self.price(model)
        return (input_tokens * input_price + output_tokens * output_price) / 1_000_000


@dataclass(frozen=True, slots=True)
class Billed:
    model: str  # provider:model
    input_tokens: int
    output_tokens: int
    cost_usd: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": round(self.cost_usd, 8),
        }


class UsageSummary(BaseModel):
    since: datetime
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    today_cost_usd: float
    daily_budget_usd: float | None
    by_model: list[dict[str, Any]]


def _day(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


class Ledger:
    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.prices = PriceTable(settings.ai_prices)
        self._spent: dict[tuple[str, str, datetime], float] = {}  # (scope, id, day) → USD
        self._writes: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    async def _spent_today(self, scope: str, key: str) -> float:
        day = _day(utcnow())
        cached = self._spent.get((scope, key, day))
        if cached is not None:
            return cached
        column = ai_usage.c.user_id if scope == "user" else ai_usage.c.workspace_id
        value: Any = int(key) if scope == "user" else key
        query = select(func.coalesce(func.sum(ai_usage.c.cost_usd), 0.0)).where(
            column == value, ai_usage.c.at >= day
        )
        async with self.engine.connect() as conn:
            total = float((await conn.execute(query)).scalar_one())
        # Rows written while we read are already added to the cache by `bill`.
        return self._spent.setdefault((scope, key, day), total)

    def _budgets(self, user_id: int, workspace_id: str) -> list[tuple[str, str, float]]:
        """The daily budgets that apply: (scope, key, USD), the user's then the workspace's."""
        limits = (
            ("user", str(user_id), self.settings.ai_user_daily_budget_usd),
            ("workspace", workspace_id, self.settings.ai_workspace_daily_budget_usd),
        )
        return [(scope, key, limit) for scope, key, limit in limits if limit is not None]

    async def check_budget(
        self, user_id: int, workspace_id: str, model: str, prompt_tokens: int
    ) -> None:
        """Refuse before sending when today's spend plus this prompt's estimated cost
        passes the user's or the workspace's daily budget."""
        estimate = self.prices.cost(model, prompt_tokens, 0)
        for scope, key, limit in self._budgets(user_id, workspace_id):
            spent = await self._spent_today(scope, key)
            if spent + estimate > limit:
                metrics.AI_BUDGET_REFUSALS.labels(scope).inc()
                raise BudgetExceeded(
                    f"the {scope}'s AI budget for today is spent "
                    f"(${spent:.4f} of ${limit:.4f}); it resets at 00:00 UTC"
                )

    async def headroom(self, user_id: int, workspace_id: str) -> Headroom | None:
        """The spend left today before a budget is crossed (None: no budget set), for
        stopping a stream that crosses it mid-way."""
        tightest: Headroom | None = None
        for scope, key, limit in self._budgets(user_id, workspace_id):
            left = limit - await self._spent_today(scope, key)
            if tightest is None or left < tightest.usd:
                tightest = Headroom(left, scope, limit)
        return tightest

    def bill(
        self,
        *,
        user_id: int | None,
        workspace_id: str | None,
        intent: str,
        tier: str,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        outcome: str,
    ) -> Billed:
        """Record one attempt's usage: counted at once, written in the background (so
        that a cancelled task can still bill what it used)."""
        cost = self.prices.cost(model, input_tokens, output_tokens)
        label = f"{provider}:{model}"
        metrics.AI_TOKENS.labels(label, "input").inc(input_tokens)
        metrics.AI_TOKENS.labels(label, "output").inc(output_tokens)
        metrics.AI_COST.labels(label).inc(cost)
        at = utcnow()
        day = _day(at)
        for scope, key in (("user", str(user_id)), ("workspace", workspace_id)):
            if key is not None and (scope, key, day) in self._spent:
                self._spent[(scope, key, day)] += cost
        row = {
            "at": at,
            "user_id": user_id,
            "workspace_id": workspace_id,
            "intent": intent,
            "tier": tier,
            "model": label,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cost_usd": cost,
            "outcome": outcome,
        }
        task = asyncio.create_task(self._write(row))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        return Billed(label, input_tokens, output_tokens, cost)

    async def _write(self, row: dict[str, Any]) -> None:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(ai_usage.insert().values(**row))
        except Exception:
            log.exception("could not record AI usage")

    async def settle(self) -> None:
        """Wait for usage rows still being written (before reading the table)."""
        if self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    async def summary(
        self, *, user_id: int | None = None, workspace_id: str | None = None, days: int = 30
    ) -> UsageSummary:
        await self.settle()
        since = _day(utcnow()) - timedelta(days=days - 1)
        where = [ai_usage.c.at >= since]
        if user_id is not None:
            where.append(ai_usage.c.user_id == user_id)
        if workspace_id is not None:
            where.append(ai_usage.c.workspace_id == workspace_id)
        query = (
            select(
                ai_usage.c.model,
                func.count(),
                func.sum(ai_usage.c.input_tokens),
                func.sum(ai_usage.c.output_tokens),
                func.sum(ai_usage.c.cost_usd),
            )
            .where(*where)
            .group_by(ai_usage.c.model)
            .order_by(ai_usage.c.model)
        )
        today = select(func.coalesce(func.sum(ai_usage.c.cost_usd), 0.0)).where(
            *where[1:], ai_usage.c.at >= _day(utcnow())
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
            today_cost = float((await conn.execute(today)).scalar_one())
        by_model = [
            {
                "model": row[0],
                "requests": int(row[1]),
                "input_tokens": int(row[2] or 0),
                "output_tokens": int(row[3] or 0),
                "cost_usd": round(float(row[4] or 0.0), 8),
            }
            for row in rows
        ]
        budget = (
            self.settings.ai_user_daily_budget_usd
            if user_id is not None
            else self.settings.ai_workspace_daily_budget_usd
        )
        return UsageSummary(
            since=since,
            requests=sum(m["requests"] for m in by_model),
            input_tokens=sum(m["input_tokens"] for m in by_model),
            output_tokens=sum(m["output_tokens"] for m in by_model),
            cost_usd=round(sum(m["cost_usd"] for m in by_model), 8),
            today_cost_usd=round(today_cost, 8),
            daily_budget_usd=budget,
            by_model=by_model,
        )
