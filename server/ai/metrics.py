"""Prometheus metrics of the model gateway (on the server's one registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from server.metrics import REGISTRY

AI_REQUESTS = Counter(
    "nexus_ai_requests_total",
    "Model requests by provider, model, intent and outcome (ok, cancelled, failed, budget).",
    ["provider", "model", "intent", "outcome"],
    registry=REGISTRY,
)
AI_TOKENS = Counter(
    "nexus_ai_tokens_total",
    "Tokens billed, by model and direction (input, output).",
    ["model", "direction"],
    registry=REGISTRY,
)
AI_COST = Counter(
    "nexus_ai_cost_usd_total",
    "Spend in USD from the price table, by model.",
    ["model"],
    registry=REGISTRY,
)
AI_FIRST_TOKEN = Histogram(
    "nexus_ai_first_token_seconds",
    "From sending a request to its first streamed token, by provider.",
    ["provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
AI_FAILOVERS = Counter(
    "nexus_ai_failovers_total",
    "Requests moved to the next model in the chain, by the model that failed.",
    ["model"],
    registry=REGISTRY,
)
AI_BREAKER_OPEN = Gauge(
    "nexus_ai_breaker_open",
    "1 while a provider's circuit breaker is open (the provider is not used).",
    ["provider"],
    registry=REGISTRY,
)
AI_REDACTIONS = Counter(
    "nexus_ai_redactions_total",
    "Secrets redacted from prompts before they left the machine, by kind.",
    ["kind"],
    registry=REGISTRY,
)
AI_BUDGET_REFUSALS = Counter(
    "nexus_ai_budget_refusals_total",
    "Requests refused, or streams stopped mid-way, because a budget was spent, by scope.",
    ["scope"],
    registry=REGISTRY,
)
AI_SUGGESTIONS = Counter(
    "nexus_ai_suggestions_total",
    "Suggestions by intent, tier and outcome (shown, accepted, rejected, ignored).",
    ["intent", "tier", "outcome"],
    registry=REGISTRY,
)
