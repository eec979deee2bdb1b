"""Which model answers: a tier per intent (adjusted by what users accepted), a fallback
chain through the other tiers, cooldowns for models that just failed, and a circuit
breaker per provider so a failing one is not hammered."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from server.ai import metrics
from server.ai.providers import Provider, ProviderError
from server.config import Settings


class Tier(StrEnum):
    fast = "fast"
    balanced = "balanced"
    deep = "deep"


# The difficulty of each intent: completion must be quick; a multi-file change needs depth.
INTENT_TIERS: dict[str, Tier] = {
    "completion": Tier.fast,
    "chat": Tier.balanced,
    "explain": Tier.balanced,
    "fix": Tier.balanced,
    "generate": Tier.balanced,
    "edit": Tier.deep,
}

CHAINS: dict[Tier, tuple[Tier, ...]] = {
    Tier.fast: (Tier.fast, Tier.balanced, Tier.deep),
    Tier.balanced: (Tier.balanced, Tier.deep, Tier.fast),
    Tier.deep: (Tier.deep, Tier.balanced, Tier.fast),
}

DEFAULT_MODELS: dict[str, dict[Tier, str]] = {
    "anthropic": {
        Tier.fast: "claude-haiku-4-5",
        Tier.balanced: "claude-sonnet-4-5",
        Tier.deep: "claude-opus-4-1",
    },
    "openai": {Tier.fast: "gpt-4.1-mini", Tier.balanced: "gpt-4.1", Tier.deep: "gpt-4.1"},
}


@dataclass(frozen=True, slots=True)
class ModelRef:
    provider: str
    model: str
    tier: Tier

    @property
    def label(self) -> str:
        return f"{self.provider}:{self.model}"


class NoModel(Exception):
    """Nothing can answer; the message says what to configure or how long to wait."""


@dataclass
class _Breaker:
    failures: int = 0
    open_until: float = 0.0


class Router:
    def __init__(
        self,
        settings: Settings,
        providers: dict[str, Provider],
        clock: Callable[[], float] = time.monotonic,  # a test moves time on by hand
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.providers = providers
        self.tiers: dict[Tier, ModelRef] = {}
        self.problems: list[str] = []  # configured models we cannot use, and why
        configured = {
            Tier.fast: settings.model_fast,
            Tier.balanced: settings.model_balanced,
            Tier.deep: settings.model_deep,
        }
        for tier, spec in configured.items():
            if spec:
                provider, _, model = spec.partition(":")
                if provider in providers:
                    self.tiers[tier] = ModelRef(provider, model, tier)
                else:
                    self.problems.append(
                        f"NEXUS_MODEL_{tier.upper()}={spec} needs a key: set "
                        f"NEXUS_{provider.upper()}_API_KEY"
                        + (" or NEXUS_OPENAI_BASE_URL" if provider == "openai" else "")
                    )
        for tier in Tier:
            if tier in self.tiers or configured[tier]:
                continue
            for name, candidate in providers.items():
                if name == "openai" and getattr(candidate, "local", False):
                    continue  # a local server's model names are not ours to guess
                self.tiers[tier] = ModelRef(name, DEFAULT_MODELS[name][tier], tier)
                break
        self._cooling: dict[str, float] = {}  # model label → monotonic time it may retry
        self._breakers: dict[str, _Breaker] = {}
        self.tier_override: dict[str, Tier] = {}  # intent → tier, set by learning

    @property
    def configured(self) -> bool:
        return bool(self.tiers)

    def tier_for(self, intent: str) -> Tier:
        return self.tier_override.get(intent) or INTENT_TIERS.get(intent, Tier.balanced)

    def chain(self, tier: Tier) -> list[ModelRef]:
        """The models to try, in order, for a request of this tier (none twice)."""
        seen: set[str] = set()
        chain = []
        for step in CHAINS[tier]:
            ref = self.tiers.get(step)
            if ref is not None and ref.label not in seen:
                seen.add(ref.label)
                chain.append(ref)
        return chain

    def candidates(self, tier: Tier) -> list[ModelRef]:
        """The chain without models cooling down or behind an open breaker."""
        chain = self.chain(tier)
        if not chain:
            raise NoModel(self.not_configured_message())
        now = self.clock()
        usable = [
            ref
            for ref in chain
            if self._cooling.get(ref.label, 0.0) <= now
            and self._breaker(ref.provider).open_until <= now
        ]
        if not usable:
            wait = min(
                max(self._cooling.get(r.label, 0.0), self._breaker(r.provider).open_until)
                for r in chain
            )
            raise NoModel(
                f"every model failed recently and is resting; try again in "
                f"{max(1, round(wait - now))} s"
            )
        return usable

    def succeeded(self, ref: ModelRef) -> None:
        breaker = self._breaker(ref.provider)
        breaker.failures = 0
        if breaker.open_until:
            breaker.open_until = 0.0
            metrics.AI_BREAKER_OPEN.labels(ref.provider).set(0)

    def failed(self, ref: ModelRef, error: ProviderError) -> None:
        """Cool the model down (as long as the provider asked, if it did) and count the
        failure against its provider's breaker."""
        if not error.retryable:
            return
        now = self.clock()
        cooldown = error.retry_after if error.retry_after is not None else None
        self._cooling[ref.label] = now + (
            min(cooldown, 600.0) if cooldown is not None else self.settings.ai_cooldown_seconds
        )
        breaker = self._breaker(ref.provider)
        breaker.failures += 1
        if breaker.failures >= self.settings.ai_breaker_failures:
            breaker.open_until = now + self.settings.ai_breaker_seconds
            breaker.failures = 0
            metrics.AI_BREAKER_OPEN.labels(ref.provider).set(1)

    def breaker_state(self) -> dict[str, str]:
        now = self.clock()
        return {
            name: "open" if self._breaker(name).open_until > now else "closed"
            for name in self.providers
        }

    def _breaker(self, provider: str) -> _Breaker:
        return self._breakers.setdefault(provider, _Breaker())

    def not_configured_message(self) -> str:
        lines = [
            "No AI model is configured, so I cannot answer. To use one, set for example "
            "NEXUS_ANTHROPIC_API_KEY (or ANTHROPIC_API_KEY) for Anthropic, "
            "NEXUS_OPENAI_API_KEY (or OPENAI_API_KEY) for OpenAI, or NEXUS_OPENAI_BASE_URL "
            "with NEXUS_MODEL_BALANCED=openai:MODEL for an OpenAI-compatible server "
            "(Ollama, vLLM, llama.cpp), then restart NEXUS. Everything else in the IDE "
            "works without it."
        ]
        lines.extend(self.problems)
        return "\n".join(lines)
