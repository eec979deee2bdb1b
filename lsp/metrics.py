"""Prometheus metrics of the language-server bridges (in the server's one registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from server.metrics import REGISTRY

SERVERS = Gauge(
    "nexus_lsp_servers", "Language server processes running.", ["server"], registry=REGISTRY
)
RESTARTS = Counter(
    "nexus_lsp_restarts_total",
    "Language servers restarted after they crashed.",
    ["server"],
    registry=REGISTRY,
)
FAILED = Counter(
    "nexus_lsp_failed_total",
    "Language servers given up on after too many crashes.",
    ["server"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "nexus_lsp_request_seconds",
    "LSP request latency through the bridge, by method.",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
TIMEOUTS = Counter(
    "nexus_lsp_timeouts_total", "LSP requests that timed out.", ["method"], registry=REGISTRY
)
ERRORS = Counter(
    "nexus_lsp_errors_total", "LSP requests answered with an error.", ["code"], registry=REGISTRY
)
