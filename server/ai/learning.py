"""What became of each suggestion (shown, then accepted, rejected or ignored), and the
routing lesson drawn from it: where a cheaper tier's acceptance for an intent is as good
as the default tier's, use the cheaper one."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.ai import metrics
from server.ai.router import INTENT_TIERS, Router, Tier
from server.storage.database import utcnow
from server.storage.tables import ai_outcomes

log = logging.getLogger("nexus.ai")

MIN_SAMPLES = 20  # decided suggestions per (intent, tier) before they steer routing
MAX_PENDING = 10_000
OUTCOMES = {"shown", "accepted", "rejected", "ignored"}
CHEAPER: dict[Tier, list[Tier]] = {
    Tier.deep: [Tier.fast, Tier.balanced],
    Tier.balanced: [Tier.fast],
    Tier.fast: [],
}


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: str
    user_id: int
    workspace_id: str
    intent: str
    tier: str
    model: str
    latency_ms: float
    input_tokens: int
    output_tokens: int
    cost_usd: float


class Learning:
    def __init__(self, engine: AsyncEngine, router: Router) -> None:
        self.engine = engine
        self.router = router
        # (intent, tier) → [accepted, decided]
        self.tally: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        self._pending: dict[str, tuple[str, str]] = {}  # suggestion id → (intent, tier)
        self._decided: dict[str, None] = {}  # ids decided here lately (insertion-ordered)
        self._writes: set[asyncio.Task[None]] = set()
        self._inserts: dict[str, asyncio.Task[None]] = {}

    async def load(self) -> None:
        query = select(
            ai_outcomes.c.intent, ai_outcomes.c.tier, ai_outcomes.c.outcome, func.count()
        ).group_by(ai_outcomes.c.intent, ai_outcomes.c.tier, ai_outcomes.c.outcome)
        async with self.engine.connect() as conn:
            for intent, tier, outcome, count in (await conn.execute(query)).all():
                if outcome in {"accepted", "rejected", "ignored"}:
                    entry = self.tally[(intent, tier)]
                    entry[1] += count
                    if outcome == "accepted":
                        entry[0] += count
        self._steer()

    async def close(self) -> None:
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    def shown(self, suggestion: Suggestion) -> None:
        self._pending[suggestion.id] = (suggestion.intent, suggestion.tier)
        metrics.AI_SUGGESTIONS.labels(suggestion.intent, suggestion.tier, "shown").inc()
        while len(self._pending) > MAX_PENDING:  # never decided: forget the oldest
            self._pending.pop(next(iter(self._pending)))
        task = self._spawn(self._insert(suggestion))
        self._inserts[suggestion.id] = task
        task.add_done_callback(lambda _t: self._inserts.pop(suggestion.id, None))

    def resolve(self, suggestion_id: str, outcome: str) -> bool:
        """Record what the user did with a shown suggestion; False if not known here.

        One shown on another node or before a restart (a stored proposal accepted now)
        is still recorded from its stored row, in the background."""
        if outcome not in OUTCOMES - {"shown"}:
            return False
        key = self._pending.pop(suggestion_id, None)
        if suggestion_id in self._decided:
            return False
        self._decided[suggestion_id] = None
        while len(self._decided) > MAX_PENDING:
            self._decided.pop(next(iter(self._decided)))
        if key is None:
            self._spawn(self._resolve_stored(suggestion_id, outcome))
            return False
        self._count(key, outcome)
        self._spawn(self._update(suggestion_id, outcome))
        return True

    def _count(self, key: tuple[str, str], outcome: str) -> None:
        intent, tier = key
        metrics.AI_SUGGESTIONS.labels(intent, tier, outcome).inc()
        entry = self.tally[key]
        entry[1] += 1
        if outcome == "accepted":
            entry[0] += 1
        self._steer()

    def acceptance(self, intent: str, tier: str) -> float | None:
        accepted, decided = self.tally.get((intent, tier), (0, 0))
        return accepted / decided if decided else None

    def _steer(self) -> None:
        for intent, default in INTENT_TIERS.items():
            chosen = default
            base = self.tally.get((intent, default.value))
            if base and base[1] >= MIN_SAMPLES:
                base_rate = base[0] / base[1]
                for cheaper in CHEAPER[default]:
                    other = self.tally.get((intent, cheaper.value))
                    if other and other[1] >= MIN_SAMPLES and other[0] / other[1] >= base_rate:
                        chosen = cheaper
                        break
            if chosen is default:
                self.router.tier_override.pop(intent, None)
            else:
                self.router.tier_override[intent] = chosen

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        return task

    async def _insert(self, s: Suggestion) -> None:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    ai_outcomes.insert().values(
                        id=s.id,
                        at=utcnow(),
                        user_id=s.user_id,
                        workspace_id=s.workspace_id,
                        intent=s.intent,
                        tier=s.tier,
                        model=s.model,
                        latency_ms=s.latency_ms,
                        input_tokens=s.input_tokens,
                        output_tokens=s.output_tokens,
                        cost_usd=s.cost_usd,
                        outcome="shown",
                    )
                )
        except Exception:
            log.exception("could not record a suggestion")

    async def _resolve_stored(self, suggestion_id: str, outcome: str) -> None:
        """Decide a suggestion this node did not show: only if its row is still undecided
        (so it counts once, whichever node decides it)."""
        try:
            async with self.engine.begin() as conn:
                row = (
                    await conn.execute(
                        select(ai_outcomes.c.intent, ai_outcomes.c.tier).where(
                            ai_outcomes.c.id == suggestion_id, ai_outcomes.c.outcome == "shown"
                        )
                    )
                ).first()
                if row is None:
                    return
                changed = await conn.execute(
                    ai_outcomes.update()
                    .where(ai_outcomes.c.id == suggestion_id, ai_outcomes.c.outcome == "shown")
                    .values(outcome=outcome)
                )
                if changed.rowcount != 1:
                    return
        except Exception:
            log.exception("could not record a stored suggestion's outcome")
            return
        self._count((row.intent, row.tier), outcome)

    async def _update(self, suggestion_id: str, outcome: str) -> None:
        inserting = self._inserts.pop(suggestion_id, None)
        if inserting is not None:
            await asyncio.wait({inserting})
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    ai_outcomes.update()
                    .where(ai_outcomes.c.id == suggestion_id)
                    .values(outcome=outcome)
                )
        except Exception:
            log.exception("could not record a suggestion's outcome")


def new_id() -> str:
    return uuid.uuid4().hex
