"""SDK and transport failures turned into `ProviderError`s (shared by both SDKs, whose
exception classes have the same shape)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from server.ai.providers.base import ProviderError

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}


def _retry_after(response: httpx.Response | None) -> float | None:
    if response is None:
        return None
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def translate(exc: BaseException, sdk: Any, provider: str) -> ProviderError:
    """The `ProviderError` for an exception raised by an SDK call or its stream."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, sdk.APIStatusError):
        status = exc.status_code
        # A stream that opened (200) and then carried an `error` event broke mid-way.
        retryable = status in RETRYABLE_STATUS or status == 200
        where = "mid-stream" if status == 200 else f"HTTP {status}"
        return ProviderError(
            f"{provider} {where}: {_message(exc)}",
            retryable=retryable,
            status=status,
            retry_after=_retry_after(exc.response),
        )
    if isinstance(exc, sdk.APITimeoutError):
        return ProviderError(f"{provider} timed out", retryable=True, status=None)
    if isinstance(exc, sdk.APIConnectionError):
        return ProviderError(f"{provider} unreachable: {exc}", retryable=True)
    if isinstance(exc, sdk.APIError):  # OpenAI's mid-stream `{"error": …}` chunk
        return ProviderError(f"{provider} mid-stream: {_message(exc)}", retryable=True)
    if isinstance(exc, httpx.HTTPError):
        return ProviderError(f"{provider} closed the stream: {type(exc).__name__}", retryable=True)
    if isinstance(exc, (json.JSONDecodeError, ValueError, KeyError, TypeError, AttributeError)):
        return ProviderError(f"{provider} sent a malformed stream: {exc}", retryable=True)
    return ProviderError(f"{provider} failed: {type(exc).__name__}: {exc}", retryable=True)


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
    return str(getattr(exc, "message", exc))
