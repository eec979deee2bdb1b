"""Prometheus metrics of extensions and webhooks (in the server's one registry)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from server.metrics import REGISTRY

QUEUED = Counter(
    "nexus_webhook_deliveries_total",
    "Webhook deliveries written to the outbox (one per event and extension).",
    registry=REGISTRY,
)
ATTEMPTS = Counter(
    "nexus_webhook_attempts_total",
    "Webhook attempts by outcome: ok, retry (failed, tried again later), failed (given up), "
    "gone (410: the extension was disabled).",
    ["outcome"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "nexus_webhook_attempt_seconds",
    "How long a receiver took to answer one attempt.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
LOST = Counter(
    "nexus_webhook_deliveries_lost_total",
    "Deliveries that could not be written to the outbox (the database refused them 3 times).",
    registry=REGISTRY,
)
COMMANDS = Counter(
    "nexus_extension_commands_total",
    "Contributed commands run on their extension, by outcome (ok, error).",
    ["outcome"],
    registry=REGISTRY,
)
