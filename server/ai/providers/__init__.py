"""Model providers behind one streaming interface.

`Provider.stream(model, request)` is an async generator of `TextDelta`, `ToolCall` and
`UsageReport`. Closing it (or cancelling the task iterating it) closes the upstream HTTP
response at once. Failures are `ProviderError`s whose `retryable` says whether another
model may do better (429, 5xx, timeouts, broken streams).
"""

from __future__ import annotations

import os

from server.ai.providers.base import Provider, ProviderError
from server.config import Settings

__all__ = ["Provider", "ProviderError", "build_providers"]


def build_providers(settings: Settings) -> dict[str, Provider]:
    """The providers that have what they need: a key (ours or the SDK's variable), or
    for OpenAI-compatible servers a base URL alone. The SDKs are imported here, when a
    server is configured with a provider, not by whoever imports this package."""
    from server.ai.providers.anthropic_provider import AnthropicProvider
    from server.ai.providers.openai_provider import OpenAIProvider

    providers: dict[str, Provider] = {}
    anthropic_key = (
        settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else None
    ) or os.environ.get("ANTHROPIC_API_KEY")
    if anthropic_key:
        providers["anthropic"] = AnthropicProvider(
            anthropic_key, settings.anthropic_base_url, settings.ai_timeout_seconds
        )
    openai_key = (
        settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    ) or os.environ.get("OPENAI_API_KEY")
    if openai_key or settings.openai_base_url:
        providers["openai"] = OpenAIProvider(
            openai_key or "not-needed",
            settings.openai_base_url,
            settings.ai_timeout_seconds,
            local=not openai_key,
        )
    return providers


__all__ = ["Provider", "ProviderError", "build_providers"]
